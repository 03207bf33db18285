//! Evaluation: confusion matrices and metrics, and the evaluation of labelled TSV streams
//! (`label<TAB>text`) behind `atalaya eval`. The caller hands in a reader; nothing here
//! opens files.

use std::fmt::Write as _;
use std::io::BufRead;
use std::time::Instant;

use crate::analyzer::Analyzer;
use crate::features::{BucketSink, FeatureOptions, language_features};
use crate::language::{Lang, LanguageHints, SHORT_TEXT_MAX_LETTERS};
use crate::normalize::{Token, tokenize};
use crate::sentiment::Polarity;

/// A confusion matrix: `matrix[truth][predicted]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    pub labels: Vec<String>,
    pub matrix: Vec<Vec<u64>>,
}

impl Confusion {
    pub fn new(labels: Vec<String>) -> Confusion {
        let n = labels.len();
        Confusion {
            labels,
            matrix: vec![vec![0; n]; n],
        }
    }

    pub fn add(&mut self, truth: usize, predicted: usize) {
        if let Some(cell) = self
            .matrix
            .get_mut(truth)
            .and_then(|row| row.get_mut(predicted))
        {
            *cell += 1;
        }
    }

    pub fn total(&self) -> u64 {
        self.matrix.iter().flatten().sum()
    }

    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.labels.len()).map(|i| self.matrix[i][i]).sum();
        ratio(correct, self.total())
    }

    fn row_total(&self, class: usize) -> u64 {
        self.matrix[class].iter().sum()
    }

    fn column_total(&self, class: usize) -> u64 {
        self.matrix.iter().map(|row| row[class]).sum()
    }

    pub fn recall(&self, class: usize) -> f64 {
        ratio(self.matrix[class][class], self.row_total(class))
    }

    pub fn precision(&self, class: usize) -> f64 {
        ratio(self.matrix[class][class], self.column_total(class))
    }

    pub fn f1(&self, class: usize) -> f64 {
        let (p, r) = (self.precision(class), self.recall(class));
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    }

    /// Classes that occur in the truth.
    fn present(&self) -> Vec<usize> {
        (0..self.labels.len())
            .filter(|&c| self.row_total(c) > 0)
            .collect()
    }

    /// Mean F1 over the classes present in the truth.
    pub fn macro_f1(&self) -> f64 {
        let present = self.present();
        if present.is_empty() {
            return 0.0;
        }
        present.iter().map(|&c| self.f1(c)).sum::<f64>() / present.len() as f64
    }

    /// Mean recall over the classes present in the truth.
    pub fn macro_recall(&self) -> f64 {
        let present = self.present();
        if present.is_empty() {
            return 0.0;
        }
        present.iter().map(|&c| self.recall(c)).sum::<f64>() / present.len() as f64
    }

    /// The matrix as a table, rows = truth, columns = prediction.
    pub fn render(&self) -> String {
        let width = self
            .labels
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(4)
            .max(7);
        let mut out = format!("{:>width$}", "truth\\pred");
        for label in &self.labels {
            let _ = write!(out, " {label:>width$}");
        }
        out.push('\n');
        for (label, row) in self.labels.iter().zip(&self.matrix) {
            let _ = write!(out, "{label:>width$}");
            for cell in row {
                let _ = write!(out, " {cell:>width$}");
            }
            out.push('\n');
        }
        out
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

/// Which language to assume when evaluating sentiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LangChoice {
    /// Detect each post's language.
    Auto,
    Fixed(Lang),
}

/// The result of `eval sentiment`.
#[derive(Debug, Clone)]
pub struct SentimentReport {
    pub confusion: Confusion,
    pub rejected: Vec<Rejected>,
    pub seconds: f64,
}

impl SentimentReport {
    pub fn n(&self) -> u64 {
        self.confusion.total()
    }

    pub fn posts_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.n() as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// `sentiment n=N accuracy=A macro_f1=F macro_recall=R posts_per_s=P`
    pub fn last_line(&self) -> String {
        format!(
            "sentiment n={} accuracy={:.4} macro_f1={:.4} macro_recall={:.4} posts_per_s={:.0}",
            self.n(),
            self.confusion.accuracy(),
            self.confusion.macro_f1(),
            self.confusion.macro_recall(),
            self.posts_per_second()
        )
    }

    /// The whole report, ending with `last_line()`.
    pub fn render(&self) -> String {
        let c = &self.confusion;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "posts: {}  rejected lines: {}",
            c.total(),
            self.rejected.len()
        );
        let _ = writeln!(out, "accuracy:     {:.4}", c.accuracy());
        let _ = writeln!(out, "macro-F1:     {:.4}", c.macro_f1());
        let _ = writeln!(out, "macro-recall: {:.4}", c.macro_recall());
        for (i, label) in c.labels.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {label:<9} precision={:.4} recall={:.4} f1={:.4}",
                c.precision(i),
                c.recall(i),
                c.f1(i)
            );
        }
        out.push_str(&c.render());
        let _ = writeln!(out, "posts/s: {:.0}", self.posts_per_second());
        out.push_str(&self.last_line());
        out
    }
}

/// The result of `eval language`.
#[derive(Debug, Clone)]
pub struct LanguageReport {
    /// Rows: the languages found in the file (in order of first appearance) then `und`.
    pub confusion: Confusion,
    /// The same, for the short posts only (at most [`SHORT_TEXT_MAX_LETTERS`] letters).
    pub short: Confusion,
    pub rejected: Vec<Rejected>,
    pub seconds: f64,
}

/// How `eval language` decides each post's language.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LanguageEvalOptions {
    /// A workspace's languages, as the pipeline uses them (short posts are
    /// placed among them); empty for plain detection.
    pub workspace: Vec<Lang>,
    /// Cut each post to its first words within this many letters (handles,
    /// links and hashtags dropped), to measure short posts on a set of long ones.
    pub prefix_letters: Option<usize>,
}

impl LanguageReport {
    pub fn n(&self) -> u64 {
        self.confusion.total()
    }

    pub fn posts_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.n() as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// `language n=N accuracy=A posts_per_s=P`
    pub fn last_line(&self) -> String {
        format!(
            "language n={} accuracy={:.4} posts_per_s={:.0}",
            self.n(),
            self.confusion.accuracy(),
            self.posts_per_second()
        )
    }

    /// Accuracy on the posts whose truth is one of `langs`, counting only predictions among
    /// them as right (e.g. es vs en).
    pub fn accuracy_among(&self, langs: &[&str]) -> f64 {
        accuracy_among(&self.confusion, langs)
    }

    /// [`LanguageReport::accuracy_among`] for the short posts.
    pub fn short_accuracy_among(&self, langs: &[&str]) -> f64 {
        accuracy_among(&self.short, langs)
    }
}

fn accuracy_among(confusion: &Confusion, langs: &[&str]) -> f64 {
    let indices: Vec<usize> = confusion
        .labels
        .iter()
        .enumerate()
        .filter(|(_, l)| langs.contains(&l.as_str()))
        .map(|(i, _)| i)
        .collect();
    let total: u64 = indices
        .iter()
        .map(|&i| confusion.matrix[i].iter().sum::<u64>())
        .sum();
    let correct: u64 = indices.iter().map(|&i| confusion.matrix[i][i]).sum();
    ratio(correct, total)
}

impl LanguageReport {
    pub fn render(&self) -> String {
        let c = &self.confusion;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "posts: {}  rejected lines: {}",
            c.total(),
            self.rejected.len()
        );
        for (i, label) in c.labels.iter().enumerate() {
            let rows: u64 = c.matrix[i].iter().sum();
            if rows > 0 {
                let _ = writeln!(out, "  {label:<4} n={rows:<6} accuracy={:.4}", c.recall(i));
            }
        }
        if c.labels.iter().any(|l| l == "es") && c.labels.iter().any(|l| l == "en") {
            let _ = writeln!(
                out,
                "es+en accuracy: {:.4}",
                self.accuracy_among(&["es", "en"])
            );
        }
        let _ = writeln!(
            out,
            "short posts (at most {SHORT_TEXT_MAX_LETTERS} letters): n={} accuracy={:.4} es+en accuracy={:.4}",
            self.short.total(),
            self.short.accuracy(),
            self.short_accuracy_among(&["es", "en"])
        );
        out.push_str(&c.render());
        let _ = writeln!(out, "posts/s: {:.0}", self.posts_per_second());
        out.push_str(&self.last_line());
        out
    }
}

/// (label, text) pairs and the rejected lines.
type Rows = (Vec<(String, String)>, Vec<Rejected>);

/// Reads `label<TAB>text` lines; malformed lines are collected, not fatal.
fn read_rows<R: BufRead>(
    reader: R,
    parse_label: &dyn Fn(&str) -> Option<String>,
) -> std::io::Result<Rows> {
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for (index, line) in reader.split(b'\n').enumerate() {
        let number = index + 1;
        let line = line?;
        let Ok(line) = String::from_utf8(line) else {
            rejected.push(Rejected {
                line: number,
                reason: "not valid UTF-8".into(),
            });
            continue;
        };
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if line.trim().is_empty() {
            continue;
        }
        let Some((label, text)) = line.split_once('\t') else {
            rejected.push(Rejected {
                line: number,
                reason: "no TAB between label and text".into(),
            });
            continue;
        };
        match parse_label(label) {
            Some(label) => rows.push((label, text.to_string())),
            None => rejected.push(Rejected {
                line: number,
                reason: format!("unknown label {label:?}"),
            }),
        }
    }
    Ok((rows, rejected))
}

/// Evaluates sentiment on `label<TAB>text` lines.
pub fn evaluate_sentiment<R: BufRead>(
    reader: R,
    lang: LangChoice,
    analyzer: &Analyzer,
) -> std::io::Result<SentimentReport> {
    let (rows, rejected) = read_rows(reader, &|label| {
        Polarity::parse(label).map(|p| p.as_str().to_string())
    })?;
    let labels: Vec<String> = Polarity::ALL
        .iter()
        .map(|p| p.as_str().to_string())
        .collect();
    let mut confusion = Confusion::new(labels);
    let start = Instant::now();
    for (label, text) in &rows {
        let truth = Polarity::parse(label).map_or(1, Polarity::index);
        let predicted = match lang {
            LangChoice::Auto => analyzer.analyze(text).sentiment.label,
            LangChoice::Fixed(lang) => analyzer.sentiment_model().predict(text, lang).label,
        };
        confusion.add(truth, predicted.index());
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(SentimentReport {
        confusion,
        rejected,
        seconds,
    })
}

/// Evaluates language identification on `lang<TAB>text` lines. Labels are ISO 639-1 codes;
/// codes the detector does not know still count (as errors).
pub fn evaluate_language<R: BufRead>(
    reader: R,
    analyzer: &Analyzer,
) -> std::io::Result<LanguageReport> {
    evaluate_language_with(reader, analyzer, &LanguageEvalOptions::default())
}

/// Letters of a post as the language model counts them.
fn letters(tokens: &[Token]) -> usize {
    language_features(
        tokens,
        FeatureOptions::from_flags(0),
        &mut BucketSink::new(4, None, false),
    )
}

/// The first words of `text` within `budget` letters, without handles, links and hashtags.
fn prefix(text: &str, budget: usize) -> String {
    let mut kept = String::new();
    for word in text.split_whitespace() {
        if word.starts_with('@') || word.starts_with('#') || word.starts_with("http") {
            continue;
        }
        let candidate = if kept.is_empty() {
            word.to_owned()
        } else {
            format!("{kept} {word}")
        };
        if letters(&tokenize(&candidate)) > budget {
            break;
        }
        kept = candidate;
    }
    kept
}

/// [`evaluate_language`] with the pipeline's workspace languages and, optionally, posts cut short.
pub fn evaluate_language_with<R: BufRead>(
    reader: R,
    analyzer: &Analyzer,
    options: &LanguageEvalOptions,
) -> std::io::Result<LanguageReport> {
    let (rows, rejected) = read_rows(reader, &|label| {
        let code = label.trim().to_ascii_lowercase();
        (!code.is_empty()
            && code.len() <= 8
            && code.chars().all(|c| c.is_ascii_alphabetic() || c == '-'))
        .then_some(code)
    })?;
    let mut labels: Vec<String> = Vec::new();
    for (label, _) in &rows {
        if !labels.contains(label) {
            labels.push(label.clone());
        }
    }
    for lang in Lang::KNOWN.iter().chain([&Lang::Unknown]) {
        if !labels.iter().any(|l| l == lang.code()) {
            labels.push(lang.code().to_string());
        }
    }
    let mut confusion = Confusion::new(labels);
    let mut short = Confusion::new(confusion.labels.clone());
    let rows: Vec<(String, String)> = match options.prefix_letters {
        Some(budget) => rows
            .into_iter()
            .map(|(label, text)| (label, prefix(&text, budget)))
            .filter(|(_, text)| !text.is_empty())
            .collect(),
        None => rows,
    };
    let hints = LanguageHints {
        declared: None,
        workspace: &options.workspace,
    };
    let start = Instant::now();
    let mut predictions = Vec::with_capacity(rows.len());
    for (_, text) in &rows {
        let tokens = tokenize(text);
        predictions.push(
            analyzer
                .language_model()
                .identify_tokens(&tokens, hints)
                .lang,
        );
    }
    let seconds = start.elapsed().as_secs_f64();
    for ((label, text), predicted) in rows.iter().zip(predictions) {
        let truth = confusion
            .labels
            .iter()
            .position(|l| l == label)
            .unwrap_or(0);
        let predicted = confusion
            .labels
            .iter()
            .position(|l| l == predicted.code())
            .unwrap_or(0);
        confusion.add(truth, predicted);
        if letters(&tokenize(text)) <= SHORT_TEXT_MAX_LETTERS {
            short.add(truth, predicted);
        }
    }
    Ok(LanguageReport {
        confusion,
        short,
        rejected,
        seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics() {
        let mut c = Confusion::new(vec!["a".into(), "b".into()]);
        for _ in 0..3 {
            c.add(0, 0);
        }
        c.add(0, 1);
        c.add(1, 1);
        c.add(1, 0);
        assert!((c.accuracy() - 4.0 / 6.0).abs() < 1e-9);
        assert!((c.recall(0) - 0.75).abs() < 1e-9);
        assert!((c.precision(0) - 0.75).abs() < 1e-9);
        assert!((c.macro_recall() - 0.625).abs() < 1e-9);
        assert!((c.f1(1) - 0.5).abs() < 1e-9);
        assert!((c.macro_f1() - 0.625).abs() < 1e-9);
    }
}
