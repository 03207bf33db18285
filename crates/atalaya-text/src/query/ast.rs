//! The syntax tree of a listening query and its canonical text form.
//!
//! A [`Query`] is what the parser produces and what [`super::QuerySet`]
//! compiles. Its `Display` is the canonical form the UI shows back to the user:
//! operators in upper case, explicit `AND`, parentheses only where they are
//! needed, field names in English. `parse(q.to_string()) == q` holds for every
//! query the parser produces (the fuzz target and a property test check it).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::parser::{ParseError, parse};

/// A parsed listening query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    /// A single term as written: `zara`, `conect*`, `#rebajas`, `@zara`, `coca-cola`.
    Term(Term),
    /// An `"exact phrase"`: its words adjacent and in order.
    Phrase(Phrase),
    /// Every item must match (explicit `AND` or juxtaposition).
    And(Vec<Query>),
    /// At least one item must match.
    Or(Vec<Query>),
    /// The item must not match (`NOT x` or `-x`).
    Not(Box<Query>),
    /// `left NEAR/n right`: at most `distance` words between the two sides;
    /// `ordered` (`NEAR/nf`) also requires `left` to come first.
    Near {
        left: Box<Query>,
        right: Box<Query>,
        distance: u32,
        ordered: bool,
    },
    /// A filter on the mention's metadata: `author:`, `site:`, `url:`, `lang:`, `source:`.
    Field(FieldFilter),
}

/// A term as the user wrote it. Matching derives everything from `text`
/// (hashtag/handle kind, wildcards, hyphen alternatives) at compile time, so the
/// tree stays a faithful, round-trippable record of the query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Term {
    /// The term without the exact-form marker, e.g. `Café`, `#Rebajas`, `conect*`.
    pub text: String,
    /// Written `=Café`: case and accents must match exactly.
    pub exact: bool,
}

/// A quoted phrase, its inner whitespace collapsed to single spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phrase {
    pub text: String,
    /// Written `="Café Central"`: case and accents must match exactly.
    pub exact: bool,
}

/// The metadata field a [`FieldFilter`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The author's handle or name, compared case-insensitively, `@` optional.
    Author,
    /// The host of the mention's URL; a domain also matches its subdomains.
    Site,
    /// A case-insensitive substring of the mention's URL.
    Url,
    /// The mention's language; `lang:es` also matches `es-MX`.
    Lang,
    /// Where the mention came from: `rss`, `mastodon`, `bluesky`, `csv`…
    Source,
}

impl Field {
    /// Every field, in the order the documentation lists them.
    pub const ALL: [Field; 5] = [
        Field::Author,
        Field::Site,
        Field::Url,
        Field::Lang,
        Field::Source,
    ];

    /// The canonical (English) name used in the query text.
    pub fn name(self) -> &'static str {
        match self {
            Field::Author => "author",
            Field::Site => "site",
            Field::Url => "url",
            Field::Lang => "lang",
            Field::Source => "source",
        }
    }

    /// Recognises a field name case-insensitively; Spanish speakers may also
    /// write the Spanish names (`autor:`, `sitio:`, `idioma:`, `fuente:`).
    pub fn from_name(name: &str) -> Option<Field> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "author" | "autor" => Some(Field::Author),
            "site" | "sitio" => Some(Field::Site),
            "url" => Some(Field::Url),
            "lang" | "idioma" => Some(Field::Lang),
            "source" | "fuente" => Some(Field::Source),
            _ => None,
        }
    }
}

/// `field:value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldFilter {
    pub field: Field,
    pub value: String,
}

impl Query {
    /// Whether this node can stand on a side of `NEAR`: it must produce word
    /// positions, which terms, phrases, OR groups of them and NEARs do.
    pub fn is_positional(&self) -> bool {
        match self {
            Query::Term(_) | Query::Phrase(_) | Query::Near { .. } => true,
            Query::Or(items) => items.iter().all(Query::is_positional),
            Query::And(_) | Query::Not(_) | Query::Field(_) => false,
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::Term(term) => {
                if term.exact {
                    f.write_str("=")?;
                }
                f.write_str(&term.text)
            }
            Query::Phrase(phrase) => {
                if phrase.exact {
                    f.write_str("=")?;
                }
                write!(f, "\"{}\"", phrase.text)
            }
            Query::And(items) => write_joined(f, items, " AND "),
            Query::Or(items) => write_joined(f, items, " OR "),
            Query::Not(inner) => {
                f.write_str("NOT ")?;
                // Parenthesising a NEAR is not needed by the grammar (NOT binds
                // looser than NEAR) but reads less ambiguously to people.
                let grouped = matches!(**inner, Query::And(_) | Query::Or(_) | Query::Near { .. });
                write_operand(f, inner, grouped)
            }
            Query::Near {
                left,
                right,
                distance,
                ordered,
            } => {
                // NEAR chains associate to the left, so a NEAR on the left
                // needs no parentheses while one on the right does.
                let left_grouped = !matches!(
                    **left,
                    Query::Term(_) | Query::Phrase(_) | Query::Near { .. }
                );
                write_operand(f, left, left_grouped)?;
                write!(f, " NEAR/{distance}{} ", if *ordered { "f" } else { "" })?;
                let right_grouped = !matches!(**right, Query::Term(_) | Query::Phrase(_));
                write_operand(f, right, right_grouped)
            }
            Query::Field(filter) => {
                write!(f, "{}:", filter.field.name())?;
                if needs_quotes(&filter.value) {
                    write!(f, "\"{}\"", filter.value)
                } else {
                    f.write_str(&filter.value)
                }
            }
        }
    }
}

fn write_joined(f: &mut fmt::Formatter<'_>, items: &[Query], separator: &str) -> fmt::Result {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            f.write_str(separator)?;
        }
        let grouped = matches!(item, Query::And(_) | Query::Or(_));
        write_operand(f, item, grouped)?;
    }
    Ok(())
}

fn write_operand(f: &mut fmt::Formatter<'_>, query: &Query, grouped: bool) -> fmt::Result {
    if grouped {
        write!(f, "({query})")
    } else {
        write!(f, "{query}")
    }
}

/// A field value that would not survive as a bare word must be quoted.
fn needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '(' | ')' | '"'))
}

impl FromStr for Query {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(text)
    }
}

/// Queries travel (API, database) as their canonical text.
impl Serialize for Query {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Query {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as ValueError, StrDeserializer};

    use super::*;

    fn deserialize(text: &str) -> Result<Query, ValueError> {
        let deserializer: StrDeserializer<'_, ValueError> = text.into_deserializer();
        Query::deserialize(deserializer)
    }

    #[test]
    fn deserializes_from_query_text_and_rejects_invalid_text() {
        assert_eq!(
            deserialize("zara -empleo").unwrap(),
            parse("zara AND NOT empleo").unwrap()
        );
        let error = deserialize("(zara").unwrap_err().to_string();
        assert!(error.contains("column 6"), "{error}");
    }
}
