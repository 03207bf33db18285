//! Streaming import of CSV and JSONL files (`atalaya import`, the upload page).
//!
//! ```text
//! BufRead ──► detect_format ──► CsvRows / JsonlRows ──► Result<IncomingMention, RowError> per row
//!                                                        └─► ImportReport { accepted, rejected (capped), rejected_total }
//! ```
//!
//! Files are never loaded whole: rows come out of an iterator as they are read,
//! so the caller can store them in batches and show progress (wrap the reader in
//! [`CountingReader`]). Each row is validated on its own, with its line number,
//! so a bad row is reported and the good rows around it are still imported.
//! Field names are those of [`crate::mapping`].

use crate::item::IncomingMention;
use crate::mapping::{Field, RawRow, RowProblem, field_for, row_from_json};
use std::io::{BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Longest JSONL line read; longer lines are rejected without buffering them.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// How many rejected rows the report lists; the rest are only counted.
pub const MAX_REPORTED_REJECTIONS: usize = 1_000;

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct RowError {
    /// 1-based line in the file where the row starts.
    pub line: u64,
    pub problem: RowProblem,
}

impl RowError {
    /// The problem in English (the command line's report, logs).
    pub fn reason(&self) -> String {
        self.problem.to_string()
    }
}

/// The file formats `atalaya import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Csv,
    Jsonl,
}

/// Decides the format from the file name's extension, else from the first bytes
/// (a `{` first means JSONL). Peeks without consuming.
pub fn detect_format<R: BufRead>(
    file_name: Option<&str>,
    reader: &mut R,
) -> std::io::Result<ImportFormat> {
    let extension = file_name
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, extension)| extension.to_ascii_lowercase());
    match extension.as_deref() {
        Some("csv" | "tsv" | "txt") => return Ok(ImportFormat::Csv),
        Some("jsonl" | "ndjson" | "json") => return Ok(ImportFormat::Jsonl),
        _ => {}
    }
    let head = reader.fill_buf()?;
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let first = head.iter().find(|byte| !byte.is_ascii_whitespace());
    Ok(if first == Some(&b'{') {
        ImportFormat::Jsonl
    } else {
        ImportFormat::Csv
    })
}

/// Rows of either format.
pub enum ImportRows<R: BufRead> {
    Csv(CsvRows<R>),
    Jsonl(JsonlRows<R>),
}

impl<R: BufRead> ImportRows<R> {
    pub fn new(reader: R, format: ImportFormat) -> ImportRows<R> {
        match format {
            ImportFormat::Csv => ImportRows::Csv(CsvRows::new(reader)),
            ImportFormat::Jsonl => ImportRows::Jsonl(JsonlRows::new(reader)),
        }
    }
}

impl<R: BufRead> Iterator for ImportRows<R> {
    type Item = Result<IncomingMention, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ImportRows::Csv(rows) => rows.next(),
            ImportRows::Jsonl(rows) => rows.next(),
        }
    }
}

/// CSV rows. The first line is the header; the delimiter (`,`, `;` as written by
/// spreadsheets in Spanish locales, or tab) is detected from it.
pub struct CsvRows<R: BufRead> {
    state: CsvState<R>,
}

enum CsvState<R: BufRead> {
    /// Not started: the header is read on the first `next`.
    Fresh(Option<R>),
    /// Boxed: the csv reader is large and this enum moves with the iterator.
    Reading(Box<CsvReading<R>>),
    Done,
}

struct CsvReading<R> {
    reader: csv::Reader<LineTracker<R>>,
    columns: Vec<Option<Field>>,
    record: csv::ByteRecord,
}

impl<R: BufRead> CsvRows<R> {
    pub fn new(reader: R) -> CsvRows<R> {
        CsvRows {
            state: CsvState::Fresh(Some(reader)),
        }
    }

    fn start(mut source: R) -> Result<CsvReading<R>, RowError> {
        let delimiter = {
            let head = source.fill_buf().map_err(|error| RowError {
                line: 1,
                problem: RowProblem::Unreadable(error.to_string()),
            })?;
            let first_line = head.split(|byte| *byte == b'\n').next().unwrap_or_default();
            let count = |needle: u8| first_line.iter().filter(|byte| **byte == needle).count();
            [b',', b';', b'\t']
                .into_iter()
                .max_by_key(|delimiter| count(*delimiter))
                .unwrap_or(b',')
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(LineTracker::new(source));
        let headers = reader
            .byte_headers()
            .map_err(|error| RowError {
                line: 1,
                problem: RowProblem::UnreadableHeader(error.to_string()),
            })?
            .clone();
        let columns: Vec<Option<Field>> = headers
            .iter()
            .map(|name| field_for(&String::from_utf8_lossy(name)))
            .collect();
        if !columns
            .iter()
            .any(|column| matches!(column, Some(Field::Text | Field::Html)))
        {
            return Err(RowError {
                line: 1,
                problem: RowProblem::NoTextColumn,
            });
        }
        Ok(CsvReading {
            reader,
            columns,
            record: csv::ByteRecord::new(),
        })
    }
}

impl<R: BufRead> Iterator for CsvRows<R> {
    type Item = Result<IncomingMention, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match &mut self.state {
                CsvState::Done => return None,
                CsvState::Fresh(source) => {
                    let source = source.take()?;
                    match CsvRows::start(source) {
                        Ok(reading) => {
                            self.state = CsvState::Reading(Box::new(reading));
                        }
                        Err(error) => {
                            // Without a usable header no row can be read: one error, then stop.
                            self.state = CsvState::Done;
                            return Some(Err(error));
                        }
                    }
                }
                CsvState::Reading(reading) => {
                    let CsvReading {
                        reader,
                        columns,
                        record,
                    } = reading.as_mut();
                    let byte = reader.position().byte();
                    match reader.read_byte_record(record) {
                        Ok(false) => {
                            self.state = CsvState::Done;
                            return None;
                        }
                        Ok(true) => {
                            let byte = record.position().map_or(byte, csv::Position::byte);
                            let line = reader.get_mut().line_of(byte);
                            if record.iter().all(<[u8]>::is_empty) {
                                continue; // blank line
                            }
                            return Some(
                                csv_row(columns, record)
                                    .map_err(|problem| RowError { line, problem }),
                            );
                        }
                        Err(error) => {
                            let byte = error.position().map_or(byte, csv::Position::byte);
                            let line = reader.get_mut().line_of(byte);
                            if matches!(error.kind(), csv::ErrorKind::Io(_)) {
                                self.state = CsvState::Done;
                            }
                            return Some(Err(RowError {
                                line,
                                problem: RowProblem::UnreadableCsv(error.to_string()),
                            }));
                        }
                    }
                }
            }
        }
    }
}

/// Counts lines itself, because the csv crate's positions point at blank lines
/// before a record (and its line numbers skip them), while users look rows up
/// in an editor. It remembers only the line ends the csv reader has buffered
/// but not yet passed, so memory stays bounded.
struct LineTracker<R> {
    inner: R,
    consumed: u64,
    /// Each line terminator as (first byte, last byte): `\r\n` spans two bytes.
    terminators: std::collections::VecDeque<(u64, u64)>,
    previous_was_cr: bool,
    lines_before: u64,
}

impl<R> LineTracker<R> {
    fn new(inner: R) -> LineTracker<R> {
        LineTracker {
            inner,
            consumed: 0,
            terminators: std::collections::VecDeque::new(),
            previous_was_cr: false,
            lines_before: 0,
        }
    }

    /// The 1-based line of a record reported to start at byte `offset`, skipping
    /// blank lines at that position. Offsets must not decrease between calls.
    fn line_of(&mut self, offset: u64) -> u64 {
        let mut offset = offset;
        while let Some(&(first, last)) = self.terminators.front() {
            if last < offset {
                self.lines_before += 1;
            } else if first <= offset {
                // A terminator where the record reportedly starts: csv points at
                // the `\n` of a previous `\r\n`, or at blank lines it skipped.
                self.lines_before += 1;
                offset = last + 1;
            } else {
                break;
            }
            self.terminators.pop_front();
        }
        self.lines_before + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        for (index, byte) in buffer[..read].iter().enumerate() {
            let position = self.consumed + index as u64;
            if *byte == b'\n' {
                let first = if self.previous_was_cr {
                    position - 1
                } else {
                    position
                };
                self.terminators.push_back((first, position));
            }
            self.previous_was_cr = *byte == b'\r';
        }
        self.consumed += read as u64;
        Ok(read)
    }
}

fn csv_row(
    columns: &[Option<Field>],
    record: &csv::ByteRecord,
) -> Result<IncomingMention, RowProblem> {
    let mut row = RawRow::default();
    for (index, value) in record.iter().enumerate() {
        let Some(Some(field)) = columns.get(index) else {
            continue;
        };
        let value = std::str::from_utf8(value).map_err(|error| RowProblem::NotUtf8 {
            column: index + 1,
            byte: error.valid_up_to(),
        })?;
        row.set(*field, value.to_owned());
    }
    row.into_mention()
}

/// JSONL rows: one JSON object per line; blank lines are skipped.
pub struct JsonlRows<R: BufRead> {
    reader: R,
    line: u64,
    buffer: Vec<u8>,
    done: bool,
}

impl<R: BufRead> JsonlRows<R> {
    pub fn new(reader: R) -> JsonlRows<R> {
        JsonlRows {
            reader,
            line: 0,
            buffer: Vec::new(),
            done: false,
        }
    }

    /// Reads one line of at most [`MAX_LINE_BYTES`]; `Ok(false)` at end of file,
    /// `Ok(true)` with an empty buffer for an over-long line (skipped to its end).
    fn read_line(&mut self) -> std::io::Result<Option<bool>> {
        self.buffer.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buffer)?;
        if read == 0 {
            return Ok(None);
        }
        if self.buffer.len() > MAX_LINE_BYTES && self.buffer.last() != Some(&b'\n') {
            // Discard the rest of the over-long line without holding it in memory.
            loop {
                let available = self.reader.fill_buf()?;
                if available.is_empty() {
                    break;
                }
                if let Some(position) = available.iter().position(|byte| *byte == b'\n') {
                    self.reader.consume(position + 1);
                    break;
                }
                let length = available.len();
                self.reader.consume(length);
            }
            return Ok(Some(false));
        }
        Ok(Some(true))
    }
}

impl<R: BufRead> Iterator for JsonlRows<R> {
    type Item = Result<IncomingMention, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.line += 1;
            let line = self.line;
            let within_limit = match self.read_line() {
                Ok(Some(within_limit)) => within_limit,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(error) => {
                    self.done = true;
                    return Some(Err(RowError {
                        line,
                        problem: RowProblem::Unreadable(error.to_string()),
                    }));
                }
            };
            if !within_limit {
                return Some(Err(RowError {
                    line,
                    problem: RowProblem::LineTooLong(MAX_LINE_BYTES),
                }));
            }
            let content = self
                .buffer
                .strip_prefix(b"\xef\xbb\xbf")
                .unwrap_or(&self.buffer);
            if content.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(jsonl_row(content).map_err(|problem| RowError { line, problem }));
        }
        None
    }
}

fn jsonl_row(content: &[u8]) -> Result<IncomingMention, RowProblem> {
    let value: serde_json::Value = serde_json::from_slice(content)
        .map_err(|error| RowProblem::InvalidJson(error.to_string()))?;
    let serde_json::Value::Object(object) = value else {
        return Err(RowProblem::NotAnObject);
    };
    row_from_json(&object)?.into_mention()
}

/// The summary shown after an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub accepted: u64,
    /// The first [`MAX_REPORTED_REJECTIONS`] rejected rows, in file order.
    pub rejected: Vec<RowError>,
    /// All rejected rows, including those not listed.
    pub rejected_total: u64,
}

impl ImportReport {
    /// Counts one row's outcome (the caller stores accepted mentions itself).
    pub fn record<T>(&mut self, outcome: &Result<T, RowError>) {
        match outcome {
            Ok(_) => self.accepted += 1,
            Err(error) => {
                self.rejected_total += 1;
                if self.rejected.len() < MAX_REPORTED_REJECTIONS {
                    self.rejected.push(error.clone());
                }
            }
        }
    }
}

/// A reader that counts the bytes read through it, for progress bars: keep a
/// clone of [`CountingReader::counter`] and compare it with the file size.
pub struct CountingReader<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R> CountingReader<R> {
    pub fn new(inner: R) -> CountingReader<R> {
        CountingReader {
            inner,
            counter: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.counter)
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.counter.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

impl<R: BufRead> BufRead for CountingReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.counter.fetch_add(amount as u64, Ordering::Relaxed);
        self.inner.consume(amount);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Imports `input` and renders each row as `ok:<id>:<text>` or `err:<line>:<reason prefix>`.
    fn check(input: &str, format: ImportFormat, expected: &[&str]) {
        let rendered: Vec<String> = ImportRows::new(input.as_bytes(), format)
            .map(|row| match row {
                Ok(mention) => format!("ok:{}:{}", mention.external_id, mention.text),
                Err(error) => format!("err:{}:{}", error.line, error.reason()),
            })
            .collect();
        assert_eq!(rendered.len(), expected.len(), "rows: {rendered:#?}");
        for (got, want) in rendered.iter().zip(expected) {
            assert!(got.starts_with(want), "got {got:?}, want prefix {want:?}");
        }
    }

    #[test]
    fn csv_mapping_and_rejects() {
        check(
            "ID,Text,Author,Followers,published_at,retweets\n\
             1,Me gusta el nuevo horario,@ana,120,2025-03-01T10:00:00Z,4\n\
             2,,@luis,5,,\n\
             3,\"Texto con, coma\ny salto\",@eva,muchos,,\n\
             4,Precio justo,,,1740823200,\n\
             \n\
             5,Sin fecha válida,,,ayer,\n",
            ImportFormat::Csv,
            &[
                "ok:1:Me gusta el nuevo horario",
                "err:3:no text",
                "err:4:`followers` is not a whole number",
                "ok:4:Precio justo",
                "err:8:`published_at` is neither",
            ],
        );
    }

    #[test]
    fn csv_line_numbers_count_blank_and_crlf_lines() {
        check(
            "id,text\r\n\r\n1,uno\r\n\r\n\r\n2,\r\n3,\"tres\r\nlineas\"\r\n4,\n",
            ImportFormat::Csv,
            &["ok:1:uno", "err:6:", "ok:3:tres lineas", "err:9:"],
        );
    }

    #[test]
    fn csv_semicolons_and_bom() {
        check(
            "\u{feff}external_id;text;lang\nx1;Hola, equipo;es\n",
            ImportFormat::Csv,
            &["ok:x1:Hola, equipo"],
        );
        check(
            "id\tTEXT\nt1\tTabulado\n",
            ImportFormat::Csv,
            &["ok:t1:Tabulado"],
        );
    }

    #[test]
    fn csv_without_text_column_is_one_error() {
        check(
            "id,body\n1,hola\n2,adios\n",
            ImportFormat::Csv,
            &["err:1:the header has no `text`"],
        );
    }

    #[test]
    fn csv_invalid_utf8_rejects_only_that_row() {
        let mut input = b"id,text\n1,bien\n2,mal".to_vec();
        input.extend_from_slice(&[0xff, 0xfe]);
        input.extend_from_slice(b"\n3,otra vez bien\n");
        let rows: Vec<_> = ImportRows::new(&input[..], ImportFormat::Csv).collect();
        assert!(rows[0].is_ok() && rows[2].is_ok());
        assert_eq!(rows[1].as_ref().unwrap_err().line, 3);
    }

    #[test]
    fn jsonl_mapping_and_rejects() {
        check(
            "{\"id\":\"a\",\"text\":\"Buen producto\",\"author\":{\"handle\":\"@ana\"}}\n\
             \n\
             {\"id\":\"b\"}\n\
             not json\n\
             [1,2]\n\
             {\"external_id\":\"c\",\"text\":\"Good support\",\"url\":\"https://shop.example/p?utm_source=x\"}\n",
            ImportFormat::Jsonl,
            &[
                "ok:a:Buen producto",
                "err:3:no text",
                "err:4:invalid JSON",
                "err:5:each line must be a JSON object",
                "ok:c:Good support",
            ],
        );
    }

    #[test]
    fn jsonl_overlong_line_is_skipped() {
        let input = format!(
            "{{\"text\":\"{}\"}}\n{{\"id\":\"next\",\"text\":\"sigue\"}}\n",
            "x".repeat(MAX_LINE_BYTES + 10)
        );
        check(
            &input,
            ImportFormat::Jsonl,
            &["err:1:line longer than", "ok:next:sigue"],
        );
    }

    #[test]
    fn format_detection() {
        fn check_format(name: Option<&str>, content: &str, expected: ImportFormat) {
            assert_eq!(
                detect_format(name, &mut content.as_bytes()).unwrap(),
                expected,
                "{name:?} {content:?}"
            );
        }
        check_format(Some("export.CSV"), "{", ImportFormat::Csv);
        check_format(Some("data.ndjson"), "id,text", ImportFormat::Jsonl);
        check_format(None, "  {\"text\":\"x\"}", ImportFormat::Jsonl);
        check_format(None, "id,text\n", ImportFormat::Csv);
        check_format(Some("noextension"), "\u{feff}{}", ImportFormat::Jsonl);
    }

    #[test]
    fn report_caps_the_list_but_counts_everything() {
        let mut report = ImportReport::default();
        for line in 0..(MAX_REPORTED_REJECTIONS as u64 + 5) {
            report.record::<()>(&Err(RowError {
                line,
                problem: RowProblem::NotAnObject,
            }));
        }
        report.record(&Ok(()));
        assert_eq!(report.accepted, 1);
        assert_eq!(report.rejected.len(), MAX_REPORTED_REJECTIONS);
        assert_eq!(report.rejected_total, MAX_REPORTED_REJECTIONS as u64 + 5);
    }

    #[test]
    fn counting_reader_counts() {
        let mut reader = CountingReader::new(&b"{\"text\":\"a\"}\n{\"text\":\"b\"}\n"[..]);
        let counter = reader.counter();
        let rows = JsonlRows::new(&mut reader).count();
        assert_eq!(rows, 2);
        assert_eq!(counter.load(Ordering::Relaxed), 26);
    }
}
