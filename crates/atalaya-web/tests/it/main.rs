//! Integration tests of the web crate (filled in below).
