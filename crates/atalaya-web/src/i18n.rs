//! Spanish and English for every string the interface shows.
//!
//! Two catalogues (`locales/es.txt`, `locales/en.txt`) of `key = value` lines are
//! embedded in the binary and parsed once. Templates receive a [`Translator`] as
//! `t` and call `t.get("key")`; values may hold `{name}` placeholders filled by
//! [`Translator::fill`]. The language comes from, in order: the signed-in user's
//! setting, the `atalaya_lang` cookie (anonymous visitors' switch), the browser's
//! `Accept-Language` (with q-values), and finally English.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::OnceLock;

use atalaya_domain::UiLang;

const ES_SOURCE: &str = include_str!("../locales/es.txt");
const EN_SOURCE: &str = include_str!("../locales/en.txt");

/// The language used when nothing else decides.
pub const DEFAULT_LANG: UiLang = UiLang::En;

/// Parses a catalogue. Lines are `key = value`; blank lines and `#` comments are
/// skipped; `\n` in a value becomes a newline.
pub fn parse_catalogue(source: &'static str) -> HashMap<&'static str, String> {
    source
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim(), value.trim().replace("\\n", "\n")))
        .collect()
}

fn catalogue(lang: UiLang) -> &'static HashMap<&'static str, String> {
    static ES: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    static EN: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    match lang {
        UiLang::Es => ES.get_or_init(|| parse_catalogue(ES_SOURCE)),
        UiLang::En => EN.get_or_init(|| parse_catalogue(EN_SOURCE)),
    }
}

/// Looks strings up in one language. Cheap to copy into every template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translator {
    lang: UiLang,
}

impl Translator {
    pub fn new(lang: UiLang) -> Translator {
        Translator { lang }
    }

    pub fn lang(&self) -> UiLang {
        self.lang
    }

    /// The BCP 47 code for `<html lang>`.
    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    /// The string for `key`, or the key itself when it is missing (a unit test
    /// keeps that from happening for every key the code and templates use).
    pub fn get<'k>(&self, key: &'k str) -> &'k str
    where
        'static: 'k,
    {
        self.lookup(key).unwrap_or(key)
    }

    /// The string for `key`, if the catalogue has it (for keys built at run time).
    pub fn lookup(&self, key: &str) -> Option<&'static str> {
        catalogue(self.lang).get(key).map(String::as_str)
    }

    /// The string for `key` with each `{name}` replaced by its value.
    pub fn fill(&self, key: &str, args: &[(&str, &str)]) -> String {
        fill_placeholders(self.get(key), args)
    }

    /// The message for a coded problem, `{prefix}.{code}`, with its named
    /// values; a code the catalogue lacks falls back to `fallback` (the
    /// problem's English text), so nothing is ever shown as a bare key.
    pub fn coded(
        &self,
        prefix: &str,
        code: &str,
        args: &[(&'static str, String)],
        fallback: &str,
    ) -> String {
        match self.lookup(&format!("{prefix}.{code}")) {
            Some(template) => {
                let args: Vec<(&str, &str)> = args
                    .iter()
                    .map(|(name, value)| (*name, value.as_str()))
                    .collect();
                fill_placeholders(template, &args)
            }
            None => fallback.to_owned(),
        }
    }

    /// The plural form of `key` for `count` (`key.one` or `key.other`), with
    /// `{count}` written as [`Translator::number`] writes it. Spanish and
    /// English both use "one" for exactly 1 and "other" for everything else.
    /// (Counts are taken by value or by reference: templates pass references.)
    pub fn count(&self, key: &str, count: impl Borrow<i64>) -> String {
        self.count_with(key, count, &[])
    }

    /// [`Translator::count`] with more placeholders.
    pub fn count_with(&self, key: &str, count: impl Borrow<i64>, args: &[(&str, &str)]) -> String {
        let count = *count.borrow();
        let form = if count == 1 { "one" } else { "other" };
        let full = format!("{key}.{form}");
        let template = self.lookup(&full).unwrap_or(key);
        let number = self.number(count);
        let mut all: Vec<(&str, &str)> = vec![("count", number.as_str())];
        all.extend_from_slice(args);
        fill_placeholders(template, &all)
    }

    /// `1.234` / `1,234`.
    pub fn number(&self, value: impl Borrow<i64>) -> String {
        let value = *value.borrow();
        let separator = match self.lang {
            UiLang::Es => '.',
            UiLang::En => ',',
        };
        let digits = value.unsigned_abs().to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if value < 0 {
            grouped.push('-');
        }
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index) % 3 == 0 {
                grouped.push(separator);
            }
            grouped.push(digit);
        }
        grouped
    }

    /// `12 %` / `12%` (Spanish separates the sign with a non-breaking space).
    pub fn percent(&self, value: impl Borrow<i64>) -> String {
        let value = *value.borrow();
        match self.lang {
            UiLang::Es => format!("{}\u{a0}%", self.number(value)),
            UiLang::En => format!("{}%", self.number(value)),
        }
    }

    /// A signed change in percent: `+25 %` / `−8%`, with a true minus sign.
    pub fn change(&self, value: i64) -> String {
        let sign = if value > 0 {
            "+"
        } else if value < 0 {
            "\u{2212}"
        } else {
            ""
        };
        format!("{sign}{}", self.percent(value.abs()))
    }

    /// `0,42` / `0.42`: a fraction with two decimals.
    pub fn decimal(&self, value: f64) -> String {
        let text = format!("{value:.2}");
        match self.lang {
            UiLang::Es => text.replace('.', ","),
            UiLang::En => text,
        }
    }
}

/// Replaces each `{name}` in `template` by its value, in one pass (a value
/// that contains `{other}` is never expanded again).
fn fill_placeholders(template: &str, args: &[(&str, &str)]) -> String {
    let mut text = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(candidate, _)| *candidate == name) {
                    Some((_, value)) => text.push_str(value),
                    None => {
                        text.push('{');
                        text.push_str(name);
                        text.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                text.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    text.push_str(rest);
    text
}

/// The best offered language for an `Accept-Language` header, honouring
/// q-values (`q=0` means "not this one"). `None` when nothing we speak matches.
pub fn negotiate(accept_language: &str) -> Option<UiLang> {
    let mut best: Option<(f32, usize, UiLang)> = None;
    for (position, item) in accept_language.split(',').enumerate() {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let quality = parts
            .filter_map(|param| param.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or_default();
        let Some(lang) = UiLang::from_code(primary) else {
            continue;
        };
        if quality <= 0.0 || !quality.is_finite() {
            continue;
        }
        // Highest quality wins; among equals, the one listed first.
        let better = match best {
            None => true,
            Some((best_quality, best_position, _)) => {
                quality > best_quality || (quality == best_quality && position < best_position)
            }
        };
        if better {
            best = Some((quality, position, lang));
        }
    }
    best.map(|(_, _, lang)| lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(header: &str, expected: Option<UiLang>) {
        assert_eq!(negotiate(header), expected, "{header:?}");
    }

    #[test]
    fn accept_language_negotiation() {
        check("es-ES,es;q=0.9,en;q=0.8", Some(UiLang::Es));
        check("en-GB,en;q=0.9", Some(UiLang::En));
        check("fr-FR,fr;q=0.9,es;q=0.5,en;q=0.4", Some(UiLang::Es));
        check("en;q=0.2, es;q=0.7", Some(UiLang::Es));
        check("ES-mx", Some(UiLang::Es));
        check("de, fr", None);
        check("es;q=0, en;q=0.1", Some(UiLang::En));
        check("es;q=0", None);
        check("", None);
        check("*", None);
        check("es;q=abc", Some(UiLang::Es));
    }

    #[test]
    fn catalogue_parsing() {
        let parsed = parse_catalogue("# comment\n\na.b = Hola {name}\nline = one\\ntwo\n");
        assert_eq!(parsed.get("a.b").map(String::as_str), Some("Hola {name}"));
        assert_eq!(parsed.get("line").map(String::as_str), Some("one\ntwo"));
        assert_eq!(parsed.len(), 2);
    }

    #[test]
    fn numbers_and_plurals_per_language() {
        let es = Translator::new(UiLang::Es);
        let en = Translator::new(UiLang::En);
        assert_eq!(es.number(1234), "1.234");
        assert_eq!(en.number(1234), "1,234");
        assert_eq!(es.number(-1_234_567), "-1.234.567");
        assert_eq!(en.number(999), "999");
        assert_eq!(es.percent(12), "12\u{a0}%");
        assert_eq!(en.change(-8), "\u{2212}8%");
        assert_eq!(en.change(25), "+25%");
        assert_eq!(es.decimal(0.4213), "0,42");
        assert_eq!(es.count("time.minutes_ago", 1), "hace 1 minuto");
        assert_eq!(es.count("time.minutes_ago", 1234), "hace 1.234 minutos");
        assert_eq!(en.count("time.minutes_ago", 2), "2 minutes ago");
    }

    #[test]
    fn placeholders_are_filled_once() {
        assert_eq!(
            fill_placeholders("{a} and {b} {c", &[("a", "{b}"), ("b", "B")]),
            "{b} and B {c"
        );
        assert_eq!(fill_placeholders("{missing}", &[]), "{missing}");
    }

    #[test]
    fn fill_replaces_placeholders() {
        let t = Translator::new(UiLang::En);
        assert!(
            t.fill("error.rate_limited", &[("minutes", "3")])
                .contains(" 3 ")
        );
        assert_eq!(t.get("no.such.key"), "no.such.key");
    }

    /// Every file under `dir` (recursively) with one of `extensions`.
    fn sources(dir: &std::path::Path, extensions: &[&str], out: &mut Vec<(String, String)>) {
        let entries = std::fs::read_dir(dir)
            .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                sources(&path, extensions, out);
            } else if path
                .extension()
                .and_then(|ext| ext.to_str())
                .is_some_and(|ext| extensions.contains(&ext))
            {
                let text = std::fs::read_to_string(&path).expect("reading a source file");
                out.push((path.display().to_string(), text));
            }
        }
    }

    /// The quoted argument after each occurrence of `marker` in `text`.
    fn quoted_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
        text.match_indices(marker)
            .filter_map(|(index, _)| {
                let rest = &text[index + marker.len()..];
                rest.find('"').map(|end| &rest[..end])
            })
            .collect()
    }

    #[test]
    fn both_catalogues_have_exactly_the_same_keys() {
        let es: std::collections::BTreeSet<_> = parse_catalogue(ES_SOURCE).into_keys().collect();
        let en: std::collections::BTreeSet<_> = parse_catalogue(EN_SOURCE).into_keys().collect();
        let only_es: Vec<_> = es.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&es).collect();
        assert!(
            only_es.is_empty() && only_en.is_empty(),
            "only in es: {only_es:?}; only in en: {only_en:?}"
        );
        assert!(
            es.len() > 100,
            "catalogues look truncated: {} keys",
            es.len()
        );
    }

    #[test]
    fn every_key_the_code_and_templates_use_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        sources(&root.join("templates"), &["html"], &mut files);
        sources(&root.join("src"), &["rs"], &mut files);
        let mut used: Vec<(String, String)> = Vec::new();
        for (path, text) in &files {
            // This test's own examples are not keys.
            if path.ends_with("i18n.rs") {
                continue;
            }
            for marker in [
                "t.get(\"",
                "t.fill(\"",
                "t.lookup(\"",
                "t.count(\"",
                "t.count_with(\"",
                "AppError::field(\"",
                "FieldError::new(\"",
                "done=",
            ] {
                for found in quoted_after(text, marker) {
                    let found = found.split(['&', '?', ')']).next().unwrap_or(found);
                    let key = match marker {
                        "AppError::field(\"" | "FieldError::new(\"" => {
                            // The field's label; its message key is checked below.
                            used.push((path.clone(), format!("field.{found}")));
                            continue;
                        }
                        "done=" => format!("done.{found}"),
                        "t.count(\"" | "t.count_with(\"" => {
                            used.push((path.clone(), format!("{found}.one")));
                            format!("{found}.other")
                        }
                        _ => found.to_owned(),
                    };
                    used.push((path.clone(), key));
                }
            }
            for prefix in ["\"validation.", "\"conflict.", "\"done."] {
                for found in quoted_after(text, prefix) {
                    used.push((path.clone(), format!("{}{found}", &prefix[1..])));
                }
            }
        }
        // Keys built at run time.
        for code in crate::error::ERROR_CODES {
            used.push((String::from("ERROR_CODES"), format!("error.{code}")));
        }
        for code in atalaya_connectors::mapping::RowProblem::CODES {
            used.push((
                String::from("RowProblem::CODES"),
                format!("import_error.{code}"),
            ));
        }
        for code in atalaya_connectors::SourceError::CODES {
            used.push((
                String::from("SourceError::CODES"),
                format!("source_error.{code}"),
            ));
        }
        for role in atalaya_domain::Role::ALL {
            used.push((String::from("Role::ALL"), format!("role.{}", role.as_str())));
        }
        for action in crate::audit_actions::ALL {
            used.push((
                String::from("audit_actions::ALL"),
                format!("audit.{action}"),
            ));
        }
        for what in [
            "username",
            "email",
            "slug",
            "member",
            "last_admin",
            "invitations_pending",
            "invitations_today",
        ] {
            used.push((String::from("store conflicts"), format!("conflict.{what}")));
        }
        for field in [
            "username",
            "email",
            "display_name",
            "password",
            "slug",
            "workspace_slug",
            "new_password",
        ] {
            used.push((String::from("validated fields"), format!("field.{field}")));
        }
        done_is_used_by_token_creation(&mut used);
        // Keys assembled at run time (`format!("done.{}")`) or mentioned in docs are not literal keys.
        used.retain(|(_, key)| {
            !key.ends_with('.')
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
        });
        assert!(
            used.len() > 100,
            "the scan found too few keys: {}",
            used.len()
        );
        for lang in UiLang::ALL {
            let catalogue = catalogue(lang);
            let missing: Vec<_> = used
                .iter()
                .filter(|(_, key)| !catalogue.contains_key(key.as_str()))
                .collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
        }
    }

    fn done_is_used_by_token_creation(used: &mut Vec<(String, String)>) {
        used.push((
            String::from("account::create_token"),
            String::from("done.token_created"),
        ));
    }
}
