//! Feeds as the world serves them (issue 11): encodings, versions, dates and
//! broken entries seen in the wild, in fixtures written for these tests
//! (`tests/fixtures/world/`). Each ends in stored entries or a clear, specific
//! error.

use atalaya_connectors::feed::{FeedPoll, ParsedFeed, Validators, parse_feed_served, poll_feed};
use atalaya_connectors::{IncomingMention, SourceError};

use crate::server::{self, loopback_client};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/world/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn parse(name: &str, content_type: Option<&str>) -> ParsedFeed {
    parse_feed_served(&fixture(name), Some("https://feeds.example/"), content_type)
        .unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn millis(rfc3339: &str) -> i64 {
    atalaya_connectors::mapping::parse_time(rfc3339)
        .unwrap()
        .millis()
}

/// (title, text, published) of each stored entry.
fn shown(items: &[IncomingMention]) -> Vec<(String, String, Option<i64>)> {
    items
        .iter()
        .map(|item| {
            (
                item.title.clone().unwrap_or_default(),
                item.text.clone(),
                item.published_at.map(atalaya_domain::Timestamp::millis),
            )
        })
        .collect()
}

#[test]
fn utf16_and_utf32_feeds_with_and_without_a_byte_order_mark_are_stored() {
    for name in [
        "utf16be-bom.xml",
        "utf16le-bom.xml",
        "utf16be-no-bom.xml",
        "utf16le-no-bom.xml",
        "utf32be-bom.xml",
        "utf32le-no-bom.xml",
    ] {
        // The byte-order mark (or the NUL pattern of `<?`) wins over any header.
        for content_type in [None, Some("text/xml; charset=windows-1252")] {
            let parsed = parse(name, content_type);
            assert_eq!(parsed.title.as_deref(), Some("Panadería Ñandú"), "{name}");
            assert_eq!(
                shown(&parsed.items),
                [(
                    "Pan de centeno y café ☕".to_owned(),
                    "El horno de leña vuelve el jueves: €2,50 la hogaza 🍞".to_owned(),
                    Some(millis("2004-01-07T19:48:21Z"))
                )],
                "{name} {content_type:?}"
            );
        }
    }
}

#[test]
fn rss_0_90_0_93_0_94_and_without_version_store_their_entries() {
    let titles = |name: &str| -> Vec<String> {
        parse(name, None)
            .items
            .iter()
            .map(|item| item.title.clone().unwrap_or_default())
            .collect()
    };
    assert_eq!(
        titles("rss090.xml"),
        [
            "El puesto de quesos amplía horario",
            "Llega la fruta de temporada"
        ]
    );
    for name in ["rss093.xml", "rss094.xml"] {
        let parsed = parse(name, None);
        assert_eq!(
            shown(&parsed.items),
            [(
                "Entrevista con la panadera del mercado".to_owned(),
                "Hablamos de masa madre y de madrugones.".to_owned(),
                Some(millis("2004-01-05T07:00:00Z"))
            )],
            "{name}"
        );
    }
    let parsed = parse("rss-without-version.xml", None);
    assert_eq!(parsed.items[0].external_id, "vecinos-1");
    assert_eq!(parsed.items[0].text, "De 9 a 13 en la calle Mayor.");
}

#[test]
fn atom_0_3_stores_its_entries() {
    let parsed = parse("atom03.xml", None);
    assert_eq!(
        shown(&parsed.items),
        [
            (
                "Tueste claro para el filtro".to_owned(),
                "Un tueste claro resalta la acidez.".to_owned(),
                Some(millis("2004-01-07T19:48:21Z"))
            ),
            (
                "Molienda y agua".to_owned(),
                "La molienda fina pide agua a 92 °C.".to_owned(),
                Some(millis("2004-01-09T09:00:00Z"))
            ),
            (
                "Catas abiertas".to_owned(),
                "Cada sábado, catas abiertas en la tostadora.".to_owned(),
                Some(millis("2004-01-10T11:00:00Z"))
            ),
        ]
    );
    assert_eq!(parsed.items[0].external_id, "tag:tostadora.example,2004:1");
    assert_eq!(parsed.items[0].lang_hint.as_deref(), Some("es"));
    assert!(parsed.rejected.is_empty());
}

#[test]
fn one_broken_atom_entry_does_not_break_the_feed() {
    let parsed = parse("atom-one-broken-entry.xml", None);
    let texts: Vec<&str> = parsed.items.iter().map(|item| item.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            // `type=""` on the title and the summary.
            "Cortes de tráfico toda la semana.",
            // A base64 body (any media type other than text and XML), decoded.
            "Fiestas del barrio: concierto el sábado.",
            // `type="xhtml"` without the wrapping div.
            "Sin div ni nada",
            // A binary body (a PNG) has nothing to read: the summary is used.
            "Abre también los sábados por la mañana.",
        ]
    );
    // The entry with a NUL character, which XML forbids, is the one rejected.
    assert_eq!(parsed.rejected.len(), 1, "{:?}", parsed.rejected);
    assert_eq!(
        parsed.rejected[0].entry_id,
        "urn:uuid:6c0b7b3e-0000-4000-8000-000000000009"
    );
    assert_eq!(parsed.rejected[0].error.code(), "unreadable");
    assert_eq!(parsed.title.as_deref(), Some("Avisos del ayuntamiento"));
}

#[test]
fn the_http_charset_wins_for_xml_media_types_and_the_declaration_otherwise() {
    // Windows-1252 bytes under a copied `encoding="UTF-8"`: the header is right.
    let parsed = parse(
        "windows-1252-declared-utf8.xml",
        Some("text/xml; charset=windows-1252"),
    );
    assert_eq!(
        parsed.items[0].title.as_deref(),
        Some("“La lonja abre” — dice el alcalde")
    );
    assert_eq!(
        parsed.items[0].text,
        "Pescado fresco a 9 € el kilo, ±1 € según la marea."
    );
    // Without it the declaration is believed, and the error says where it fails.
    let error =
        parse_feed_served(&fixture("windows-1252-declared-utf8.xml"), None, None).unwrap_err();
    assert!(
        matches!(&error, SourceError::BadEncoding { encoding, .. } if encoding == "UTF-8"),
        "{error}"
    );
    // A charset on a non-XML media type does not override the declaration…
    let declared = parse(
        "iso-8859-2-declared.xml",
        Some("application/octet-stream; charset=windows-1252"),
    );
    assert_eq!(
        declared.items[0].title.as_deref(),
        Some("Ząbkowice: nowa kawiarnia")
    );
    // …but on an XML media type it does (RFC 7303), even when it is wrong.
    let overridden = parse(
        "iso-8859-2-declared.xml",
        Some("application/rss+xml; charset=windows-1252"),
    );
    assert_eq!(
        overridden.items[0].title.as_deref(),
        Some("Z±bkowice: nowa kawiarnia")
    );
}

#[test]
fn windows_1252_smart_quotes_in_a_declared_utf8_feed_are_not_mojibake() {
    let parsed = parse("utf8-with-windows-1252-quotes.xml", None);
    assert_eq!(
        parsed.items[0].title.as_deref(),
        Some("“el mejor café” según los vecinos")
    );
    assert_eq!(
        parsed.items[0].text,
        "Nos lo dijeron así: “volveremos” — y volvieron. “siempre”"
    );
}

#[test]
fn dates_feeds_write_are_read_and_unreadable_ones_stay_unknown_and_are_noted() {
    let parsed = parse("dates.xml", None);
    let dates: Vec<(&str, Option<i64>)> = parsed
        .items
        .iter()
        .map(|item| {
            (
                item.external_id.as_str(),
                item.published_at.map(atalaya_domain::Timestamp::millis),
            )
        })
        .collect();
    let moment = Some(millis("2004-01-07T19:48:21Z"));
    assert_eq!(
        dates,
        [
            ("space", moment),
            ("day-only", Some(millis("2004-01-05T00:00:00Z"))),
            ("named-zone", moment),
            ("dc-date", moment),
            ("words", moment),
            // Never the time of polling: unknown, and said so.
            ("unreadable", None),
            ("none", None),
        ]
    );
    assert_eq!(parsed.notes.len(), 1, "{:?}", parsed.notes);
    assert_eq!(parsed.notes[0].entry_id, "unreadable");
    assert!(
        parsed.notes[0]
            .note
            .contains("\"ayer por la tarde\" could not be read"),
        "{}",
        parsed.notes[0].note
    );
}

#[test]
fn escaped_markup_in_an_rss_title_is_stored_as_clean_text() {
    let parsed = parse("escaped-title.xml", None);
    assert_eq!(parsed.items[0].title.as_deref(), Some("Crème brûlée fácil"));
    assert_eq!(parsed.items[0].text, "Con azúcar quemado.");
    // Text that only looks a little like markup stays as written.
    assert_eq!(
        parsed.items[1].title.as_deref(),
        Some("Tom & Jerry: I <3 this pie")
    );
}

#[tokio::test]
async fn served_over_http_the_content_type_decides_and_utf16_is_stored() {
    let base = server::start().await;
    let client = loopback_client();
    let items = |poll: FeedPoll| match poll {
        FeedPoll::Fetched { items, .. } => items,
        FeedPoll::NotModified => panic!("unexpected 304"),
    };
    let fetched = items(
        poll_feed(
            &client,
            &format!("{base}/world/windows-1252.xml"),
            &Validators::default(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(
        fetched[0].title.as_deref(),
        Some("“La lonja abre” — dice el alcalde")
    );
    let fetched = items(
        poll_feed(
            &client,
            &format!("{base}/world/utf16be-bom.xml"),
            &Validators::default(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(
        fetched[0].title.as_deref(),
        Some("Pan de centeno y café ☕")
    );
}
