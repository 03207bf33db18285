//! The listening query language.
