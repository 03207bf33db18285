//! Integration tests for atalaya-connectors: real HTTP against a local axum
//! server serving feed fixtures written for these tests, and property tests
//! that hostile bytes never panic the parsers.

#![allow(clippy::unwrap_used)]

mod bluesky;
mod feeds;
mod hostile;
mod mastodon;
mod network;
mod server;
mod world;
