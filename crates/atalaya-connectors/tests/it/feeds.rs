//! Every publisher shape the fixtures cover, parsed into the right fields.

use crate::server::{ALERTS, RDF, RSS091, WORDPRESS, YOUTUBE};
use atalaya_connectors::IncomingMention;
use atalaya_connectors::feed::parse_feed;
use atalaya_domain::Timestamp;

/// The fields a reader of the mention list sees, one line per field.
fn summary(item: &IncomingMention) -> String {
    let author = item.author.as_ref().map(|author| {
        format!(
            "{} | {:?} | {:?}",
            author.handle, author.name, author.profile_url
        )
    });
    format!(
        "id={}\nurl={:?}\ntitle={:?}\ntext={}\nauthor={:?}\npublished={:?}\nlang={:?}",
        item.external_id,
        item.url,
        item.title,
        item.text,
        author,
        item.published_at,
        item.lang_hint
    )
}

fn check(feed: &str, base: &str, expected: &[&str]) {
    let parsed = parse_feed(feed.as_bytes(), Some(base)).unwrap();
    let got: Vec<String> = parsed.items.iter().map(summary).collect();
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (got, expected) in got.iter().zip(expected) {
        // `id=<generated>`: the feed has no id, feed-rs derives one from link and title.
        let got = match expected.strip_prefix("id=<generated>\n") {
            Some(_) => format!("id=<generated>\n{}", got.split_once('\n').unwrap().1),
            None => got.clone(),
        };
        assert_eq!(&got, expected);
    }
}

fn millis(rfc3339: &str) -> i64 {
    atalaya_connectors::mapping::parse_time(rfc3339)
        .unwrap()
        .millis()
}

#[test]
fn wordpress_rss2_with_content_encoded_and_dc_creator() {
    let published = Timestamp(millis("2025-03-03T09:00:00Z"));
    let second = Timestamp(millis("2025-02-28T18:30:00Z"));
    check(
        WORDPRESS,
        "https://blog.laespiga.example/feed/",
        &[
            &format!(
                "id=https://blog.laespiga.example/?p=1201\n\
                 url=Some(\"https://blog.laespiga.example/2025/03/nuevo-horario/?utm_source=rss&utm_medium=rss\")\n\
                 title=Some(\"Nuevo horario de verano en la tienda del centro\")\n\
                 text=A partir de junio abrimos a las 7:30 y cerramos a las 21:00. Gracias a quienes nos pedisteis más horas & más pan. Os esperamos.\n\
                 author=Some(\"Marta Ruiz | Some(\\\"Marta Ruiz\\\") | None\")\n\
                 published=Some({published:?})\n\
                 lang=Some(\"es\")"
            ),
            &format!(
                "id=https://blog.laespiga.example/?p=1187\n\
                 url=Some(\"https://blog.laespiga.example/2025/02/pan-de-centeno/\")\n\
                 title=Some(\"Receta: pan de centeno\")\n\
                 text=Ingredientes 500 g de harina de centeno Agua\n\
                 author=Some(\"Jorge Lema | Some(\\\"Jorge Lema\\\") | None\")\n\
                 published=Some({second:?})\n\
                 lang=Some(\"es\")"
            ),
        ],
    );
}

#[test]
fn a_partially_bad_feed_keeps_its_good_entries() {
    let parsed = parse_feed(WORDPRESS.as_bytes(), None).unwrap();
    assert_eq!(parsed.items.len(), 2);
    assert_eq!(parsed.rejected.len(), 1);
    assert_eq!(
        parsed.rejected[0].entry_id,
        "https://blog.laespiga.example/?p=1100"
    );
    assert_eq!(parsed.rejected[0].error.code(), "bad_url");
}

#[test]
fn scripts_and_handlers_leave_text_but_stay_in_content_raw() {
    let parsed = parse_feed(WORDPRESS.as_bytes(), None).unwrap();
    let item = &parsed.items[0];
    assert!(
        item.content_raw.contains("<script>"),
        "content_raw is stored as received"
    );
    assert!(item.content_raw.contains("onerror="));
    for forbidden in [
        "<script",
        "document.cookie",
        "onerror",
        "alert(",
        "<p>",
        "&amp;",
        "&aacute;",
    ] {
        assert!(
            !item.text.contains(forbidden),
            "text contains {forbidden:?}: {}",
            item.text
        );
    }
    assert_eq!(
        item.canonical_url().as_deref(),
        Some("https://blog.laespiga.example/2025/03/nuevo-horario"),
        "tracking parameters and trailing slash are dropped for dedupe"
    );
}

#[test]
fn youtube_channel_atom_with_media_group() {
    let published = Timestamp(millis("2025-03-02T16:00:05Z"));
    check(
        YOUTUBE,
        "https://www.youtube.com/feeds/videos.xml?channel_id=UCinventedChannel0001",
        &[&format!(
            "id=yt:video:abcDEF12345\n\
             url=Some(\"https://www.youtube.com/watch?v=abcDEF12345\")\n\
             title=Some(\"Probamos las magdalenas de La Espiga\")\n\
             text=Hoy comparamos tres magdalenas. Spoiler: la de La Espiga gana por goleada.\n\
             author=Some(\"Cocina con Lucía | Some(\\\"Cocina con Lucía\\\") | Some(\\\"https://www.youtube.com/channel/UCinventedChannel0001\\\")\")\n\
             published=Some({published:?})\n\
             lang=None"
        )],
    );
}

#[test]
fn alert_feed_links_are_unwrapped_and_html_titles_stripped() {
    let first = Timestamp(millis("2025-03-03T08:45:00Z"));
    let second = Timestamp(millis("2025-03-02T12:00:00Z"));
    check(
        ALERTS,
        "https://www.google.com/alerts/feeds/00000000000000000000/1111111111111111111",
        &[
            &format!(
                "id=tag:google.com,2013:googlealerts/feed:2222222222222222222\n\
                 url=Some(\"https://diario.example/local/colas-la-espiga?ref=alerts\")\n\
                 title=Some(\"Quejas por las colas en La Espiga de la plaza Mayor\")\n\
                 text=Varios vecinos se quejan de las colas en La Espiga durante el fin de semana ...\n\
                 author=None\n\
                 published=Some({first:?})\n\
                 lang=None"
            ),
            &format!(
                "id=tag:google.com,2013:googlealerts/feed:3333333333333333333\n\
                 url=Some(\"https://citynews.example/business/la-espiga-second-shop\")\n\
                 title=Some(\"La Espiga opens a second bakery downtown\")\n\
                 text=The family bakery La Espiga will open a second shop next month.\n\
                 author=None\n\
                 published=Some({second:?})\n\
                 lang=None"
            ),
        ],
    );
}

#[test]
fn rss1_rdf_forum_feed() {
    let published = Timestamp(millis("2025-03-01T20:15:00Z"));
    check(
        RDF,
        "https://forum.example/rss",
        &[&format!(
            "id=<generated>\n\
             url=Some(\"https://forum.example/t/4412\")\n\
             title=Some(\"Anyone tried the rye loaf from La Espiga?\")\n\
             text=The crust was great but it sold out by ten in the morning.\n\
             author=Some(\"crumb_hunter | Some(\\\"crumb_hunter\\\") | None\")\n\
             published=Some({published:?})\n\
             lang=Some(\"en\")"
        )],
    );
}

#[test]
fn rss091_without_guid_or_date() {
    let parsed = parse_feed(RSS091.as_bytes(), Some("https://localfood.example/rss")).unwrap();
    let item = &parsed.items[0];
    assert_eq!(
        item.url.as_deref(),
        Some("https://localfood.example/news/bakery-prize")
    );
    assert_eq!(item.title.as_deref(), Some("Bakery wins regional prize"));
    assert_eq!(
        item.text,
        "La Espiga took first place for its sourdough this year."
    );
    assert_eq!(item.published_at, None);
    assert_eq!(item.lang_hint.as_deref(), Some("en"));
    // No guid: the id is derived from the link, and is the same on every parse.
    let again = parse_feed(RSS091.as_bytes(), Some("https://localfood.example/rss")).unwrap();
    assert_eq!(item.external_id, again.items[0].external_id);
    assert!(!item.external_id.is_empty());
}
