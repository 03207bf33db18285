//! One module per polling source kind. Each is registered in
//! [`crate::source::SourceRegistry::standard`].

pub mod bluesky;
pub mod mastodon;
pub mod rss;
