//! Rich-text facets: where links, mentions and hashtags sit in a post's text.
//!
//! Bluesky stores a post's text as plain text plus "facets" that point at
//! **UTF-8 byte** ranges (`byteStart` inclusive, `byteEnd` exclusive), never at
//! characters: an accent or an emoji before a link shifts it by more than one.
//! [`detect_facets`] is pure and follows the official client's rules closely
//! enough that what a person types renders the same way in the Bluesky app:
//! links must start with `http(s)://` and lose trailing sentence punctuation,
//! mentions need a domain-like handle, hashtags are not purely numeric and lose
//! trailing punctuation. Mentions still need their handle resolved to a DID
//! before they can be sent (see [`crate::bluesky::BlueskyClient::create_post`]).

/// Longest hashtag the network accepts, in characters (without the `#`).
pub const MAX_TAG_CHARS: usize = 64;

/// What a facet points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FacetTarget {
    /// An http(s) URL, exactly as typed.
    Link(String),
    /// A handle (without the `@`), still to be resolved to a DID.
    Mention(String),
    /// A hashtag (without the `#`).
    Tag(String),
}

/// A facet found in a text, on UTF-8 byte offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectedFacet {
    pub byte_start: usize,
    pub byte_end: usize,
    pub target: FacetTarget,
}

/// Finds the links, mentions and hashtags of `text`, in text order.
pub fn detect_facets(text: &str) -> Vec<DetectedFacet> {
    let mut facets = Vec::new();
    for (word_start, word) in words(text) {
        // A link or mention may open a parenthesis: "(see https://x.example)".
        let (offset, word) = match word.strip_prefix('(') {
            Some(rest) => (word_start + 1, rest),
            None => (word_start, word),
        };
        if let Some(facet) = link(offset, word)
            .or_else(|| mention(offset, word))
            .or_else(|| tag(word_start, text.get(word_start..).unwrap_or_default()))
        {
            facets.push(facet);
        }
    }
    facets
}

/// The whitespace-separated words of `text` with their byte offsets.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest_start = 0;
    std::iter::from_fn(move || {
        let rest = text.get(rest_start..)?;
        let skipped = rest.len() - rest.trim_start().len();
        let start = rest_start + skipped;
        let tail = text.get(start..)?;
        if tail.is_empty() {
            return None;
        }
        let length = tail.find(char::is_whitespace).unwrap_or(tail.len());
        rest_start = start + length;
        Some((start, &tail[..length]))
    })
}

fn link(offset: usize, word: &str) -> Option<DetectedFacet> {
    let lower = word.get(..8).unwrap_or(word).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return None;
    }
    let mut url = word;
    loop {
        let trimmed = url.trim_end_matches(['.', ',', ';', ':', '!', '?', '"', '\'']);
        // A closing parenthesis belongs to the URL only when it opened one
        // (Wikipedia links); otherwise it closes the sentence's parenthesis.
        let trimmed = match trimmed.strip_suffix(')') {
            Some(inner) if !inner.contains('(') => inner,
            _ => trimmed,
        };
        if trimmed.len() == url.len() {
            break;
        }
        url = trimmed;
    }
    let parsed = url::Url::parse(url).ok()?;
    parsed
        .host_str()
        .filter(|host| host.contains('.') || *host == "localhost")?;
    Some(DetectedFacet {
        byte_start: offset,
        byte_end: offset + url.len(),
        target: FacetTarget::Link(url.to_owned()),
    })
}

fn mention(offset: usize, word: &str) -> Option<DetectedFacet> {
    let rest = word.strip_prefix('@')?;
    let length = rest
        .find(|character: char| {
            !(character.is_ascii_alphanumeric() || matches!(character, '.' | '-'))
        })
        .unwrap_or(rest.len());
    // "@ana.example." at the end of a sentence: the dot is the sentence's.
    let handle = rest[..length].trim_end_matches(['.', '-']);
    if !is_handle(handle) {
        return None;
    }
    Some(DetectedFacet {
        byte_start: offset,
        byte_end: offset + 1 + handle.len(),
        target: FacetTarget::Mention(handle.to_ascii_lowercase()),
    })
}

/// A domain-like handle: two or more labels of letters, digits and inner
/// hyphens, the last one starting with a letter (so "@3.14" is not a handle).
fn is_handle(handle: &str) -> bool {
    let labels: Vec<&str> = handle.split('.').collect();
    labels.len() >= 2
        && handle.len() <= 253
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        && labels
            .last()
            .and_then(|tld| tld.chars().next())
            .is_some_and(|first| first.is_ascii_alphabetic())
}

/// `word` is the rest of the text from the word's start: a tag ends at whitespace.
fn tag(offset: usize, rest: &str) -> Option<DetectedFacet> {
    let hash_length = if rest.starts_with('#') {
        1
    } else if rest.starts_with('＃') {
        '＃'.len_utf8()
    } else {
        return None;
    };
    let body = &rest[hash_length..];
    let body = &body[..body.find(char::is_whitespace).unwrap_or(body.len())];
    let body = body.trim_end_matches(is_punctuation);
    if body.is_empty()
        || body.starts_with('\u{fe0f}')
        || body.chars().all(|character| character.is_ascii_digit())
        || body.chars().count() > MAX_TAG_CHARS
    {
        return None;
    }
    Some(DetectedFacet {
        byte_start: offset,
        byte_end: offset + hash_length + body.len(),
        target: FacetTarget::Tag(body.to_owned()),
    })
}

/// Punctuation that ends a hashtag rather than belonging to it (the official
/// client strips Unicode's `P` categories; these are the ones people type).
fn is_punctuation(character: char) -> bool {
    character.is_ascii_punctuation()
        || matches!(
            character,
            '¡' | '¿'
                | '…'
                | '«'
                | '»'
                | '“'
                | '”'
                | '‘'
                | '’'
                | '。'
                | '、'
                | '，'
                | '！'
                | '？'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &[(&str, FacetTarget)]) {
        let found = detect_facets(text);
        let described: Vec<(&str, FacetTarget)> = found
            .iter()
            .map(|facet| {
                (
                    &text[facet.byte_start..facet.byte_end],
                    facet.target.clone(),
                )
            })
            .collect();
        assert_eq!(described, expected, "in {text:?}");
    }

    fn link(url: &str) -> FacetTarget {
        FacetTarget::Link(url.to_owned())
    }
    fn mention(handle: &str) -> FacetTarget {
        FacetTarget::Mention(handle.to_owned())
    }
    fn tag(tag: &str) -> FacetTarget {
        FacetTarget::Tag(tag.to_owned())
    }

    #[test]
    fn links_mentions_and_tags() {
        check("nothing here", &[]);
        check(
            "see https://aurora.example/menu",
            &[(
                "https://aurora.example/menu",
                link("https://aurora.example/menu"),
            )],
        );
        check(
            "menú nuevo: https://aurora.example/menú.",
            &[(
                "https://aurora.example/menú",
                link("https://aurora.example/menú"),
            )],
        );
        check(
            "(details at https://aurora.example/a?b=1), thanks!",
            &[(
                "https://aurora.example/a?b=1",
                link("https://aurora.example/a?b=1"),
            )],
        );
        check(
            "wiki https://en.example.org/wiki/Café_(drink)!",
            &[(
                "https://en.example.org/wiki/Café_(drink)",
                link("https://en.example.org/wiki/Café_(drink)"),
            )],
        );
        check("not a link: https://", &[]);
        check("ftp://files.example/x is not a web link", &[]);
        check(
            "hola @ana.example.com, ¿qué tal?",
            &[("@ana.example.com", mention("ana.example.com"))],
        );
        check(
            "thanks (@Ana.Test) and @bob.test.",
            &[
                ("@Ana.Test", mention("ana.test")),
                ("@bob.test", mention("bob.test")),
            ],
        );
        check("mail me at ana@aurora.example or @ana or @3.14", &[]);
        check(
            "Café ☕ #CaféAurora, ¡qué rico! #2026 #tag_1… #x",
            &[
                ("#CaféAurora", tag("CaféAurora")),
                ("#tag_1", tag("tag_1")),
                ("#x", tag("x")),
            ],
        );
        check("a#b and # and #!!", &[]);
        check("full width ＃タグ", &[("＃タグ", tag("タグ"))]);
    }

    #[test]
    fn offsets_are_utf8_bytes() {
        let text = "🌅 ñandú #amanecer https://a.example";
        let facets = detect_facets(text);
        assert_eq!(facets[0].byte_start, "🌅 ñandú ".len());
        assert_eq!(
            facets[0].byte_start, 13,
            "sun 4 + space 1 + ñandú 7 + space 1 bytes"
        );
        assert_eq!(facets[1].byte_end, text.len());
    }

    #[test]
    fn long_tags_are_not_tags() {
        let long = format!("#{}", "a".repeat(MAX_TAG_CHARS + 1));
        check(&long, &[]);
        let just = format!("#{}", "ñ".repeat(MAX_TAG_CHARS));
        assert_eq!(detect_facets(&just).len(), 1);
    }
}
