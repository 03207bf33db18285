//! Rewrites a decoded feed into the shapes feed-rs reads, and splits one into
//! single-entry documents when an entry breaks it.
//!
//! ```text
//! <rss> without version, 0.90/0.93/0.94 ─▶ <rss version="2.0">   (0.9x is a subset of 2.0)
//! <rdf:RDF xmlns="…/rdf/simple/0.9/">    ─▶ the RSS 1.0 namespace (same structure)
//! Atom 0.3 (purl.org/atom/ns#)           ─▶ the Atom 1.0 namespace; issued → published,
//!                                           modified → updated, tagline → subtitle,
//!                                           copyright → rights
//! Atom text and content `type`/`mode`    ─▶ text | html | xhtml; base64 bodies decoded;
//!                                           empty ones and undecodable binaries dropped
//! ```
//!
//! Everything else is copied byte for byte. feed-rs rejects a whole feed for
//! one unreadable element (an unknown `type`, an empty `<title/>` in Atom),
//! so what can be read as the specifications mean is rewritten here, and what
//! still fails is isolated by [`split_entries`].

use base64::Engine as _;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::error::SourceError;

const ATOM_03: &str = "http://purl.org/atom/ns#";
const ATOM_10: &str = "http://www.w3.org/2005/Atom";
const RSS_090: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RSS_10: &str = "http://purl.org/rss/1.0/";
/// Namespaces some RSS 2.0 feeds declare, which feed-rs does not know.
const RSS_2_NAMESPACES: [&str; 2] = [
    "http://backend.userland.com/rss2",
    "http://blogs.law.harvard.edu/tech/rss",
];
/// Atom elements whose content is text, HTML or XHTML by their `type`.
const TEXT_CONSTRUCTS: [&str; 7] = [
    "title",
    "subtitle",
    "tagline",
    "summary",
    "content",
    "rights",
    "copyright",
];

/// Which kind of feed the root element says this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Rss,
    Rdf,
    Atom03,
    Atom,
    Other,
}

impl Dialect {
    fn is_atom(self) -> bool {
        matches!(self, Dialect::Atom | Dialect::Atom03)
    }
}

/// A feed rewritten for feed-rs.
#[derive(Debug)]
pub(crate) struct Repaired {
    pub(crate) text: String,
    pub(crate) dialect: Dialect,
}

fn offset(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

fn malformed(error: &quick_xml::Error, position: u64) -> SourceError {
    SourceError::MalformedFeed {
        reason: format!("{error} at byte {position}"),
    }
}

/// Rewrites `source` (decoded text without an XML declaration).
pub(crate) fn repair(source: &str) -> Result<Repaired, SourceError> {
    let mut reader = Reader::from_str(source);
    let mut out = String::with_capacity(source.len() + 64);
    let mut dialect = None;
    // Per open element, the name its end tag must be written with when renamed.
    let mut renamed: Vec<Option<String>> = Vec::new();
    loop {
        let start = offset(reader.buffer_position());
        let event = reader
            .read_event()
            .map_err(|error| malformed(&error, reader.error_position()))?;
        let end = offset(reader.buffer_position());
        match event {
            Event::Eof => break,
            // The text is UTF-8 now, whatever the declaration said.
            Event::Decl(_) => {}
            Event::Start(element) | Event::Empty(element) if dialect.is_none() => {
                let empty = source[start..end].ends_with("/>");
                let (tag, found) = repair_root(&element, empty)?;
                dialect = Some(found);
                out.push_str(&tag);
                if !empty {
                    renamed.push(None);
                }
            }
            Event::Start(element) => {
                let current = dialect.unwrap_or(Dialect::Other);
                if current.is_atom() && is_atom_text_construct(&element) {
                    let (inner_end, after) = skip_to_end(&mut reader)?;
                    text_construct(&mut out, current, &element, Some(&source[end..inner_end]))?;
                    debug_assert!(after >= inner_end);
                    continue;
                }
                match atom03_name(current, &element) {
                    Some(name) => {
                        out.push_str(&render(&name, &attributes(&element)?, false));
                        renamed.push(Some(name));
                    }
                    None => {
                        out.push_str(&source[start..end]);
                        renamed.push(None);
                    }
                }
            }
            Event::Empty(element) => {
                let current = dialect.unwrap_or(Dialect::Other);
                if current.is_atom() && is_atom_text_construct(&element) {
                    text_construct(&mut out, current, &element, None)?;
                } else if let Some(name) = atom03_name(current, &element) {
                    out.push_str(&render(&name, &attributes(&element)?, true));
                } else {
                    out.push_str(&source[start..end]);
                }
            }
            Event::End(_) => match renamed.pop().flatten() {
                Some(name) => {
                    out.push_str("</");
                    out.push_str(&name);
                    out.push('>');
                }
                None => out.push_str(&source[start..end]),
            },
            _ => out.push_str(&source[start..end]),
        }
    }
    Ok(Repaired {
        text: out,
        dialect: dialect.unwrap_or(Dialect::Other),
    })
}

/// Reads to the end tag matching the element just started; returns where the
/// end tag starts and where it ends.
fn skip_to_end(reader: &mut Reader<&[u8]>) -> Result<(usize, usize), SourceError> {
    let mut depth = 0_usize;
    loop {
        let start = offset(reader.buffer_position());
        let event = reader
            .read_event()
            .map_err(|error| malformed(&error, reader.error_position()))?;
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) if depth == 0 => return Ok((start, offset(reader.buffer_position()))),
            Event::End(_) => depth -= 1,
            Event::Eof => {
                return Err(SourceError::MalformedFeed {
                    reason: "the feed ends inside an element".to_owned(),
                });
            }
            _ => {}
        }
    }
}

/// An Atom title, summary, content…: unprefixed (Atom is the feed's default
/// namespace) or `atom:`. `media:title` and `media:content` are not.
fn is_atom_text_construct(element: &BytesStart<'_>) -> bool {
    let name = element.name();
    name.prefix().is_none_or(|prefix| prefix.as_ref() == "atom")
        && TEXT_CONSTRUCTS.contains(&element.local_name().as_ref())
}

/// An element's attributes, names as written and values unescaped.
fn attributes(element: &BytesStart<'_>) -> Result<Vec<(String, String)>, SourceError> {
    element
        .attributes()
        .map(|attribute| {
            let attribute = attribute.map_err(|error| SourceError::MalformedFeed {
                reason: format!("bad attribute: {error}"),
            })?;
            // An entity XML does not define (`&nbsp;` in a `title` attribute)
            // is kept as written rather than failing the feed.
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_or_else(
                    |_| attribute.value.to_string(),
                    std::borrow::Cow::into_owned,
                );
            Ok((attribute.key.as_ref().to_owned(), value))
        })
        .collect()
}

fn render(name: &str, attributes: &[(String, String)], empty: bool) -> String {
    let mut tag = String::with_capacity(name.len() + 2 + attributes.len() * 24);
    tag.push('<');
    tag.push_str(name);
    for (key, value) in attributes {
        tag.push(' ');
        tag.push_str(key);
        tag.push_str("=\"");
        tag.push_str(&quick_xml::escape::escape(value.as_str()));
        tag.push('"');
    }
    tag.push_str(if empty { "/>" } else { ">" });
    tag
}

fn element_name(element: &BytesStart<'_>) -> String {
    element.name().as_ref().to_owned()
}

/// The root element, rewritten so feed-rs recognises it, and the dialect.
fn repair_root(element: &BytesStart<'_>, empty: bool) -> Result<(String, Dialect), SourceError> {
    let name = element_name(element);
    let mut attributes = attributes(element)?;
    let is_namespace = |key: &str| key == "xmlns" || key.starts_with("xmlns:");
    let dialect = match element.local_name().as_ref() {
        "rss" => {
            let supported = ["0.91", "0.92", "2.0"];
            match attributes.iter_mut().find(|(key, _)| key == "version") {
                Some((_, version)) if supported.contains(&version.trim()) => {}
                Some((_, version)) => *version = "2.0".to_owned(),
                None => attributes.push(("version".to_owned(), "2.0".to_owned())),
            }
            attributes.retain(|(key, value)| {
                !(key == "xmlns" && RSS_2_NAMESPACES.contains(&value.trim()))
            });
            Dialect::Rss
        }
        "RDF" => {
            for (key, value) in &mut attributes {
                if is_namespace(key) && value.trim() == RSS_090 {
                    *value = RSS_10.to_owned();
                }
            }
            Dialect::Rdf
        }
        "feed" | "entry" => {
            let old_namespace = attributes
                .iter()
                .any(|(key, value)| is_namespace(key) && value.trim() == ATOM_03);
            let new_namespace = attributes
                .iter()
                .any(|(key, value)| is_namespace(key) && value.trim() == ATOM_10);
            let version_03 = attributes
                .iter()
                .any(|(key, value)| key == "version" && value.trim() == "0.3");
            if old_namespace || (version_03 && !new_namespace) {
                for (key, value) in &mut attributes {
                    if is_namespace(key) && value.trim() == ATOM_03 {
                        *value = ATOM_10.to_owned();
                    }
                }
                attributes.retain(|(key, _)| key != "version");
                Dialect::Atom03
            } else {
                Dialect::Atom
            }
        }
        _ => Dialect::Other,
    };
    Ok((render(&name, &attributes, empty), dialect))
}

/// The Atom 1.0 name of an Atom 0.3 element, when it changed.
fn atom03_name(dialect: Dialect, element: &BytesStart<'_>) -> Option<String> {
    if dialect != Dialect::Atom03 {
        return None;
    }
    let renamed = match element.local_name().as_ref() {
        "issued" => "published",
        "modified" => "updated",
        "tagline" => "subtitle",
        "copyright" => "rights",
        _ => return None,
    };
    Some(match element.name().prefix() {
        Some(prefix) => format!("{}:{renamed}", prefix.as_ref()),
        None => renamed.to_owned(),
    })
}

/// What an Atom `type` says the content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Html,
    Xhtml,
    Xml,
    /// Any other media type: base64 in Atom 1.0 (RFC 4287, 4.1.3.3).
    Other,
}

fn kind_of(media_type: &str) -> Kind {
    match media_type {
        "" | "text" | "text/plain" => Kind::Text,
        "html" | "text/html" => Kind::Html,
        "xhtml" | "application/xhtml+xml" => Kind::Xhtml,
        other if other.starts_with("text/") => Kind::Text,
        other if other.ends_with("/xml") || other.ends_with("+xml") => Kind::Xml,
        _ => Kind::Other,
    }
}

/// Writes an Atom text construct or content element (`inner`: its raw
/// content, `None` when it was an empty element) as feed-rs can read it.
fn text_construct(
    out: &mut String,
    dialect: Dialect,
    element: &BytesStart<'_>,
    inner: Option<&str>,
) -> Result<(), SourceError> {
    let mut attributes = attributes(element)?;
    let name = atom03_name(dialect, element).unwrap_or_else(|| element_name(element));
    let is_content = element.local_name().as_ref() == "content";
    let take = |attributes: &mut Vec<(String, String)>, wanted: &str| {
        let index = attributes.iter().position(|(key, _)| key == wanted)?;
        Some(attributes.remove(index).1.trim().to_ascii_lowercase())
    };
    let media_type = take(&mut attributes, "type").unwrap_or_default();
    let mode = take(&mut attributes, "mode").unwrap_or_default();
    if is_content && attributes.iter().any(|(key, _)| key == "src") {
        // Out-of-line content has no body; an unreadable type would fail the feed.
        if media_type.contains('/') && !media_type.contains(char::is_whitespace) {
            attributes.push(("type".to_owned(), media_type));
        }
        out.push_str(&render(&name, &attributes, true));
        return Ok(());
    }
    // feed-rs refuses an empty text element, and the whole feed with it.
    let Some(inner) = inner.filter(|inner| !inner.trim().is_empty()) else {
        return Ok(());
    };
    let kind = kind_of(&media_type);
    let base64 =
        mode == "base64" || (dialect == Dialect::Atom && is_content && kind == Kind::Other);
    if base64 {
        let encoded =
            quick_xml::escape::unescape(inner).unwrap_or(std::borrow::Cow::Borrowed(inner));
        let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|text| !text.trim().is_empty());
        // Binary content (an image) has nothing to read: drop it, keep the entry.
        if let Some(text) = decoded {
            let shown = if matches!(kind, Kind::Html | Kind::Xhtml) {
                "html"
            } else {
                "text"
            };
            attributes.push(("type".to_owned(), shown.to_owned()));
            out.push_str(&render(&name, &attributes, false));
            out.push_str(&quick_xml::escape::escape(text.as_str()));
            out.push_str("</");
            out.push_str(&name);
            out.push('>');
        }
        return Ok(());
    }
    // Atom 0.3's default mode is inline XML; `escaped` is markup as text.
    let inline_markup = dialect == Dialect::Atom03 && mode != "escaped";
    let written_type = match kind {
        Kind::Html | Kind::Xhtml if inline_markup => "xhtml",
        Kind::Html => "html",
        Kind::Xhtml => "xhtml",
        Kind::Xml if is_content => media_type.as_str(),
        Kind::Text | Kind::Xml | Kind::Other => "text",
    };
    attributes.push(("type".to_owned(), written_type.to_owned()));
    out.push_str(&render(&name, &attributes, false));
    out.push_str(inner);
    out.push_str("</");
    out.push_str(&name);
    out.push('>');
    Ok(())
}

/// A feed cut into its skeleton (everything but the entries) and its entries.
#[derive(Debug)]
pub(crate) struct Split {
    skeleton: String,
    /// Where the entries were in `skeleton`.
    insert_at: usize,
    pub(crate) entries: Vec<String>,
}

impl Split {
    /// The skeleton alone: the feed's own fields, no entries.
    pub(crate) fn skeleton(&self) -> &str {
        &self.skeleton
    }

    /// The feed with only entry `index`.
    pub(crate) fn with_entry(&self, index: usize) -> String {
        let entry = &self.entries[index];
        let mut document = String::with_capacity(self.skeleton.len() + entry.len());
        document.push_str(&self.skeleton[..self.insert_at]);
        document.push_str(entry);
        document.push_str(&self.skeleton[self.insert_at..]);
        document
    }
}

/// Splits a repaired feed into its skeleton and entries (`item`s of RSS and
/// RDF, `entry`s of Atom); `None` when it has none or is not well-formed.
pub(crate) fn split_entries(repaired: &Repaired) -> Option<Split> {
    let entry_name = match repaired.dialect {
        Dialect::Rss | Dialect::Rdf => "item",
        Dialect::Atom | Dialect::Atom03 => "entry",
        Dialect::Other => return None,
    };
    let text = repaired.text.as_str();
    let mut reader = Reader::from_str(text);
    let mut depth = 0_usize;
    let mut ranges = Vec::new();
    loop {
        let start = offset(reader.buffer_position());
        match reader.read_event().ok()? {
            Event::Start(element) => {
                if depth >= 1 && element.local_name().as_ref() == entry_name {
                    let (_, after) = skip_to_end(&mut reader).ok()?;
                    ranges.push(start..after);
                } else {
                    depth += 1;
                }
            }
            Event::Empty(element) if depth >= 1 && element.local_name().as_ref() == entry_name => {
                ranges.push(start..offset(reader.buffer_position()));
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => break,
            _ => {}
        }
    }
    let first = ranges.first()?.start;
    let mut skeleton = String::with_capacity(text.len());
    let mut copied = 0;
    for range in &ranges {
        skeleton.push_str(&text[copied..range.start]);
        copied = range.end;
    }
    skeleton.push_str(&text[copied..]);
    Some(Split {
        skeleton,
        insert_at: first,
        entries: ranges
            .into_iter()
            .map(|range| text[range].to_owned())
            .collect(),
    })
}

/// The first `guid`, `id` or `link` text of an entry, to name it in logs.
pub(crate) fn entry_label(entry: &str) -> Option<String> {
    let mut reader = Reader::from_str(entry);
    let mut inside = false;
    let mut text = String::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(element)
                if matches!(element.local_name().as_ref(), "guid" | "id" | "link") =>
            {
                inside = true;
            }
            Event::Text(content) if inside => text.push_str(&content.xml10_content()),
            Event::End(_) if inside => {
                let label = text.trim();
                return (!label.is_empty()).then(|| label.to_owned());
            }
            Event::Empty(element) if element.local_name().as_ref() == "link" => {
                let href = element
                    .try_get_attribute("href")
                    .ok()
                    .flatten()
                    .and_then(|attribute| {
                        attribute
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .ok()
                            .map(std::borrow::Cow::into_owned)
                    });
                if href.is_some() {
                    return href;
                }
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn repaired(source: &str) -> (String, Dialect) {
        let repaired = repair(source).unwrap();
        (repaired.text, repaired.dialect)
    }

    #[test]
    fn rss_versions_feed_rs_does_not_know_become_2_0() {
        for version in [
            " version=\"0.90\"",
            " version=\"0.93\"",
            " version=\"0.94\"",
            "",
        ] {
            let (text, dialect) = repaired(&format!("<rss{version}><channel/></rss>"));
            assert_eq!(text, "<rss version=\"2.0\"><channel/></rss>", "{version:?}");
            assert_eq!(dialect, Dialect::Rss);
        }
        let (text, _) = repaired("<rss version=\"0.92\"><channel/></rss>");
        assert_eq!(text, "<rss version=\"0.92\"><channel/></rss>");
        let (text, dialect) = repaired(
            "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://my.netscape.com/rdf/simple/0.9/\"><item/></rdf:RDF>",
        );
        assert!(
            text.contains("xmlns=\"http://purl.org/rss/1.0/\""),
            "{text}"
        );
        assert_eq!(dialect, Dialect::Rdf);
    }

    #[test]
    fn atom_0_3_becomes_atom_1_0() {
        let (text, dialect) = repaired(concat!(
            "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\">",
            "<tagline>t</tagline><entry><issued>2004-01-07T19:48:21Z</issued>",
            "<content type=\"text/html\" mode=\"escaped\">&lt;b&gt;hi&lt;/b&gt;</content>",
            "<summary type=\"text/plain\" mode=\"base64\">SG9sYSDDsQ==</summary>",
            "</entry></feed>"
        ));
        assert_eq!(dialect, Dialect::Atom03);
        assert_eq!(
            text,
            concat!(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\">",
                "<subtitle type=\"text\">t</subtitle><entry><published>2004-01-07T19:48:21Z</published>",
                "<content type=\"html\">&lt;b&gt;hi&lt;/b&gt;</content>",
                "<summary type=\"text\">Hola ñ</summary>",
                "</entry></feed>"
            )
        );
    }

    #[test]
    fn atom_types_feed_rs_refuses_are_rewritten() {
        let (text, _) = repaired(concat!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>",
            "<title type=\"\">Empty type</title><summary/>",
            "<content type=\"application/octet-stream\">PGI+YmFzZTY0PC9iPg==</content>",
            "</entry><entry><content type=\"image/png\">iVBORw0KGgo=</content>",
            "<content type=\"text/html\" src=\"https://a.example/x\"/></entry></feed>"
        ));
        assert_eq!(
            text,
            concat!(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>",
                "<title type=\"text\">Empty type</title>",
                "<content type=\"text\">&lt;b&gt;base64&lt;/b&gt;</content>",
                "</entry><entry>",
                "<content src=\"https://a.example/x\" type=\"text/html\"/></entry></feed>"
            )
        );
    }

    #[test]
    fn feeds_split_into_skeleton_and_entries() {
        let feed = repair(concat!(
            "<rss version=\"2.0\"><channel><title>c</title>",
            "<item><guid>1</guid></item><item><link>https://a.example/2</link></item>",
            "</channel></rss>"
        ))
        .unwrap();
        let split = split_entries(&feed).unwrap();
        assert_eq!(
            split.skeleton(),
            "<rss version=\"2.0\"><channel><title>c</title></channel></rss>"
        );
        assert_eq!(
            split.with_entry(1),
            "<rss version=\"2.0\"><channel><title>c</title><item><link>https://a.example/2</link></item></channel></rss>"
        );
        assert_eq!(entry_label(&split.entries[0]).as_deref(), Some("1"));
        assert_eq!(
            entry_label(&split.entries[1]).as_deref(),
            Some("https://a.example/2")
        );
    }
}
