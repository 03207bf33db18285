//! Integration tests of the web crate: the router driven through
//! `router(state).oneshot(..)`, each test on its own in-memory SQLite store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod authorization;
mod csrf;
mod health;
mod language;
mod listening;
mod openapi;
mod postgres;
mod server;
mod setup;
mod sign_in;
mod support;
