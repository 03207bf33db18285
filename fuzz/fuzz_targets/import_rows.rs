//! Fuzzes the CSV and JSONL importers and the webhook payload parser: any bytes
//! yield accepted mentions and rejected rows, never a panic, and every accepted
//! mention satisfies the validation invariants. The integration tests of
//! atalaya-connectors run the same property through proptest on stable.

#![no_main]

use atalaya_connectors::import::{ImportFormat, ImportReport, ImportRows};
use atalaya_connectors::item::{MAX_TEXT_CHARS, canonical_url};
use atalaya_connectors::webhook::parse_payload;
use libfuzzer_sys::fuzz_target;

fn check_mention(mention: &atalaya_connectors::IncomingMention) {
    assert!(!mention.text.is_empty());
    assert!(mention.text.chars().count() <= MAX_TEXT_CHARS);
    assert!(!mention.text.chars().any(char::is_control));
    if let Some(url) = &mention.url {
        assert!(url.starts_with("http://") || url.starts_with("https://"));
        assert!(canonical_url(url).is_some());
    }
}

fuzz_target!(|bytes: &[u8]| {
    for format in [ImportFormat::Csv, ImportFormat::Jsonl] {
        let mut report = ImportReport::default();
        for row in ImportRows::new(bytes, format) {
            if let Ok(mention) = &row {
                check_mention(mention);
            }
            report.record(&row);
        }
        assert!(report.rejected.len() as u64 <= report.rejected_total);
    }
    if let Ok(batch) = parse_payload(bytes) {
        batch.accepted.iter().for_each(check_mention);
    }
});
