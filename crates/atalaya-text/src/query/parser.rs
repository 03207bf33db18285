//! Parsing query text into a [`Query`], with positioned, localised errors.
//!
//! Grammar, loosest binding first:
//!
//! ```text
//! query   := and ( "OR" and )*          -- mixing AND and OR needs parentheses
//! and     := unary ( "AND"? unary )*    -- juxtaposition is AND
//! unary   := ( "NOT" | "-" ) unary | near
//! near    := primary ( "NEAR/n" ["f"] primary )*
//! primary := term | "phrase" | field:value | "(" query ")"
//! ```
//!
//! Operators are recognised only in upper case, so `and`, `or` and `near` stay
//! searchable words. Mixing `AND` and `OR` at one level is rejected rather than
//! given a precedence, because professional tools disagree on it and a silent
//! misreading of a brand query is worse than asking for parentheses.

use std::fmt;

use super::ast::{Field, FieldFilter, Phrase, Query, Term};

/// Deeper nesting is refused so that evaluating and dropping a query can never
/// exhaust the stack, whatever text reaches the parser.
const MAX_DEPTH: usize = 100;

/// The language a [`ParseError`] message is written in. `atalaya-text` does not
/// depend on the domain crate, so callers map their UI language onto this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageLang {
    Es,
    En,
}

impl MessageLang {
    /// `es`, `es-ES`, `es_MX.UTF-8`… are Spanish; anything else is English.
    pub fn from_code(code: &str) -> MessageLang {
        let lower = code.trim().to_ascii_lowercase();
        if lower.starts_with("es") {
            MessageLang::Es
        } else {
            MessageLang::En
        }
    }
}

/// Where in the query text an error was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// Byte offset into the query text.
    pub byte: usize,
    /// 1-based character column, for people.
    pub column: usize,
}

/// What the parser needed at the error position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expected {
    /// A term, phrase, field filter or parenthesised group.
    Term,
    /// The `)` closing a group.
    ClosingParen,
    /// The `"` closing a phrase or quoted field value.
    ClosingQuote,
    /// A number (and optional `f`) after `NEAR/`.
    NearDistance,
    /// A term, phrase or OR group on a side of `NEAR`.
    NearOperand,
    /// A value after `field:`.
    FieldValue,
    /// One of the known field names.
    KnownField,
    /// Parentheses to combine `AND` and `OR`.
    Parentheses,
    /// An operator or the end of the query (e.g. after a stray `)`).
    OperatorOrEnd,
    /// A term containing at least one letter or digit.
    LetterOrDigit,
    /// A query with less nesting than [`MAX_DEPTH`].
    LessNesting,
}

impl Expected {
    fn describe(self, lang: MessageLang) -> &'static str {
        match (self, lang) {
            (Expected::Term, MessageLang::En) => {
                "a term, a \"phrase\", a field filter or a (group)"
            }
            (Expected::Term, MessageLang::Es) => {
                "un término, una \"frase\", un filtro de campo o un (grupo)"
            }
            (Expected::ClosingParen, MessageLang::En) => "a closing parenthesis `)`",
            (Expected::ClosingParen, MessageLang::Es) => "un paréntesis de cierre `)`",
            (Expected::ClosingQuote, MessageLang::En) => "closing quotes `\"`",
            (Expected::ClosingQuote, MessageLang::Es) => "unas comillas de cierre `\"`",
            (Expected::NearDistance, MessageLang::En) => {
                "a distance after NEAR/, as in NEAR/3 or NEAR/3f"
            }
            (Expected::NearDistance, MessageLang::Es) => {
                "una distancia después de NEAR/, como en NEAR/3 o NEAR/3f"
            }
            (Expected::NearOperand, MessageLang::En) => {
                "a term, a \"phrase\" or an OR group on each side of NEAR"
            }
            (Expected::NearOperand, MessageLang::Es) => {
                "un término, una \"frase\" o un grupo con OR a cada lado de NEAR"
            }
            (Expected::FieldValue, MessageLang::En) => {
                "a value after the field name, as in site:example.com"
            }
            (Expected::FieldValue, MessageLang::Es) => {
                "un valor después del nombre del campo, como en site:example.com"
            }
            (Expected::KnownField, MessageLang::En) => {
                "a known field: author, site, url, lang or source"
            }
            (Expected::KnownField, MessageLang::Es) => {
                "un campo conocido: author, site, url, lang o source"
            }
            (Expected::Parentheses, MessageLang::En) => {
                "parentheses to combine AND and OR, as in (a OR b) AND c"
            }
            (Expected::Parentheses, MessageLang::Es) => {
                "paréntesis para combinar AND y OR, como en (a OR b) AND c"
            }
            (Expected::OperatorOrEnd, MessageLang::En) => {
                "an operator (AND, OR, NEAR/n) or the end of the query"
            }
            (Expected::OperatorOrEnd, MessageLang::Es) => {
                "un operador (AND, OR, NEAR/n) o el final de la consulta"
            }
            (Expected::LetterOrDigit, MessageLang::En) => {
                "a term with at least one letter or digit"
            }
            (Expected::LetterOrDigit, MessageLang::Es) => {
                "un término con al menos una letra o un dígito"
            }
            (Expected::LessNesting, MessageLang::En) => {
                "a simpler query (at most 100 nested groups or operators)"
            }
            (Expected::LessNesting, MessageLang::Es) => {
                "una consulta más simple (como mucho 100 grupos u operadores anidados)"
            }
        }
    }
}

/// What the parser found instead.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Found {
    /// The query ended.
    End,
    /// This piece of the query text (shortened when long).
    Text(String),
}

/// A query that could not be parsed: where, what was expected, what was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{}", self.message(MessageLang::En))]
pub struct ParseError {
    pub position: Position,
    pub expected: Expected,
    pub found: Found,
}

impl ParseError {
    /// The message in the user's language, e.g.
    /// "column 7: expected a closing parenthesis `)`, found the end of the query".
    pub fn message(&self, lang: MessageLang) -> String {
        let expected = self.expected.describe(lang);
        let column = self.position.column;
        match (lang, &self.found) {
            (MessageLang::En, Found::End) => {
                format!("column {column}: expected {expected}, found the end of the query")
            }
            (MessageLang::En, Found::Text(text)) => {
                format!("column {column}: expected {expected}, found `{text}`")
            }
            (MessageLang::Es, Found::End) => format!(
                "columna {column}: se esperaba {expected}, pero se encontró el final de la consulta"
            ),
            (MessageLang::Es, Found::Text(text)) => {
                format!("columna {column}: se esperaba {expected}, pero se encontró `{text}`")
            }
        }
    }

    /// Two lines for a terminal or a `<pre>`: the query, and a `^` under the
    /// error position. Control characters are shown as spaces so the caret
    /// stays aligned.
    pub fn render_caret(&self, query: &str) -> String {
        render_caret(query, self.position)
    }
}

/// The query on one line and a `^` under `position` on the next.
pub fn render_caret(query: &str, position: Position) -> String {
    let shown: String = query
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let padding = " ".repeat(position.column.saturating_sub(1));
    format!("{shown}\n{padding}^")
}

/// Parses a listening query.
///
/// # Errors
/// A [`ParseError`] pointing at the first position where the text stops being
/// a valid query.
pub fn parse(text: &str) -> Result<Query, ParseError> {
    let lexemes = lex(text)?;
    let mut parser = Parser {
        text,
        lexemes,
        next: 0,
    };
    let query = parser.parse_or(0)?;
    match parser.peek() {
        None => Ok(query),
        Some(lexeme) => Err(parser.error_at(lexeme.start, Expected::OperatorOrEnd)),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    OpenParen,
    CloseParen,
    And,
    Or,
    Not,
    Minus,
    Near { distance: u32, ordered: bool },
    Word { text: String, exact: bool },
    Phrase { text: String, exact: bool },
    Field(FieldFilter),
}

#[derive(Debug, Clone)]
struct Lexeme {
    kind: Kind,
    start: usize,
    end: usize,
}

fn position_of(text: &str, byte: usize) -> Position {
    Position {
        byte,
        column: text[..byte].chars().count() + 1,
    }
}

fn found_at(text: &str, start: usize, end: usize) -> Found {
    if start >= text.len() {
        return Found::End;
    }
    let piece = &text[start..end.max(start)];
    let piece = if piece.is_empty() {
        text[start..]
            .chars()
            .next()
            .map(String::from)
            .unwrap_or_default()
    } else {
        piece.to_owned()
    };
    if piece.chars().count() > 24 {
        let short: String = piece.chars().take(24).collect();
        Found::Text(format!("{short}…"))
    } else {
        Found::Text(piece)
    }
}

fn error(text: &str, start: usize, end: usize, expected: Expected) -> ParseError {
    ParseError {
        position: position_of(text, start),
        expected,
        found: found_at(text, start, end),
    }
}

/// Bytes that end a bare word.
fn is_word_end(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"')
}

fn lex(text: &str) -> Result<Vec<Lexeme>, ParseError> {
    let mut lexemes = Vec::new();
    let mut rest = text.char_indices().peekable();
    while let Some(&(start, c)) = rest.peek() {
        if c.is_whitespace() {
            rest.next();
            continue;
        }
        match c {
            '(' | ')' => {
                rest.next();
                let kind = if c == '(' {
                    Kind::OpenParen
                } else {
                    Kind::CloseParen
                };
                lexemes.push(Lexeme {
                    kind,
                    start,
                    end: start + 1,
                });
                continue;
            }
            '"' => {
                let (content, end) = read_quoted(text, start)?;
                let phrase = phrase_text(text, start, end, content)?;
                lexemes.push(Lexeme {
                    kind: Kind::Phrase {
                        text: phrase,
                        exact: false,
                    },
                    start,
                    end,
                });
                skip_to(&mut rest, end);
                continue;
            }
            _ => {}
        }
        let next_char = text[start + c.len_utf8()..].chars().next();
        if c == '-' && next_char.is_some_and(|n| !n.is_whitespace() && n != ')') {
            rest.next();
            lexemes.push(Lexeme {
                kind: Kind::Minus,
                start,
                end: start + 1,
            });
            continue;
        }
        if c == '=' {
            let after = start + 1;
            match next_char {
                Some('"') => {
                    let (content, end) = read_quoted(text, after)?;
                    let phrase = phrase_text(text, start, end, content)?;
                    lexemes.push(Lexeme {
                        kind: Kind::Phrase {
                            text: phrase,
                            exact: true,
                        },
                        start,
                        end,
                    });
                    skip_to(&mut rest, end);
                }
                Some(n) if !is_word_end(n) => {
                    let end = word_end(text, after);
                    let word = &text[after..end];
                    check_term(text, start, end, word)?;
                    lexemes.push(Lexeme {
                        kind: Kind::Word {
                            text: word.to_owned(),
                            exact: true,
                        },
                        start,
                        end,
                    });
                    skip_to(&mut rest, end);
                }
                _ => return Err(error(text, start, after, Expected::Term)),
            }
            continue;
        }
        let end = word_end(text, start);
        let word = &text[start..end];
        let (kind, end) = classify_word(text, start, end, word)?;
        lexemes.push(Lexeme { kind, start, end });
        skip_to(&mut rest, end);
    }
    Ok(lexemes)
}

fn skip_to(rest: &mut std::iter::Peekable<std::str::CharIndices<'_>>, end: usize) {
    while rest.peek().is_some_and(|&(index, _)| index < end) {
        rest.next();
    }
}

fn word_end(text: &str, start: usize) -> usize {
    text[start..]
        .char_indices()
        .find(|&(_, c)| is_word_end(c))
        .map_or(text.len(), |(offset, _)| start + offset)
}

/// Reads `"…"` starting at the quote at `quote`; returns the content and the
/// byte after the closing quote.
fn read_quoted(text: &str, quote: usize) -> Result<(&str, usize), ParseError> {
    let body = quote + 1;
    match text[body..].find('"') {
        Some(offset) => Ok((&text[body..body + offset], body + offset + 1)),
        None => Err(ParseError {
            position: position_of(text, text.len()),
            expected: Expected::ClosingQuote,
            found: Found::End,
        }),
    }
}

/// Phrases are stored with collapsed whitespace, their canonical form.
fn phrase_text(text: &str, start: usize, end: usize, content: &str) -> Result<String, ParseError> {
    if !content.chars().any(char::is_alphanumeric) {
        return Err(error(text, start, end, Expected::LetterOrDigit));
    }
    Ok(content.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn check_term(text: &str, start: usize, end: usize, word: &str) -> Result<(), ParseError> {
    if word.chars().any(char::is_alphanumeric) {
        Ok(())
    } else {
        Err(error(text, start, end, Expected::LetterOrDigit))
    }
}

/// Decides what a bare word is: an operator, `NEAR/n`, a field filter or a term.
/// Returns the lexeme and where it ends (a quoted field value extends it).
fn classify_word(
    text: &str,
    start: usize,
    end: usize,
    word: &str,
) -> Result<(Kind, usize), ParseError> {
    match word {
        "AND" => return Ok((Kind::And, end)),
        "OR" => return Ok((Kind::Or, end)),
        "NOT" => return Ok((Kind::Not, end)),
        _ => {}
    }
    if word == "NEAR" || word.starts_with("NEAR/") {
        let spec = word.get(5..).unwrap_or("");
        let (digits, ordered) = match spec.strip_suffix(['f', 'F']) {
            Some(digits) => (digits, true),
            None => (spec, false),
        };
        let distance = if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            digits.parse::<u32>().ok()
        };
        return match distance {
            Some(distance) => Ok((Kind::Near { distance, ordered }, end)),
            None => Err(error(text, start, end, Expected::NearDistance)),
        };
    }
    if let Some(colon) = word.find(':') {
        let name = &word[..colon];
        let value = &word[colon + 1..];
        let looks_like_field = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphabetic())
            // A pasted link is a term, not a field called "http".
            && !value.starts_with("//");
        if looks_like_field {
            let Some(field) = Field::from_name(name) else {
                if value.is_empty() {
                    // "hola:" is a word followed by punctuation.
                    check_term(text, start, end, word)?;
                    return Ok((
                        Kind::Word {
                            text: word.to_owned(),
                            exact: false,
                        },
                        end,
                    ));
                }
                return Err(error(text, start, start + colon, Expected::KnownField));
            };
            let value_start = start + colon + 1;
            if value.is_empty() {
                if text[value_start..].starts_with('"') {
                    let (content, value_end) = read_quoted(text, value_start)?;
                    let value = content.split_whitespace().collect::<Vec<_>>().join(" ");
                    if value.is_empty() {
                        return Err(error(text, value_start, value_end, Expected::FieldValue));
                    }
                    return Ok((Kind::Field(FieldFilter { field, value }), value_end));
                }
                return Err(error(text, value_start, value_start, Expected::FieldValue));
            }
            return Ok((
                Kind::Field(FieldFilter {
                    field,
                    value: value.to_owned(),
                }),
                end,
            ));
        }
    }
    check_term(text, start, end, word)?;
    Ok((
        Kind::Word {
            text: word.to_owned(),
            exact: false,
        },
        end,
    ))
}

struct Parser<'a> {
    text: &'a str,
    lexemes: Vec<Lexeme>,
    next: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Lexeme> {
        self.lexemes.get(self.next)
    }

    fn error_at(&self, start: usize, expected: Expected) -> ParseError {
        let end = self
            .lexemes
            .iter()
            .find(|lexeme| lexeme.start == start)
            .map_or(start, |lexeme| lexeme.end);
        error(self.text, start, end, expected)
    }

    /// An error at the next lexeme, or at the end of the text.
    fn error_here(&self, expected: Expected) -> ParseError {
        let start = self.peek().map_or(self.text.len(), |lexeme| lexeme.start);
        self.error_at(start, expected)
    }

    fn check_depth(&self, depth: usize, start: usize) -> Result<(), ParseError> {
        if depth >= MAX_DEPTH {
            Err(self.error_at(start, Expected::LessNesting))
        } else {
            Ok(())
        }
    }

    fn parse_or(&mut self, depth: usize) -> Result<Query, ParseError> {
        let (first, first_combined) = self.parse_and(depth)?;
        let mut items = vec![first];
        let mut any_combined = first_combined;
        let mut first_or = None;
        while let Some(Lexeme {
            kind: Kind::Or,
            start,
            ..
        }) = self.peek()
        {
            first_or.get_or_insert(*start);
            self.next += 1;
            let (item, combined) = self.parse_and(depth)?;
            any_combined |= combined;
            items.push(item);
        }
        if let Some(or_start) = first_or
            && any_combined
        {
            return Err(self.error_at(or_start, Expected::Parentheses));
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Query::Or(items)
        })
    }

    /// Returns the AND (or single item) and whether it combined several items.
    fn parse_and(&mut self, depth: usize) -> Result<(Query, bool), ParseError> {
        let mut items = vec![self.parse_unary(depth)?];
        loop {
            match self.peek().map(|lexeme| &lexeme.kind) {
                Some(Kind::And) => {
                    self.next += 1;
                    items.push(self.parse_unary(depth)?);
                }
                Some(
                    Kind::Word { .. }
                    | Kind::Phrase { .. }
                    | Kind::Field(_)
                    | Kind::OpenParen
                    | Kind::Not
                    | Kind::Minus,
                ) => items.push(self.parse_unary(depth)?),
                _ => break,
            }
        }
        Ok(if items.len() == 1 {
            (items.remove(0), false)
        } else {
            (Query::And(items), true)
        })
    }

    fn parse_unary(&mut self, depth: usize) -> Result<Query, ParseError> {
        match self.peek() {
            Some(Lexeme {
                kind: Kind::Not | Kind::Minus,
                start,
                ..
            }) => {
                self.check_depth(depth, *start)?;
                self.next += 1;
                Ok(Query::Not(Box::new(self.parse_unary(depth + 1)?)))
            }
            _ => self.parse_near(depth),
        }
    }

    fn parse_near(&mut self, depth: usize) -> Result<Query, ParseError> {
        let left_start = self.peek().map_or(self.text.len(), |lexeme| lexeme.start);
        let mut left = self.parse_primary(depth)?;
        let mut depth = depth;
        while let Some(&Lexeme {
            kind: Kind::Near { distance, ordered },
            start,
            ..
        }) = self.peek()
        {
            if !left.is_positional() {
                return Err(self.error_at(left_start, Expected::NearOperand));
            }
            self.check_depth(depth, start)?;
            depth += 1;
            self.next += 1;
            let right_start = self.peek().map_or(self.text.len(), |lexeme| lexeme.start);
            if matches!(
                self.peek().map(|lexeme| &lexeme.kind),
                Some(Kind::Not | Kind::Minus | Kind::Field(_))
            ) {
                return Err(self.error_here(Expected::NearOperand));
            }
            let right = self.parse_primary(depth)?;
            if !right.is_positional() {
                return Err(self.error_at(right_start, Expected::NearOperand));
            }
            left = Query::Near {
                left: Box::new(left),
                right: Box::new(right),
                distance,
                ordered,
            };
        }
        Ok(left)
    }

    fn parse_primary(&mut self, depth: usize) -> Result<Query, ParseError> {
        let Some(lexeme) = self.peek().cloned() else {
            return Err(self.error_here(Expected::Term));
        };
        match lexeme.kind {
            Kind::Word { text, exact } => {
                self.next += 1;
                Ok(Query::Term(Term { text, exact }))
            }
            Kind::Phrase { text, exact } => {
                self.next += 1;
                Ok(Query::Phrase(Phrase { text, exact }))
            }
            Kind::Field(filter) => {
                self.next += 1;
                Ok(Query::Field(filter))
            }
            Kind::OpenParen => {
                self.check_depth(depth, lexeme.start)?;
                self.next += 1;
                let inner = self.parse_or(depth + 1)?;
                match self.peek() {
                    Some(Lexeme {
                        kind: Kind::CloseParen,
                        ..
                    }) => {
                        self.next += 1;
                        Ok(inner)
                    }
                    _ => Err(self.error_here(Expected::ClosingParen)),
                }
            }
            _ => Err(self.error_here(Expected::Term)),
        }
    }
}

impl fmt::Display for MessageLang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessageLang::Es => "es",
            MessageLang::En => "en",
        })
    }
}
