//! Hostile bytes: the importers, the feed parser and the webhook parser return
//! errors for anything, and never panic.

use atalaya_connectors::feed::parse_feed;
use atalaya_connectors::import::{ImportFormat, ImportReport, ImportRows};
use atalaya_connectors::webhook::parse_payload;
use proptest::prelude::*;

fn import_everything(bytes: &[u8], format: ImportFormat) -> ImportReport {
    let mut report = ImportReport::default();
    for row in ImportRows::new(bytes, format) {
        if let Ok(mention) = &row {
            assert!(!mention.text.is_empty());
        }
        report.record(&row);
    }
    report
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn importers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        import_everything(&bytes, ImportFormat::Csv);
        import_everything(&bytes, ImportFormat::Jsonl);
    }

    #[test]
    fn csv_like_text_never_panics(text in "(id|text|url|author|followers|published_at|[a-z\",;\\n\\r{}:]){0,80}") {
        import_everything(text.as_bytes(), ImportFormat::Csv);
        import_everything(text.as_bytes(), ImportFormat::Jsonl);
    }

    #[test]
    fn feed_and_webhook_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_feed(&bytes, None);
        let _ = parse_payload(&bytes);
    }

    #[test]
    fn rows_with_a_text_are_accepted_whatever_the_other_columns(text in "[A-Za-zÁÉÍÓÚáéíóúñ ]{1,40}", junk in "[a-z0-9]{0,10}") {
        prop_assume!(!text.trim().is_empty());
        let csv = format!("text,ignored\n\"{text}\",{junk}\n");
        let report = import_everything(csv.as_bytes(), ImportFormat::Csv);
        prop_assert_eq!(report.accepted, 1);
        prop_assert_eq!(report.rejected_total, 0);
    }
}

#[test]
fn good_rows_survive_bad_neighbours_in_a_large_file() {
    let mut csv = String::from("id,text,followers\n");
    for row in 0..5_000 {
        if row % 7 == 0 {
            csv.push_str(&format!("{row},texto {row},no-es-numero\n"));
        } else {
            csv.push_str(&format!("{row},texto {row},{row}\n"));
        }
    }
    let report = import_everything(csv.as_bytes(), ImportFormat::Csv);
    assert_eq!(report.accepted, 5_000 - 715);
    assert_eq!(report.rejected_total, 715);
    assert_eq!(report.rejected[0].line, 2);
    assert_eq!(report.rejected[1].line, 9);
}
