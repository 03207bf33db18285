//! What one match may cost: the analysed prefix of a mention and the work
//! budget of each topic's evaluation.
//!
//! Mention texts come from strangers and queries from any manager, so neither
//! may decide how long matching takes. Two limits make the cost of a match
//! bounded and predictable:
//!
//! - only the first [`MatchLimits::analysed_chars`] characters of a mention
//!   are matched (the whole text is still stored and shown);
//! - every topic's evaluation on a mention counts its work in abstract *work
//!   units* (one per hit considered, per 64-bit word of phrase state, per
//!   occurrence produced, per step of a wildcard…) and stops with
//!   [`TooExpensive`] when it would pass `base_work + work_per_char ×
//!   analysed characters`.
//!
//! The matcher's algorithms are linear in the text for phrases and for
//! existence checks of `NEAR` (see `matcher.rs`); the budget bounds what is
//! not, such as the stretches of a nested `NEAR` with a huge distance on a
//! text full of its words. A normal topic on a normal post uses well under 1 %
//! of its budget.

use super::ast::Query;
use super::matcher::{Document, QuerySet};
use super::parser::MessageLang;

/// How much of a mention is matched and how much work a topic may spend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchLimits {
    /// Characters of the mention's text that are tokenized and matched.
    pub analysed_chars: usize,
    /// Work units a topic may spend per analysed character…
    pub work_per_char: u64,
    /// …plus this many for any text, however short.
    pub base_work: u64,
}

/// Characters of a mention that matching looks at: a long article still has
/// its opening (where brands and topics are named) matched, and a 100,000
/// character text costs what a 20,000 character one does.
pub const ANALYSED_TEXT_CHARS: usize = 20_000;

impl MatchLimits {
    /// The limits the pipeline and the editor use.
    pub const DEFAULT: MatchLimits = MatchLimits {
        analysed_chars: ANALYSED_TEXT_CHARS,
        work_per_char: 64,
        base_work: 16_384,
    };

    /// No work limit (the analysed prefix stays): for measuring work in tests
    /// and benchmarks, never for text from strangers.
    pub const UNMETERED: MatchLimits = MatchLimits {
        analysed_chars: ANALYSED_TEXT_CHARS,
        work_per_char: u64::MAX,
        base_work: u64::MAX,
    };

    /// The work limit of one topic on a text of `chars` analysed characters.
    pub fn work_limit(&self, chars: usize) -> u64 {
        let chars = u64::try_from(chars).unwrap_or(u64::MAX);
        self.work_per_char
            .saturating_mul(chars)
            .saturating_add(self.base_work)
    }
}

impl Default for MatchLimits {
    fn default() -> MatchLimits {
        MatchLimits::DEFAULT
    }
}

/// A topic's query needed more work on a mention than its budget allows; the
/// topic is not matched on that mention (the mention itself is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the query needs more than {limit} work units on a text of {chars} characters")]
pub struct TooExpensive {
    /// The budget that was exhausted.
    pub limit: u64,
    /// Analysed characters of the text it was matched on.
    pub chars: usize,
}

impl TooExpensive {
    /// The explanation for the person who wrote the query, in their language.
    pub fn message(&self, lang: MessageLang) -> String {
        match lang {
            MessageLang::En => "this query is too expensive to match: it needs too much work on \
                 a long mention. Use shorter phrases, fewer repeated words or smaller NEAR \
                 distances."
                .to_owned(),
            MessageLang::Es => "esta consulta es demasiado costosa de comprobar: necesita \
                 demasiado trabajo en una mención larga. Usa frases más cortas, menos palabras \
                 repetidas o distancias NEAR más pequeñas."
                .to_owned(),
        }
    }
}

/// Whether `query` stays within its budget on the worst text a stranger can
/// easily send it: its own words, repeated to the analysed length. The
/// editor refuses a query that fails here, so a saved topic is rarely
/// skipped in the pipeline (where the same budget applies mention by mention).
///
/// # Errors
/// [`TooExpensive`] when matching that text needs more than the budget.
pub fn check_cost(query: &Query) -> Result<(), TooExpensive> {
    let mut words = Vec::new();
    collect_words(query, &mut words);
    if words.is_empty() {
        return Ok(());
    }
    let limits = MatchLimits::DEFAULT;
    let mut text = String::with_capacity(limits.analysed_chars + 64);
    let mut chars = 0;
    'fill: loop {
        for word in &words {
            if chars >= limits.analysed_chars {
                break 'fill;
            }
            text.push_str(word);
            text.push(' ');
            chars += word.chars().count() + 1;
        }
    }
    let set = QuerySet::compile([((), query.clone())]);
    let matches = set.matches(&Document::new(&text));
    if matches.too_expensive.is_empty() {
        Ok(())
    } else {
        let chars = text[..matches.analysed_bytes].chars().count();
        Err(TooExpensive {
            limit: limits.work_limit(chars),
            chars,
        })
    }
}

/// The words a query looks for, as a text would contain them (wildcards
/// filled in), negated ones included: they cost work too.
fn collect_words(query: &Query, words: &mut Vec<String>) {
    let mut push = |written: &str| {
        let word: String = written
            .chars()
            .filter(|&c| c != '*')
            .map(|c| if c == '?' { 'x' } else { c })
            .collect();
        if word.chars().any(char::is_alphanumeric) {
            words.push(word);
        }
    };
    match query {
        Query::Term(term) => push(&term.text),
        Query::Phrase(phrase) => phrase.text.split_whitespace().for_each(push),
        Query::And(items) | Query::Or(items) => {
            for item in items {
                collect_words(item, words);
            }
        }
        Query::Not(inner) => collect_words(inner, words),
        Query::Near { left, right, .. } => {
            collect_words(left, words);
            collect_words(right, words);
        }
        Query::Field(_) => {}
    }
}

/// The running work count of one evaluation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Work {
    used: u64,
    limit: u64,
    chars: usize,
}

impl Work {
    pub(crate) fn new(limit: u64, chars: usize) -> Work {
        Work {
            used: 0,
            limit,
            chars,
        }
    }

    /// Counts `units` of work about to be done, failing instead when they
    /// would overrun the budget (they are then not done, nor counted).
    pub(crate) fn charge(&mut self, units: u64) -> Result<(), TooExpensive> {
        let after = self.used.saturating_add(units);
        if after > self.limit {
            Err(TooExpensive {
                limit: self.limit,
                chars: self.chars,
            })
        } else {
            self.used = after;
            Ok(())
        }
    }

    /// Counts `count` items handled with a binary search or a sort each.
    pub(crate) fn charge_logarithmic(
        &mut self,
        count: usize,
        among: usize,
    ) -> Result<(), TooExpensive> {
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        let log = u64::from(usize::BITS - among.leading_zeros()).max(1);
        self.charge(count.saturating_mul(log))
    }

    pub(crate) fn used(&self) -> u64 {
        self.used
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::query::parse;

    #[test]
    fn queries_too_expensive_on_their_own_words_are_refused() {
        let check = |query: &str, expected: bool| {
            let parsed = parse(query).unwrap();
            assert_eq!(check_cost(&parsed).is_ok(), expected, "{query}");
        };
        check("zara NEAR/50 tienda", true);
        check(
            "(zara OR mango) NEAR/5 (tienda NEAR/3 cerrada) -empleo",
            true,
        );
        check("\"atención al cliente\" OR conect* OR #rebajas", true);
        check("NOT spam", true);
        check("lang:es", true);
        check(&format!("\"{}\"", vec!["a"; 1_999].join(" ")), false);
        check("(precio NEAR/1000000 alto) NEAR/0 precio", false);
        for (_, query) in crate::query::bench::generated_topics(300, 5) {
            assert!(check_cost(&query).is_ok(), "{query}");
        }
    }

    #[test]
    fn the_budget_grows_with_the_text_and_saturates() {
        let limits = MatchLimits::DEFAULT;
        assert_eq!(limits.work_limit(0), 16_384);
        assert_eq!(limits.work_limit(1_000), 16_384 + 64_000);
        assert_eq!(MatchLimits::UNMETERED.work_limit(20_000), u64::MAX);
        let mut work = Work::new(10, 3);
        assert!(work.charge(10).is_ok());
        assert_eq!(
            work.charge(1),
            Err(TooExpensive {
                limit: 10,
                chars: 3
            })
        );
        assert_eq!(work.used(), 10);
        assert!(
            TooExpensive { limit: 1, chars: 1 }
                .message(MessageLang::Es)
                .starts_with("esta consulta")
        );
    }
}
