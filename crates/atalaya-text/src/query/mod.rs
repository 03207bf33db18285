//! The listening query language: parse, compile, match, explain.
//!
//! Each topic of a workspace (brand, product, competitor, campaign, sector) has
//! a query such as `(zara OR inditex) NEAR/3 (tienda OR "atención al cliente") -empleo`.
//! [`parse`] turns its text into a [`Query`] (or a positioned, localised
//! [`ParseError`]); [`QuerySet::compile`] builds one matcher for all topics;
//! [`QuerySet::matches`] tells which topics a mention ([`Document`]) matches
//! and the [`Span`]s that explain each match. The user documentation of the
//! syntax is `docs/query-language.md`.
//!
//! Matching is case- and accent-insensitive on whole tokens (see [`tokens`]);
//! `=Café` or `="Café Central"` asks for the exact written form.

mod ast;
pub mod bench;
mod budget;
mod cover;
mod evaluate;
mod matcher;
mod parser;
pub mod tokens;

pub use ast::{Field, FieldFilter, Phrase, Query, Term};
pub use budget::{ANALYSED_TEXT_CHARS, MatchLimits, TooExpensive, check_cost};
pub use cover::search_cover;
pub use evaluate::MAX_SPANS_PER_TOPIC;
pub use matcher::{Document, MatchScratch, Matches, QuerySet, Span, TopicMatch};
pub use parser::{Expected, Found, MessageLang, ParseError, Position, parse, render_caret};
