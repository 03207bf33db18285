//! All of Atalaya's SQL.
