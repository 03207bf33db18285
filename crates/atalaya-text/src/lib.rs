//! Text analysis for Atalaya.

pub mod query;
