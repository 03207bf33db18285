//! The span-preserving tokenizer that query matching runs on.
//!
//! A mention is split once into tokens that remember their byte range in the
//! original text (so matches can be highlighted), their word position (for
//! phrases and `NEAR/n`) and a folded form: NFD-decomposed, combining marks
//! dropped, lower-cased — so `Café`, `CAFE` and `cafe` compare equal.
//!
//! Token kinds: words, `#hashtags`, `@handles` (with Bluesky/Mastodon dots and
//! `@instance` parts) and URLs (one token each, so their pieces never match
//! words). A word joined by hyphens or apostrophes (`coca-cola`, `McDonald's`)
//! yields each part at consecutive positions *and* the joined form spanning
//! them, which is how `coca-cola` in a query finds "coca cola" and "cocacola".
//!
//! This is deliberately separate from the sentiment tokenizer: matching needs
//! byte spans and positions, and its folding rules are part of the query
//! language's documented behaviour.

use unicode_normalization::char::is_combining_mark;

/// What a token is; query terms choose which kinds they match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    Word,
    Hashtag,
    Handle,
    Url,
}

/// One token of a mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// Byte range in the original text (for a hashtag or handle it includes
    /// the `#`/`@`).
    pub start: u32,
    pub end: u32,
    /// Byte range of the folded form in [`Tokens::folded`]'s arena (without
    /// the `#`/`@`).
    folded_start: u32,
    folded_end: u32,
    /// Word positions covered: equal for a single word, wider for the joined
    /// form of a hyphenated word.
    pub first_position: u32,
    pub last_position: u32,
    /// The joined form of a hyphenated/apostrophised word.
    pub joined: bool,
}

/// The tokens of one text, kept in reusable buffers.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    tokens: Vec<Token>,
    arena: String,
    /// Byte range of the one token that is not a joined form at each word
    /// position: a stretch of positions maps to bytes without a search.
    positions: Vec<(u32, u32)>,
}

/// Characters that continue a word.
pub(crate) fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    // Latin-1 letters (Spanish accents, ñ, ç…) skip the Unicode table lookup.
    if ('\u{C0}'..='\u{FF}').contains(&c) {
        return c != '\u{D7}' && c != '\u{F7}';
    }
    c.is_alphanumeric() || is_combining_mark(c)
}

/// Characters that join two word parts into a compound (`coca-cola`, `l'eau`).
pub(crate) fn is_connector(c: char) -> bool {
    matches!(c, '-' | '\'' | '\u{2019}' | '\u{2010}' | '\u{2011}')
}

/// Appends the folded form of `text` to `out`: the case- and accent-insensitive
/// comparison key. ASCII (most tokens) takes a fast path.
pub fn fold_into(text: &str, out: &mut String) {
    if text.is_ascii() {
        let start = out.len();
        out.push_str(text);
        out[start..].make_ascii_lowercase();
        return;
    }
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if let Some(base) = fold_latin1(c) {
            out.push(base);
        } else {
            // Decomposing char by char and dropping every mark gives the same
            // result as NFD of the whole text: canonical reordering only
            // moves marks, and all of them are dropped.
            unicode_normalization::char::decompose_canonical(c, |part| {
                if !is_combining_mark(part) {
                    out.extend(part.to_lowercase());
                }
            });
        }
    }
}

/// The fold of the precomposed Latin-1 letters Spanish and English text uses
/// most, without going through the decomposition tables. Must agree with the
/// general path (a unit test checks every character).
fn fold_latin1(c: char) -> Option<char> {
    let base = match c {
        'À'..='Å' | 'à'..='å' => 'a',
        'Ç' | 'ç' => 'c',
        'È'..='Ë' | 'è'..='ë' => 'e',
        'Ì'..='Ï' | 'ì'..='ï' => 'i',
        'Ñ' | 'ñ' => 'n',
        'Ò'..='Ö' | 'ò'..='ö' => 'o',
        'Ù'..='Ü' | 'ù'..='ü' => 'u',
        'Ý' | 'ý' | 'ÿ' => 'y',
        _ => return None,
    };
    Some(base)
}

/// The folded form of `text` as a new string.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

fn starts_with_ignore_ascii_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn to_u32(value: usize) -> u32 {
    // Mentions are far below 4 GiB; saturating keeps this total anyway.
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl Tokens {
    pub fn new() -> Tokens {
        Tokens::default()
    }

    /// Tokenizes `text`, replacing what the buffers held.
    pub fn tokenize(&mut self, text: &str) {
        self.tokens.clear();
        self.arena.clear();
        self.positions.clear();
        let mut position: u32 = 0;
        let mut index = 0;
        let bytes = text.as_bytes();
        while index < text.len() {
            let rest = &text[index..];
            let Some(c) = rest.chars().next() else { break };
            let at_boundary =
                index == 0 || !text[..index].chars().next_back().is_some_and(is_word_char);
            if at_boundary
                && (starts_with_ignore_ascii_case(rest, "http://")
                    || starts_with_ignore_ascii_case(rest, "https://")
                    || starts_with_ignore_ascii_case(rest, "www."))
            {
                index = self.push_url(text, index, position);
                position += 1;
                continue;
            }
            if (c == '#' || c == '@') && at_boundary {
                let body = index + 1;
                let body_end = if c == '#' {
                    word_run_end(text, body)
                } else {
                    handle_end(text, body)
                };
                if body_end > body {
                    let kind = if c == '#' {
                        TokenKind::Hashtag
                    } else {
                        TokenKind::Handle
                    };
                    self.push(kind, text, index, body, body_end, position, position, false);
                    position += 1;
                    index = body_end;
                    continue;
                }
            }
            if is_word_char(c) {
                index = self.push_word(text, index, &mut position);
                continue;
            }
            index += if bytes[index].is_ascii() {
                1
            } else {
                c.len_utf8()
            };
        }
    }

    /// The tokens in text order (a joined form follows its parts).
    pub fn as_slice(&self) -> &[Token] {
        &self.tokens
    }

    /// The folded form of `token` (without `#`/`@`).
    pub fn folded(&self, token: &Token) -> &str {
        &self.arena[token.folded_start as usize..token.folded_end as usize]
    }

    /// How many word positions the text has.
    pub fn position_count(&self) -> u32 {
        to_u32(self.positions.len())
    }

    /// The bytes of the words at positions `first..=last` (both must exist).
    pub fn stretch_bytes(&self, first: u32, last: u32) -> std::ops::Range<usize> {
        let start = self.positions[first as usize].0 as usize;
        let end = self.positions[last as usize].1 as usize;
        start..end
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: TokenKind,
        text: &str,
        start: usize,
        fold_start: usize,
        end: usize,
        first_position: u32,
        last_position: u32,
        joined: bool,
    ) {
        let folded_start = self.arena.len();
        if joined {
            for piece in text[fold_start..end].split(is_connector) {
                fold_into(piece, &mut self.arena);
            }
        } else {
            fold_into(&text[fold_start..end], &mut self.arena);
        }
        if !joined {
            self.positions.push((to_u32(start), to_u32(end)));
        }
        self.tokens.push(Token {
            kind,
            start: to_u32(start),
            end: to_u32(end),
            folded_start: to_u32(folded_start),
            folded_end: to_u32(self.arena.len()),
            first_position,
            last_position,
            joined,
        });
    }

    fn push_url(&mut self, text: &str, start: usize, position: u32) -> usize {
        let raw_end = text[start..]
            .char_indices()
            .find(|&(_, c)| c.is_whitespace())
            .map_or(text.len(), |(offset, _)| start + offset);
        // Sentence punctuation after a link is not part of it.
        let trimmed = text[start..raw_end]
            .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}', '"', '\'', '»']);
        let end = start + trimmed.len();
        self.push(
            TokenKind::Url,
            text,
            start,
            start,
            end,
            position,
            position,
            false,
        );
        raw_end.max(end)
    }

    /// Pushes a word, or the parts and joined form of a compound word, and
    /// returns where it ended.
    fn push_word(&mut self, text: &str, start: usize, position: &mut u32) -> usize {
        let first_position = *position;
        let mut part_start = start;
        let mut parts = 0;
        loop {
            let part_end = word_run_end(text, part_start);
            self.push(
                TokenKind::Word,
                text,
                part_start,
                part_start,
                part_end,
                *position,
                *position,
                false,
            );
            *position += 1;
            parts += 1;
            // A connector between two word characters continues the compound.
            let mut after = text[part_end..].chars();
            match (after.next(), after.next()) {
                (Some(connector), Some(next)) if is_connector(connector) && is_word_char(next) => {
                    part_start = part_end + connector.len_utf8();
                }
                _ => {
                    if parts > 1 {
                        self.push(
                            TokenKind::Word,
                            text,
                            start,
                            start,
                            part_end,
                            first_position,
                            *position - 1,
                            true,
                        );
                    }
                    return part_end;
                }
            }
        }
    }
}

fn word_run_end(text: &str, start: usize) -> usize {
    // ASCII letters and digits are most of any post: scan them as bytes.
    let bytes = text.as_bytes();
    let mut end = start;
    while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
        end += 1;
    }
    if end == bytes.len() || bytes[end].is_ascii() {
        return end;
    }
    text[end..]
        .char_indices()
        .find(|&(_, c)| !is_word_char(c))
        .map_or(text.len(), |(offset, _)| end + offset)
}

/// A handle is word characters, with `.`, `-` or `@` allowed between them
/// (`ana.bsky.social`, `ana@mastodon.social`).
fn handle_end(text: &str, start: usize) -> usize {
    let mut end = word_run_end(text, start);
    if end == start {
        return start;
    }
    loop {
        let mut after = text[end..].chars();
        match (after.next(), after.next()) {
            (Some(separator), Some(next))
                if matches!(separator, '.' | '-' | '@') && is_word_char(next) =>
            {
                end = word_run_end(text, end + separator.len_utf8());
            }
            _ => return end,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use unicode_normalization::UnicodeNormalization;

    use super::*;

    fn check(text: &str, expected: &[(&str, TokenKind, &str, u32, u32)]) {
        let mut tokens = Tokens::new();
        tokens.tokenize(text);
        let actual: Vec<(&str, TokenKind, &str, u32, u32)> = tokens
            .as_slice()
            .iter()
            .map(|token| {
                (
                    &text[token.start as usize..token.end as usize],
                    token.kind,
                    tokens.folded(token),
                    token.first_position,
                    token.last_position,
                )
            })
            .collect();
        assert_eq!(actual, expected, "tokens of {text:?}");
    }

    /// The reference definition of folding: NFD, drop marks, lower-case.
    fn reference_fold(text: &str) -> String {
        text.nfd()
            .filter(|&c| !is_combining_mark(c))
            .flat_map(char::to_lowercase)
            .collect()
    }

    #[test]
    fn fast_folding_agrees_with_the_definition() {
        for code in 0..0x3000_u32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let text = format!("a{c}\u{301}B");
            assert_eq!(fold(&text), reference_fold(&text), "U+{code:04X}");
        }
        let text = "Ñandú CAFÉ Ǆemal ﬁn Straße Ω İstanbul";
        assert_eq!(fold(text), reference_fold(text));
    }

    #[test]
    fn latin1_word_characters_agree_with_unicode() {
        for code in 0x80..0x100_u32 {
            let c = char::from_u32(code).unwrap();
            let expected = c.is_alphanumeric() || is_combining_mark(c);
            assert_eq!(is_word_char(c), expected, "U+{code:04X}");
        }
    }

    #[test]
    fn words_fold_case_and_accents() {
        use TokenKind::Word;
        check(
            "Café CORAZÓN",
            &[
                ("Café", Word, "cafe", 0, 0),
                ("CORAZÓN", Word, "corazon", 1, 1),
            ],
        );
        // Decomposed input keeps its combining mark inside the word.
        check(
            "Cafe\u{301} ya",
            &[
                ("Cafe\u{301}", Word, "cafe", 0, 0),
                ("ya", Word, "ya", 1, 1),
            ],
        );
    }

    #[test]
    fn hashtags_handles_and_urls_are_single_tokens() {
        use TokenKind::{Handle, Hashtag, Url, Word};
        check(
            "#Rebajas con @Ana.bsky.social: https://x.example/a?b=1.",
            &[
                ("#Rebajas", Hashtag, "rebajas", 0, 0),
                ("con", Word, "con", 1, 1),
                ("@Ana.bsky.social", Handle, "ana.bsky.social", 2, 2),
                (
                    "https://x.example/a?b=1",
                    Url,
                    "https://x.example/a?b=1",
                    3,
                    3,
                ),
            ],
        );
        check("a#b", &[("a", Word, "a", 0, 0), ("b", Word, "b", 1, 1)]);
    }

    #[test]
    fn compounds_yield_parts_and_joined_form() {
        use TokenKind::Word;
        check(
            "Coca-Cola's fans",
            &[
                ("Coca", Word, "coca", 0, 0),
                ("Cola", Word, "cola", 1, 1),
                ("s", Word, "s", 2, 2),
                ("Coca-Cola's", Word, "cocacolas", 0, 2),
                ("fans", Word, "fans", 3, 3),
            ],
        );
        check(
            "well- known",
            &[("well", Word, "well", 0, 0), ("known", Word, "known", 1, 1)],
        );
    }
}
