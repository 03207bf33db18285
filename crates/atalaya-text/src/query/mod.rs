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
mod cover;
mod matcher;
mod parser;
pub mod tokens;

pub use ast::{Field, FieldFilter, Phrase, Query, Term};
pub use cover::search_cover;
pub use matcher::{Document, MatchScratch, QuerySet, Span, TopicMatch};
pub use parser::{Expected, Found, MessageLang, ParseError, Position, parse, render_caret};
