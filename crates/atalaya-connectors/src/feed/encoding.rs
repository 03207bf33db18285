//! A feed body as UTF-8 text, decoded the way XML says before any parser sees it.
//!
//! ```text
//! bytes ─▶ byte-order mark?  UTF-8 / UTF-16BE / UTF-16LE / UTF-32BE / UTF-32LE
//!       ─▶ no mark: `<?` in 16 or 32 bits (XML 1.0 Appendix F)
//!       ─▶ ASCII-compatible: the HTTP charset for an XML media type (RFC 7303),
//!          else the XML declaration, else the HTTP charset of another type, else UTF-8
//!       ─▶ text without the declaration, C1 controls read as Windows-1252
//! ```
//!
//! The XML reader inside feed-rs then only ever sees UTF-8 without a
//! declaration: it decodes nothing itself (a UTF-16 body with a byte-order
//! mark made it panic), and a feed can no longer be decoded twice.
//!
//! Real feeds lie about their encoding in two common ways, both repaired
//! here: a body declared (or defaulting to) UTF-8 that contains stray
//! Windows-1252 punctuation bytes (smart quotes, dashes: bytes 0x80–0x9F,
//! which are never valid UTF-8 on their own), and text whose Windows-1252
//! punctuation was read as ISO-8859-1 and re-encoded, leaving C1 control
//! characters (U+0080–U+009F) where the quotes were. Any other invalid byte is
//! a [`SourceError::BadEncoding`] naming the encoding and the byte.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

use crate::error::SourceError;

/// Decodes `body` (served with `content_type`, when known) into text for the parser.
pub(crate) fn decode_body(body: &[u8], content_type: Option<&str>) -> Result<String, SourceError> {
    let text = match sniff(body) {
        Sniffed::Utf8(bytes) => lenient_utf8(bytes, 3)?,
        Sniffed::Utf16 { bytes, big_endian } => {
            let (encoding, name) = if big_endian {
                (UTF_16BE, "UTF-16BE")
            } else {
                (UTF_16LE, "UTF-16LE")
            };
            strict(encoding, name, bytes, body.len() - bytes.len())?
        }
        Sniffed::Utf32 { bytes, big_endian } => utf32(bytes, big_endian, body.len() - bytes.len())?,
        Sniffed::AsciiCompatible => {
            let header = content_type.map(HttpCharset::parse);
            let declared = declared_encoding(body);
            let label = match (&header, declared.as_deref()) {
                (
                    Some(HttpCharset {
                        charset: Some(charset),
                        xml: true,
                    }),
                    _,
                ) => Some(charset.as_str()),
                (_, Some(declared)) => Some(declared),
                (
                    Some(HttpCharset {
                        charset: Some(charset),
                        ..
                    }),
                    None,
                ) => Some(charset.as_str()),
                _ => None,
            };
            decode_labelled(body, label)?
        }
    };
    Ok(finish(text))
}

enum Sniffed<'a> {
    Utf8(&'a [u8]),
    Utf16 { bytes: &'a [u8], big_endian: bool },
    Utf32 { bytes: &'a [u8], big_endian: bool },
    AsciiCompatible,
}

/// The byte-order mark, or the shape of the first character (`<`, which is
/// never NUL-padded in an ASCII-compatible encoding).
fn sniff(body: &[u8]) -> Sniffed<'_> {
    match body {
        [0xef, 0xbb, 0xbf, rest @ ..] => Sniffed::Utf8(rest),
        [0x00, 0x00, 0xfe, 0xff, rest @ ..] => Sniffed::Utf32 {
            bytes: rest,
            big_endian: true,
        },
        [0xff, 0xfe, 0x00, 0x00, rest @ ..] => Sniffed::Utf32 {
            bytes: rest,
            big_endian: false,
        },
        [0xfe, 0xff, rest @ ..] => Sniffed::Utf16 {
            bytes: rest,
            big_endian: true,
        },
        [0xff, 0xfe, rest @ ..] => Sniffed::Utf16 {
            bytes: rest,
            big_endian: false,
        },
        [0, 0, 0, first, ..] if *first != 0 => Sniffed::Utf32 {
            bytes: body,
            big_endian: true,
        },
        [first, 0, 0, 0, ..] if *first != 0 => Sniffed::Utf32 {
            bytes: body,
            big_endian: false,
        },
        [0, first, 0, second, ..] if *first != 0 && *second != 0 => Sniffed::Utf16 {
            bytes: body,
            big_endian: true,
        },
        [first, 0, second, 0, ..] if *first != 0 && *second != 0 => Sniffed::Utf16 {
            bytes: body,
            big_endian: false,
        },
        _ => Sniffed::AsciiCompatible,
    }
}

/// What a `Content-Type` header says: its charset, and whether the media type
/// is XML (`text/xml`, `application/xml`, `*/*+xml`), whose charset RFC 7303
/// makes authoritative.
struct HttpCharset {
    charset: Option<String>,
    xml: bool,
}

impl HttpCharset {
    fn parse(header: &str) -> HttpCharset {
        let mut parts = header.split(';');
        let media_type = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let charset = parts.find_map(|parameter| {
            let (name, value) = parameter.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| value.trim().trim_matches(['"', '\'']).to_owned())
                .filter(|value| !value.is_empty())
        });
        let xml = matches!(media_type.as_str(), "text/xml" | "application/xml")
            || media_type.ends_with("+xml");
        HttpCharset { charset, xml }
    }
}

/// The `encoding` of the XML declaration, if the body starts with one.
pub(crate) fn declared_encoding(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(200)];
    let head = String::from_utf8_lossy(head);
    let declaration = head.trim_start_matches('\u{feff}').trim_start();
    let declaration = &declaration[..declaration.strip_prefix("<?xml")?.find("?>")? + 5];
    let after = &declaration[declaration.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after
        .chars()
        .next()
        .filter(|quote| matches!(quote, '"' | '\''))?;
    let value = &after[1..];
    Some(value[..value.find(quote)?].trim().to_owned())
}

fn decode_labelled(body: &[u8], label: Option<&str>) -> Result<String, SourceError> {
    let Some(label) = label else {
        return lenient_utf8(body, 0);
    };
    let lower = label.to_ascii_lowercase();
    // A 16 or 32-bit encoding declared on a body that is plainly not one
    // (its first character is not NUL-padded) is a copied declaration: the
    // body is what it looks like, ASCII-compatible, so UTF-8.
    if lower.starts_with("utf-16")
        || lower.starts_with("utf-32")
        || lower.starts_with("ucs-")
        || lower.starts_with("iso-10646")
    {
        return lenient_utf8(body, 0);
    }
    match Encoding::for_label(label.trim().as_bytes()) {
        Some(encoding) if encoding == UTF_8 => lenient_utf8(body, 0),
        Some(encoding) => strict(encoding, encoding.name(), body, 0),
        // An encoding we do not know: fine if the body is UTF-8 anyway.
        None => std::str::from_utf8(body).map(str::to_owned).map_err(|_| {
            SourceError::UnsupportedEncoding {
                encoding: label.to_owned(),
            }
        }),
    }
}

/// Decodes with `encoding`, refusing malformed input with its byte offset
/// (`skipped` bytes of byte-order mark precede `bytes` in the body).
fn strict(
    encoding: &'static Encoding,
    name: &str,
    bytes: &[u8],
    skipped: usize,
) -> Result<String, SourceError> {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut text, true);
    match result {
        encoding_rs::DecoderResult::InputEmpty => Ok(text),
        encoding_rs::DecoderResult::Malformed(bad, after) => Err(SourceError::BadEncoding {
            encoding: name.to_owned(),
            byte_offset: (skipped + read - usize::from(bad) - usize::from(after)) as u64,
        }),
        encoding_rs::DecoderResult::OutputFull => Err(SourceError::BadEncoding {
            encoding: name.to_owned(),
            byte_offset: (skipped + read) as u64,
        }),
    }
}

/// UTF-8, with each lone byte 0x80–0x9F read as the Windows-1252 character
/// it was meant to be; any other invalid byte is an error.
fn lenient_utf8(bytes: &[u8], skipped: usize) -> Result<String, SourceError> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let mut text = String::with_capacity(bytes.len() + 16);
    let mut rest = bytes;
    let mut offset = skipped;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                text.push_str(valid);
                return Ok(text);
            }
            Err(error) => {
                let valid = error.valid_up_to();
                text.push_str(&String::from_utf8_lossy(&rest[..valid]));
                let byte = rest[valid];
                if error.error_len() != Some(1) || !(0x80..=0x9f).contains(&byte) {
                    return Err(SourceError::BadEncoding {
                        encoding: "UTF-8".to_owned(),
                        byte_offset: (offset + valid) as u64,
                    });
                }
                text.push_str(&WINDOWS_1252.decode_without_bom_handling(&[byte]).0);
                rest = &rest[valid + 1..];
                offset += valid + 1;
            }
        }
    }
}

fn utf32(bytes: &[u8], big_endian: bool, skipped: usize) -> Result<String, SourceError> {
    let name = if big_endian { "UTF-32BE" } else { "UTF-32LE" };
    let mut text = String::with_capacity(bytes.len() / 4);
    let mut chunks = bytes.chunks_exact(4);
    for (index, chunk) in (&mut chunks).enumerate() {
        let word = [chunk[0], chunk[1], chunk[2], chunk[3]];
        let code = if big_endian {
            u32::from_be_bytes(word)
        } else {
            u32::from_le_bytes(word)
        };
        let Some(character) = char::from_u32(code) else {
            return Err(SourceError::BadEncoding {
                encoding: name.to_owned(),
                byte_offset: (skipped + index * 4) as u64,
            });
        };
        text.push(character);
    }
    if !chunks.remainder().is_empty() {
        return Err(SourceError::BadEncoding {
            encoding: name.to_owned(),
            byte_offset: (skipped + bytes.len() - chunks.remainder().len()) as u64,
        });
    }
    Ok(text)
}

/// The decoded text without a leading byte-order mark or XML declaration,
/// with C1 controls read as Windows-1252.
fn finish(text: String) -> String {
    let mut text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    };
    if let Some(start) = text.find(|c: char| !c.is_whitespace())
        && text[start..].starts_with("<?xml")
        && text[start + 5..].starts_with(|c: char| c.is_whitespace() || c == '?')
        && let Some(length) = text[start..].find("?>")
    {
        text.replace_range(start..start + length + 2, "");
    }
    match c1_as_windows_1252(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(repaired) => repaired,
    }
}

fn c1_as_windows_1252(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match u8::try_from(u32::from(c)) {
                Ok(byte @ 0x80..=0x9f) => WINDOWS_1252
                    .decode_without_bom_handling(&[byte])
                    .0
                    .chars()
                    .next()
                    .unwrap_or(c),
                _ => c,
            })
            .collect(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        if bom {
            bytes.extend_from_slice(if big_endian {
                &[0xfe, 0xff]
            } else {
                &[0xff, 0xfe]
            });
        }
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        bytes
    }

    fn utf32_bytes(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        if bom {
            bytes.extend_from_slice(if big_endian {
                &[0, 0, 0xfe, 0xff]
            } else {
                &[0xff, 0xfe, 0, 0]
            });
        }
        for c in text.chars() {
            let code = u32::from(c);
            bytes.extend_from_slice(&if big_endian {
                code.to_be_bytes()
            } else {
                code.to_le_bytes()
            });
        }
        bytes
    }

    #[test]
    fn sixteen_and_thirty_two_bit_encodings_with_and_without_a_mark() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss>Café ☕ 𝄞</rss>";
        for big_endian in [true, false] {
            for bom in [true, false] {
                let decoded = decode_body(&utf16(xml, big_endian, bom), None).unwrap();
                assert_eq!(decoded, "<rss>Café ☕ 𝄞</rss>", "utf-16 {big_endian} {bom}");
                let decoded = decode_body(&utf32_bytes(xml, big_endian, bom), None).unwrap();
                assert_eq!(decoded, "<rss>Café ☕ 𝄞</rss>", "utf-32 {big_endian} {bom}");
            }
        }
    }

    #[test]
    fn the_http_charset_wins_for_xml_types_and_the_declaration_otherwise() {
        let body = b"<?xml version=\"1.0\" encoding=\"iso-8859-2\"?><rss>Caf\xe9 \x93x\x94</rss>";
        let check = |content_type: Option<&str>, expected: &str| {
            assert_eq!(
                decode_body(body, content_type).unwrap(),
                expected,
                "{content_type:?}"
            );
        };
        check(
            Some("text/xml; charset=windows-1252"),
            "<rss>Café “x”</rss>",
        );
        check(
            Some("application/rss+xml; charset=\"Windows-1252\""),
            "<rss>Café “x”</rss>",
        );
        // Not an XML media type: the declaration (ISO-8859-2: é, 0x93/0x94 are controls → 1252).
        check(
            Some("text/html; charset=windows-1252"),
            "<rss>Caf\u{e9} “x”</rss>",
        );
        check(None, "<rss>Caf\u{e9} “x”</rss>");
        // No declaration: the header's charset whatever the type.
        let plain = b"<rss>Caf\xe9</rss>";
        assert_eq!(
            decode_body(plain, Some("text/plain; charset=ISO-8859-1")).unwrap(),
            "<rss>Café</rss>"
        );
    }

    #[test]
    fn smart_quotes_in_declared_utf8_are_not_mojibake() {
        // Raw Windows-1252 bytes inside UTF-8 text…
        let bytes = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>se\xc3\xb1al \x93ok\x94\x97</t>";
        assert_eq!(decode_body(bytes, None).unwrap(), "<t>señal “ok”—</t>");
        // …and the same punctuation once read as ISO-8859-1 (C1 controls).
        let body = "<t>\u{93}ok\u{94}</t>";
        assert_eq!(decode_body(body.as_bytes(), None).unwrap(), "<t>“ok”</t>");
    }

    #[test]
    fn invalid_bytes_and_unknown_encodings_are_specific_errors() {
        let error = decode_body(b"<t>ok\xff\xfe</t>", None).unwrap_err();
        assert_eq!(
            error,
            SourceError::BadEncoding {
                encoding: "UTF-8".to_owned(),
                byte_offset: 5
            }
        );
        let error = decode_body(
            b"<?xml version=\"1.0\" encoding=\"x-klingon\"?><t>\xff</t>",
            None,
        )
        .unwrap_err();
        assert_eq!(error.code(), "bad_encoding");
        assert!(error.to_string().contains("x-klingon"), "{error}");
        let mut odd = utf32_bytes("<t/>", true, true);
        odd.push(0);
        assert_eq!(
            decode_body(&odd, None).unwrap_err(),
            SourceError::BadEncoding {
                encoding: "UTF-32BE".to_owned(),
                byte_offset: 20
            }
        );
    }
}
