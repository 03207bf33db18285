//! Tokenizer behaviour on our own sentences: negation scope, emoji, laughter, elongation.

use atalaya_text::normalize::{TokenKind, tokenize};

/// The folded forms of the tokens inside a negation scope.
fn check_negated(text: &str, expected: &[&str]) {
    let tokens = tokenize(text);
    let negated: Vec<&str> = tokens
        .iter()
        .filter(|t| t.negated)
        .map(|t| t.folded.as_str())
        .collect();
    assert_eq!(negated, expected, "negation scope of {text:?}");
}

#[test]
fn negation_scope() {
    check_negated("no me gusta nada", &["me", "gusta", "nada"]);
    check_negated("No está mal, pero podría mejorar", &["esta", "mal"]);
    check_negated(
        "nunca más vuelvo a ese sitio",
        &["mas", "vuelvo", "a", "ese"],
    );
    check_negated("sin duda el mejor", &["duda", "el", "mejor"]);
    check_negated("not bad", &["bad"]);
    check_negated("I don't like it. Great day", &["like", "it"]);
    check_negated("It isn't good but the end is fine", &["good"]);
    check_negated("never again 😡 love it", &["again"]);
    check_negated("me gusta mucho", &[]);
}

fn check_kinds(text: &str, expected: &[(TokenKind, &str)]) {
    let tokens = tokenize(text);
    let got: Vec<(TokenKind, &str)> = tokens.iter().map(|t| (t.kind, t.folded.as_str())).collect();
    assert_eq!(got, expected, "tokens of {text:?}");
}

#[test]
fn emoji_emoticons_and_laughter() {
    use TokenKind::*;
    check_kinds("genial 😍", &[(Word, "genial"), (Emoji, "😍")]);
    check_kinds("👍🏽👍", &[(Emoji, "👍"), (Emoji, "👍")]);
    check_kinds("fin 👨‍👩‍👧", &[(Word, "fin"), (Emoji, "👨")]);
    check_kinds("vamos 🇪🇸", &[(Word, "vamos"), (Emoji, "🇪")]);
    check_kinds("jajajaja xD", &[(Laugh, "jajajaja"), (Emoticon, ":D")]);
    check_kinds(
        "hahaha lol :)))",
        &[(Laugh, "hahaha"), (Laugh, "lol"), (Emoticon, ":)")],
    );
    check_kinds(
        "triste :( <3",
        &[(Word, "triste"), (Emoticon, ":("), (Emoticon, "<3")],
    );
    check_kinds(
        "hora 10:30",
        &[(Word, "hora"), (Number, "10"), (Punct, ":"), (Number, "30")],
    );
}

#[test]
fn elongation_intensifiers_and_social_tokens() {
    let tokens = tokenize("BUENÍSIMOOOO!!! muy bueno @Ana_1 #NoMás www.ejemplo.com");
    assert_eq!(tokens[0].folded, "buenisimoo");
    assert_eq!(tokens[0].lower, "buenísimoo");
    assert!(tokens[0].elongated && tokens[0].shouted);
    assert_eq!(tokens[1].kind, TokenKind::Punct);
    assert!(tokens[1].elongated);
    let bueno = tokens
        .iter()
        .find(|t| t.folded == "bueno")
        .map(|t| t.intensified);
    assert_eq!(bueno, Some(true));
    let kinds: Vec<TokenKind> = tokens.iter().skip(4).map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        vec![TokenKind::Handle, TokenKind::Hashtag, TokenKind::Url]
    );
    assert_eq!(tokens[5].folded, "nomas");
    // Spans point into the original text.
    let text = "Hola 😍 mundo";
    for token in tokenize(text) {
        assert!(text.get(token.span.clone()).is_some());
    }
    assert_eq!(&text[tokenize(text)[2].span.clone()], "mundo");
}
