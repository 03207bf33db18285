//! Search terms that cover a query: words to ask a network's search for, so
//! that every post the query can match is among the results.
//!
//! Networks search by words, not by our query language, so a topic is
//! translated to a *cover*: a set of terms such that any text the query
//! matches contains at least one of them. The network searches each term;
//! our matcher then decides exactly. `AND` needs the cover of one side (the
//! smallest), `OR` the union of all sides, `NEAR` either side; `NOT`, field
//! filters and wildcards have no cover (a network cannot search "anything but
//! x" or "conect*"), so a query that depends on them alone gives `None`.

use super::ast::Query;

/// The smallest cover this module finds for `query`, or `None` when it has none.
/// Terms are lower-cased; phrases keep their quotes; hashtags and handles their sigil.
pub fn search_cover(query: &Query) -> Option<Vec<String>> {
    let mut terms = cover(query)?;
    terms.sort();
    terms.dedup();
    Some(terms)
}

fn cover(query: &Query) -> Option<Vec<String>> {
    match query {
        Query::Term(term) => {
            if term.text.contains(['*', '?']) {
                return None;
            }
            Some(vec![term.text.to_lowercase()])
        }
        Query::Phrase(phrase) => Some(vec![format!("\"{}\"", phrase.text.to_lowercase())]),
        Query::Or(items) => {
            let mut all = Vec::new();
            for item in items {
                all.extend(cover(item)?);
            }
            Some(all)
        }
        Query::And(items) => items
            .iter()
            .filter_map(cover)
            .min_by_key(|terms| (terms.len(), terms.iter().map(String::len).sum::<usize>())),
        Query::Near { left, right, .. } => match (cover(left), cover(right)) {
            (Some(left), Some(right)) => Some(if right.len() < left.len() {
                right
            } else {
                left
            }),
            (Some(one), None) | (None, Some(one)) => Some(one),
            (None, None) => None,
        },
        Query::Not(_) | Query::Field(_) => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::query::parse;

    fn check(query: &str, expected: Option<&[&str]>) {
        let parsed = parse(query).unwrap();
        let got = search_cover(&parsed);
        let expected =
            expected.map(|terms| terms.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>());
        assert_eq!(got, expected, "query: {query}");
    }

    #[test]
    fn covers() {
        check("Aurora", Some(&["aurora"]));
        check("\"Café Aurora\"", Some(&["\"café aurora\""]));
        check(
            "aurora OR #CafeAurora OR @aurora",
            Some(&["#cafeaurora", "@aurora", "aurora"]),
        );
        // AND: one side is enough; the smaller cover wins.
        check("(cafe OR coffee OR té) AND aurora", Some(&["aurora"]));
        check("aurora -decaf", Some(&["aurora"]));
        check("aurora NEAR/3 (latte OR mocha)", Some(&["aurora"]));
        check("site:example.com aurora", Some(&["aurora"]));
        // Nothing a search engine can look for.
        check("-aurora", None);
        check("conect*", None);
        check("lang:es", None);
        check("aurora OR conect*", None);
        check("conect* AND aurora", Some(&["aurora"]));
    }

    /// The property the worker relies on: whatever the query matches contains a cover term.
    #[test]
    fn every_match_contains_a_cover_term() {
        use crate::query::{Document, QuerySet};
        let cases = [
            (
                "(cafe OR coffee) AND aurora",
                "Great coffee at Aurora today",
            ),
            ("aurora NEAR/2 latte", "latte from the aurora shop"),
            (
                "\"café aurora\" OR #auroracafe",
                "Loving #AuroraCafe this morning",
            ),
        ];
        for (query, text) in cases {
            let parsed = parse(query).unwrap();
            let set = QuerySet::compile([(1_u32, parsed.clone())]);
            assert!(
                !set.matches(&Document::new(text)).is_empty(),
                "{query} should match {text}"
            );
            let lower = text.to_lowercase();
            let terms = search_cover(&parsed).unwrap();
            assert!(
                terms
                    .iter()
                    .any(|term| lower.contains(term.trim_matches('"'))),
                "{terms:?} / {text}"
            );
        }
    }
}
