//! Integration tests of `atalaya-text`, one binary so it links once.

mod query;
