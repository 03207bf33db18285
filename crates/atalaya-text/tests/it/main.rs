//! Integration tests of `atalaya-text`, one binary so it links once.

mod language;
mod normalization;
mod query;
mod query_cost;
mod robustness;
mod sentiment;
mod text_eval;
mod training;
