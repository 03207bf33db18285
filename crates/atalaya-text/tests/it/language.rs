//! Language identification on our own sentences.

use atalaya_text::{Lang, detect};

#[test]
fn detects_each_language() {
    let table = [
        (
            "Hoy hace un día precioso en Madrid, vamos a la playa con los amigos",
            Lang::Es,
        ),
        (
            "I can't wait for the weekend, going to the beach with my friends",
            Lang::En,
        ),
        (
            "Hoje o dia está lindo, vamos à praia com os amigos",
            Lang::Pt,
        ),
        (
            "Aujourd'hui il fait beau, on va à la plage avec les amis",
            Lang::Fr,
        ),
        (
            "Oggi è una bella giornata, andiamo al mare con gli amici",
            Lang::It,
        ),
        (
            "Heute ist ein schöner Tag, wir gehen mit den Freunden an den Strand",
            Lang::De,
        ),
        (
            "Avui fa un dia molt bonic, anem a la platja amb els amics",
            Lang::Ca,
        ),
        (
            "اليوم الجو جميل جدا ونحن ذاهبون إلى البحر مع الأصدقاء",
            Lang::Ar,
        ),
        // Romanised Hindi mixed with English, as it is posted: before `hi` was a class these
        // went to en, it or de and were scored by those languages' sentiment copies.
        (
            "aaj mausam bahut accha hai, hum dosto ke saath beach ja rahe hain",
            Lang::Hi,
        ),
        ("yaar ye match dekh ke maza aa gaya, kya baat hai", Lang::Hi),
        ("@user jajaja qué bueno, no me lo esperaba", Lang::Es),
        ("@user lol that's so true, thanks", Lang::En),
    ];
    for (text, expected) in table {
        let guess = detect(text);
        assert_eq!(guess.lang, expected, "{text:?}: {guess:?}");
        assert!((0.0..=1.0).contains(&guess.confidence));
    }
}

#[test]
fn unknown_when_unsure() {
    for text in ["", "😍😍😍", "@user https://t.co/x", "12345 !!!", "#"] {
        assert_eq!(detect(text).lang, Lang::Unknown, "{text:?}");
    }
}

/// Regression: "Café Aurora genial" came out Catalan at 0.90. In a workspace
/// that speaks Spanish and English, a text that short is placed among them, and
/// its confidence stays the model's own belief in the language chosen.
#[test]
fn a_short_spanish_post_is_not_a_confident_catalan_guess() {
    use atalaya_text::LanguageHints;
    use atalaya_text::normalize::tokenize;
    let model = atalaya_text::shared().language_model();
    let tokens = tokenize("Café Aurora genial");
    let free = model.detect_tokens(&tokens);
    let hints = LanguageHints {
        declared: None,
        workspace: &[Lang::Es, Lang::En],
    };
    let placed = model.identify_tokens(&tokens, hints);
    assert_eq!(placed.lang, Lang::Es, "free guess: {free:?}");
    let probabilities = model.probabilities(&tokens).expect("letters");
    let es = model
        .languages()
        .iter()
        .position(|lang| *lang == Lang::Es)
        .expect("the model knows es");
    assert_eq!(placed.confidence, probabilities[es]);
    if free.lang != Lang::Es {
        assert!(placed.confidence < free.confidence, "{placed:?} {free:?}");
    }
    // Without workspace languages, detection is unchanged.
    assert_eq!(
        model.identify_tokens(&tokens, LanguageHints::default()),
        free
    );
}

/// Long texts are detected freely: a workspace's languages only decide short ones.
#[test]
fn a_long_post_in_another_language_keeps_its_language() {
    use atalaya_text::LanguageHints;
    use atalaya_text::normalize::tokenize;
    let model = atalaya_text::shared().language_model();
    let tokens = tokenize("Heute ist ein schöner Tag, wir gehen mit den Freunden an den Strand");
    let hints = LanguageHints {
        declared: None,
        workspace: &[Lang::Es, Lang::En],
    };
    assert_eq!(model.identify_tokens(&tokens, hints).lang, Lang::De);
}

/// Regression: an import's declared `lang` was thrown away whenever the
/// detector had an opinion. A declared language the model knows wins; one it
/// does not know leaves detection in charge.
#[test]
fn a_declared_language_the_model_knows_is_trusted() {
    use atalaya_text::LanguageHints;
    use atalaya_text::normalize::tokenize;
    let model = atalaya_text::shared().language_model();
    let tokens = tokenize("Hoy hace un día precioso en Madrid, vamos a la playa con los amigos");
    let declared = |code| LanguageHints {
        declared: Some(code),
        workspace: &[],
    };
    let trusted = model.identify_tokens(&tokens, declared("pt"));
    assert_eq!((trusted.lang, trusted.confidence), (Lang::Pt, 1.0));
    assert_eq!(
        model.identify_tokens(&tokens, declared("PT")).lang,
        Lang::Pt
    );
    assert_eq!(
        model.identify_tokens(&tokens, declared("ja")).lang,
        Lang::Es
    );
}

#[test]
fn choosing_among_the_allowed_languages() {
    use atalaya_text::language::choose_among;
    let langs = [Lang::Es, Lang::En, Lang::Ca];
    let probabilities = [0.07, 0.03, 0.90];
    let check = |allowed: &[Lang], expected: Option<(Lang, f32)>| {
        assert_eq!(
            choose_among(&langs, &probabilities, allowed)
                .map(|guess| (guess.lang, guess.confidence)),
            expected,
            "{allowed:?}"
        );
    };
    check(&[Lang::Es, Lang::En], Some((Lang::Es, 0.07)));
    check(&[Lang::En], Some((Lang::En, 0.03)));
    check(&[Lang::Ca, Lang::Es], Some((Lang::Ca, 0.90)));
    check(&[Lang::De], None);
    check(&[], None);
}
