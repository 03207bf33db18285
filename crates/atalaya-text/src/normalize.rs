//! Normalization for social text: a tokenizer that knows URLs, handles, hashtags, emoji,
//! emoticons and laughter, and marks negation scope, intensifiers and elongations.
//!
//! Every token keeps its byte span in the original text (for explanations) and two
//! normalized forms: `lower` (lower-cased, elongations squeezed, accents kept — for display
//! and language identification) and `folded` (the same with accents removed — for matching).
//! Folding goes through the canonical decomposition of each character, so NFC and NFD
//! input give the same tokens.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use unicode_normalization::is_nfc_quick;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Word,
    Hashtag,
    Handle,
    Url,
    Emoji,
    Emoticon,
    Laugh,
    Number,
    Punct,
}

/// One token of a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// Byte range in the original text.
    pub span: Range<usize>,
    /// Lower-cased, elongations squeezed to two letters, accents kept. For hashtags and
    /// handles, without the leading `#`/`@`.
    pub lower: String,
    /// `lower` with accents removed: the form used for matching.
    pub folded: String,
    /// A letter (or `!`/`?`) was repeated three times or more ("buenísimoooo", "!!!").
    pub elongated: bool,
    /// Written all in capitals, at least two letters ("GENIAL").
    pub shouted: bool,
    /// Inside the scope of a negation ("no me gusta nada": `me`, `gusta`, `nada`).
    pub negated: bool,
    /// Right after an intensifier ("muy bueno", "so good").
    pub intensified: bool,
}

/// The text in Unicode NFC, borrowed when it already is.
pub fn nfc(text: &str) -> Cow<'_, str> {
    if is_nfc_quick(text.chars()) == unicode_normalization::IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    }
}

/// Removes accents and other combining marks, after lower-casing (`"Canción"` → `"cancion"`).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_folded(text, &mut out);
    out
}

fn push_folded(lower: &str, out: &mut String) {
    for c in lower.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            decompose_canonical(c, |d| {
                if !is_combining_mark(d) {
                    out.push(d);
                }
            });
        }
    }
}

/// Squeezes runs of three or more equal characters to two; returns whether it did.
fn squeeze_into(lowered: impl Iterator<Item = char>, out: &mut String) -> bool {
    let mut squeezed = false;
    let mut last = None;
    let mut run = 0usize;
    for c in lowered {
        if Some(c) == last {
            run += 1;
        } else {
            last = Some(c);
            run = 1;
        }
        if run <= 2 {
            out.push(c);
        } else {
            squeezed = true;
        }
    }
    squeezed
}

/// Squeezes runs of two or more equal characters to one ("buenisimoo" → "buenisimo").
pub fn squeeze_to_one(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = None;
    for c in text.chars() {
        if Some(c) != last {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

/// Whether a character is drawn as an emoji (pictographs, symbols, flags, dingbats).
pub fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF
        | 0x2600..=0x27BF
        | 0x2B00..=0x2BFF
        | 0x2300..=0x23FF
        | 0x2190..=0x21FF
        | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139)
}

/// Characters that attach to the emoji before them (ZWJ, variation selectors, skin tones).
fn is_emoji_modifier(c: char) -> bool {
    matches!(c as u32, 0x200D | 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF | 0x20E3 | 0xE0020..=0xE007F)
}

/// Emoticons, longest first so that `:-)` wins over `:-`.
const EMOTICONS: &[&str] = &[
    ">:-(", ":'-(", ":'-)", "^_^", "^.^", "-_-", "u_u", "T_T", ";_;", "<\\3", "</3", ":-))", ":))",
    ":((", ":-)", ":-(", ":-d", ":-D", ":-p", ":-P", ":-/", ":-|", ":-o", ":-O", ";-)", ">:(",
    ":'(", ":')", "=))", ":)", ":(", ":D", ":d", ":P", ":p", ":/", ":|", ":o", ":O", ";)", ";(",
    ";D", ";p", ";P", "=)", "=(", "=D", "=/", ":3", ":c", ":v", ":s", ":S", "<3", "^^", "D:", "xD",
    "XD", "xd", "Xd", "x)", "8)",
];

/// Words that open a negation scope.
const NEGATORS: &[&str] = &[
    // Spanish
    "no", "nunca", "jamas", "ni", "tampoco", "sin", "nadie", "ningun", "ninguno", "ninguna", "nada",
    // English
    "not", "never", "nor", "without", "nobody", "nothing", "neither", "cannot", "cant", "dont",
    "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "wouldnt", "shouldnt",
    "couldnt", "aint", "havent", "hasnt", "hadnt", "n't",
];

/// Words that close a negation scope before its length runs out.
const SCOPE_BREAKERS: &[&str] = &[
    "pero", "sino", "aunque", "but", "however", "although", "though",
];

/// Words that strengthen the next one.
const INTENSIFIERS: &[&str] = &[
    "muy",
    "mucho",
    "muchisimo",
    "demasiado",
    "super",
    "re",
    "tan",
    "bastante",
    "sumamente",
    "totalmente",
    "realmente",
    "very",
    "so",
    "really",
    "too",
    "extremely",
    "totally",
    "absolutely",
    "super",
    "soo",
    "sooo",
    "incredibly",
    "most",
    "such",
    "mega",
    "ultra",
    "bien",
];

/// How many words a negation reaches at most.
const NEGATION_REACH: usize = 4;

/// What a word does to the scopes around it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScopeRole {
    Negator,
    Breaker,
    Intensifier,
}

fn scope_role(folded: &str) -> Option<ScopeRole> {
    static TABLE: OnceLock<HashMap<&'static str, ScopeRole>> = OnceLock::new();
    // Every listed word is at most 11 bytes long: longer words skip the lookup.
    if folded.len() > 12 {
        return None;
    }
    let table = TABLE.get_or_init(|| {
        let mut table = HashMap::new();
        for word in INTENSIFIERS {
            table.insert(*word, ScopeRole::Intensifier);
        }
        for word in SCOPE_BREAKERS {
            table.insert(*word, ScopeRole::Breaker);
        }
        for word in NEGATORS {
            table.insert(*word, ScopeRole::Negator);
        }
        table
    });
    match table.get(folded) {
        Some(role) => Some(*role),
        None if folded.ends_with("n't") => Some(ScopeRole::Negator),
        None => None,
    }
}

/// Whether a folded word is laughter: "jajaja", "jejeje", "jsjs", "hahaha", "lol", "lmao", "kkkk".
pub fn is_laugh(folded: &str) -> bool {
    if matches!(
        folded,
        "lol" | "lool" | "lmao" | "lmfao" | "rofl" | "xd" | "xdd" | "xddd" | "jaj" | "jej"
    ) {
        return true;
    }
    let bytes = folded.as_bytes();
    if bytes.len() >= 4 && bytes.iter().all(|&b| b == b'k') {
        return true;
    }
    if bytes.len() < 4 {
        return false;
    }
    // Alternating consonant (j/h/s) and vowel (a/e/i/o), allowing doubled letters after squeezing.
    let consonant = |b: u8| matches!(b, b'j' | b'h' | b's');
    let vowel = |b: u8| matches!(b, b'a' | b'e' | b'i' | b'o');
    let mut consonants = 0;
    let mut vowels = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if consonant(b) {
            consonants += 1;
        } else if vowel(b) {
            vowels += 1;
        } else {
            return false;
        }
        if i > 0 {
            let previous = bytes[i - 1];
            // "jj" or "aa" are fine (squeezed elongations) but "ha" must alternate overall.
            if consonant(previous)
                && consonant(b)
                && previous != b
                && !(previous == b'j' && b == b's' || previous == b's' && b == b'j')
            {
                return false;
            }
        }
    }
    consonants >= 2 && (vowels >= 1 || folded.starts_with("js"))
}

/// Splits a post into tokens and marks negation, intensifiers and elongations.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(text.len() / 4 + 1);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let Some(c) = rest.chars().next() else { break };
        if c.is_whitespace() || c.is_control() || is_emoji_modifier(c) {
            i += c.len_utf8();
            continue;
        }
        // URLs
        if starts_with_ignore_ascii_case(rest, "http://")
            || starts_with_ignore_ascii_case(rest, "https://")
            || starts_with_ignore_ascii_case(rest, "www.")
        {
            let end = i + rest.find(char::is_whitespace).unwrap_or(rest.len());
            push(&mut tokens, text, TokenKind::Url, i..end, "url".into());
            i = end;
            continue;
        }
        // Handles and hashtags
        if (c == '@' || c == '#' || c == '＃') && (i == 0 || !is_word_char(previous_char(text, i)))
        {
            let after = i + c.len_utf8();
            let end = after + word_len(&text[after..], false);
            if end > after {
                let kind = if c == '@' {
                    TokenKind::Handle
                } else {
                    TokenKind::Hashtag
                };
                let body = &text[after..end];
                push_word_like(&mut tokens, text, kind, i..end, body);
                i = end;
                continue;
            }
        }
        // Emoticons (not inside a word)
        if matches!(
            c,
            ':' | ';' | '=' | '<' | '>' | '^' | '-' | 'x' | 'X' | 'D' | 'T' | 'u' | '8'
        ) && (i == 0 || !is_word_char(previous_char(text, i)))
            && let Some(emoticon) = EMOTICONS.iter().find(|e| rest.starts_with(**e))
        {
            let end = i + emoticon.len();
            let next = text[end..].chars().next();
            let standalone = next.is_none_or(|n| !n.is_alphanumeric())
                || !emoticon.chars().last().is_some_and(char::is_alphanumeric);
            if standalone {
                // Absorb repeated closing characters (":)))", ":DDD").
                let last = emoticon.chars().last().unwrap_or(')');
                let mut stop = end;
                while text[stop..].starts_with(last) && !last.is_whitespace() {
                    stop += last.len_utf8();
                }
                let canonical = canonical_emoticon(emoticon);
                push(
                    &mut tokens,
                    text,
                    TokenKind::Emoticon,
                    i..stop,
                    canonical.into(),
                );
                if let Some(t) = tokens.last_mut() {
                    t.elongated = stop > end;
                }
                i = stop;
                continue;
            }
        }
        // Emoji (with their modifiers and ZWJ sequences)
        if is_emoji(c) {
            let mut end = i + c.len_utf8();
            while let Some(n) = text[end..].chars().next() {
                if is_emoji_modifier(n) {
                    end += n.len_utf8();
                    if n == '\u{200D}'
                        && let Some(m) = text[end..].chars().next()
                        && is_emoji(m)
                    {
                        end += m.len_utf8();
                    }
                } else if (0x1F1E6..=0x1F1FF).contains(&(c as u32))
                    && (0x1F1E6..=0x1F1FF).contains(&(n as u32))
                    && end == i + c.len_utf8()
                {
                    end += n.len_utf8(); // regional-indicator flag pair
                } else {
                    break;
                }
            }
            // The base pictograph identifies the emoji; skin tones and selectors do not.
            push(&mut tokens, text, TokenKind::Emoji, i..end, c.to_string());
            i = end;
            continue;
        }
        // Words and numbers
        if is_word_char(c) {
            let end = i + word_len(rest, true);
            let end = end.max(i + c.len_utf8());
            let body = &text[i..end];
            let kind = if body
                .chars()
                .all(|ch| ch.is_numeric() || ch == '.' || ch == ',')
            {
                TokenKind::Number
            } else {
                TokenKind::Word
            };
            push_word_like(&mut tokens, text, kind, i..end, body);
            i = end;
            continue;
        }
        // Punctuation: a run of the same character is one token.
        let mut end = i + c.len_utf8();
        while text[end..].starts_with(c) {
            end += c.len_utf8();
        }
        let _ = bytes;
        push(&mut tokens, text, TokenKind::Punct, i..end, c.to_string());
        if let Some(t) = tokens.last_mut() {
            t.elongated = text[i..end].chars().count() >= 3
                || (matches!(c, '!' | '?') && end - i >= 2 * c.len_utf8());
        }
        i = end;
    }
    mark_scopes(&mut tokens);
    tokens
}

fn canonical_emoticon(e: &str) -> &'static str {
    match e {
        ":)" | ":-)" | "=)" | ":))" | ":-))" | "=))" | "^^" | "^_^" | "^.^" | ":3" | "x)"
        | "8)" | ":')" | ":'-)" => ":)",
        ":D" | ":d" | ":-D" | ":-d" | "=D" | ";D" | "xD" | "XD" | "xd" | "Xd" => ":D",
        ";)" | ";-)" | ";p" | ";P" => ";)",
        ":(" | ":-(" | "=(" | ":((" | ">:(" | ">:-(" | ":c" | ";(" => ":(",
        ":'(" | ":'-(" | "T_T" | ";_;" | "u_u" | "D:" => ":'(",
        ":P" | ":p" | ":-p" | ":-P" => ":p",
        ":/" | ":-/" | "=/" | ":s" | ":S" | "-_-" | ":|" | ":-|" => ":/",
        ":o" | ":O" | ":-o" | ":-O" => ":o",
        "<3" => "<3",
        "</3" | "<\\3" => "</3",
        ":v" => ":v",
        _ => ":)",
    }
}

fn starts_with_ignore_ascii_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn previous_char(text: &str, i: usize) -> char {
    text[..i].chars().next_back().unwrap_or(' ')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || is_combining_mark(c)
}

/// Length in bytes of the word at the start of `text`. With `inner_marks`, apostrophes and
/// hyphens between letters stay inside ("don't", "l'amour", "e-mail").
fn word_len(text: &str, inner_marks: bool) -> usize {
    let mut end = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if is_word_char(c) {
            end = at + c.len_utf8();
        } else if inner_marks && matches!(c, '\'' | '’' | '-') && end == at && at > 0 {
            match chars.peek() {
                Some(&(_, n)) if n.is_alphabetic() => {}
                _ => break,
            }
        } else if inner_marks && c == '.' && end == at && at > 0 {
            // Decimal numbers ("1.000.000")
            let previous_digit = text[..at]
                .chars()
                .next_back()
                .is_some_and(|p| p.is_ascii_digit());
            match chars.peek() {
                Some(&(_, n)) if previous_digit && n.is_ascii_digit() => {}
                _ => break,
            }
        } else {
            break;
        }
    }
    end
}

fn push(tokens: &mut Vec<Token>, _text: &str, kind: TokenKind, span: Range<usize>, normal: String) {
    tokens.push(Token {
        kind,
        span,
        folded: normal.clone(),
        lower: normal,
        elongated: false,
        shouted: false,
        negated: false,
        intensified: false,
    });
}

fn push_word_like(
    tokens: &mut Vec<Token>,
    _text: &str,
    kind: TokenKind,
    span: Range<usize>,
    body: &str,
) {
    let mut lower = String::with_capacity(body.len());
    let elongated = squeeze_into(body.chars().flat_map(char::to_lowercase), &mut lower);
    let lower = if lower.contains('’') {
        lower.replace('’', "'")
    } else {
        lower
    };
    let mut folded = String::with_capacity(lower.len());
    push_folded(&lower, &mut folded);
    let mut letters = 0;
    let mut upper = 0;
    for c in body.chars() {
        if c.is_alphabetic() {
            letters += 1;
            if c.is_uppercase() {
                upper += 1;
            }
        }
    }
    let kind = if kind == TokenKind::Word && is_laugh(&folded) {
        TokenKind::Laugh
    } else {
        kind
    };
    let kind = if kind == TokenKind::Word && matches!(folded.as_str(), "xd" | "xdd") {
        TokenKind::Emoticon
    } else {
        kind
    };
    tokens.push(Token {
        kind,
        span,
        lower,
        folded,
        elongated,
        shouted: letters >= 2 && upper == letters,
        negated: false,
        intensified: false,
    });
}

fn mark_scopes(tokens: &mut [Token]) {
    let mut reach = 0usize;
    let mut intensify_next = false;
    for token in tokens.iter_mut() {
        match token.kind {
            TokenKind::Word | TokenKind::Hashtag => {
                let role = scope_role(token.folded.as_str());
                if role == Some(ScopeRole::Breaker) {
                    reach = 0;
                    intensify_next = false;
                    continue;
                }
                let negator = role == Some(ScopeRole::Negator);
                // Spanish negative concord: "no me gusta nada" keeps "nada" in the scope.
                if reach > 0 {
                    token.negated = true;
                    reach -= 1;
                }
                if intensify_next {
                    token.intensified = true;
                }
                intensify_next = role == Some(ScopeRole::Intensifier);
                if negator {
                    reach = NEGATION_REACH;
                }
            }
            TokenKind::Punct => {
                if matches!(
                    token.lower.as_str(),
                    "." | "," | "!" | "?" | ";" | ":" | "¡" | "¿" | "…"
                ) {
                    reach = 0;
                    intensify_next = false;
                }
            }
            TokenKind::Url | TokenKind::Handle | TokenKind::Number => {}
            TokenKind::Emoji | TokenKind::Emoticon | TokenKind::Laugh => {
                reach = 0;
                intensify_next = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TokenKind, String)> {
        tokenize(text)
            .into_iter()
            .map(|t| (t.kind, t.folded))
            .collect()
    }

    #[test]
    fn social_tokens() {
        use TokenKind::*;
        assert_eq!(
            kinds("@ana mira https://x.co/a #Fútbol jajajaja :) 😍😍"),
            vec![
                (Handle, "ana".into()),
                (Word, "mira".into()),
                (Url, "url".into()),
                (Hashtag, "futbol".into()),
                (Laugh, "jajajaja".into()),
                (Emoticon, ":)".into()),
                (Emoji, "😍".into()),
                (Emoji, "😍".into()),
            ]
        );
    }

    #[test]
    fn elongation_and_accents() {
        let tokens = tokenize("Buenísimoooo sooo GOOD");
        assert_eq!(tokens[0].lower, "buenísimoo");
        assert_eq!(tokens[0].folded, "buenisimoo");
        assert!(tokens[0].elongated);
        assert_eq!(tokens[1].folded, "soo");
        assert!(tokens[2].shouted);
    }

    #[test]
    fn nfd_and_nfc_fold_alike() {
        let nfd: String = "canción".nfd().collect();
        assert_eq!(tokenize(&nfd)[0].folded, tokenize("canción")[0].folded);
    }

    #[test]
    fn negation_scope() {
        let tokens = tokenize("no me gusta nada. Pero bien");
        let negated: Vec<_> = tokens
            .iter()
            .filter(|t| t.negated)
            .map(|t| t.folded.as_str())
            .collect();
        assert_eq!(negated, vec!["me", "gusta", "nada"]);
        let tokens = tokenize("not bad at all, but ok");
        let negated: Vec<_> = tokens
            .iter()
            .filter(|t| t.negated)
            .map(|t| t.folded.as_str())
            .collect();
        assert_eq!(negated, vec!["bad", "at", "all"]);
        let tokens = tokenize("I don't like it");
        assert!(tokens.iter().any(|t| t.folded == "like" && t.negated));
    }

    #[test]
    fn laughter() {
        for laugh in [
            "jajaja", "jeje", "jajsjs", "hahaha", "lol", "jsjsjs", "kkkkk", "JAJAJAJ",
        ] {
            assert!(is_laugh(&fold(&laugh.to_lowercase())), "{laugh}");
        }
        for word in ["hola", "jaja1", "she", "hash", "haha_"] {
            assert!(!is_laugh(word), "{word}");
        }
    }
}
