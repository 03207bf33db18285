//! Fuzzes the listening query parser: any UTF-8 text either fails to parse
//! with an error, or parses into a query whose canonical text parses back to
//! the same query and which matches a fixed mention without panicking. The
//! integration tests run the same property through proptest on stable.

#![no_main]

use atalaya_text::query::{Document, QuerySet, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(query) = parse(text) else {
        return;
    };
    let canonical = query.to_string();
    let reparsed = parse(&canonical);
    assert_eq!(
        reparsed.as_ref(),
        Ok(&query),
        "canonical text {canonical:?}"
    );
    let set = QuerySet::compile([(0_u8, query)]);
    let document = Document {
        text: "Hola @ana, ¿el Café de Coca-Cola? #rebajas https://x.example/a ñandú",
        author: Some("ana"),
        url: Some("https://news.example.com/a"),
        lang: Some("es"),
        source: Some("rss"),
    };
    for found in set.matches(&document).found {
        for span in found.spans {
            assert!(document.text.get(span.range).is_some());
        }
    }
});
