//! Atalaya's listening sources: where mentions come from.
//!
//! Every source turns what it receives into [`item::IncomingMention`]s through
//! one validation path ([`item::MentionFields::into_mention`]):
//!
//! - pull: [`kinds`] implement [`source::PollSource`] (RSS/Atom today, via
//!   [`feed`]), reaching the network only through [`net::SafeHttpClient`], which
//!   refuses internal addresses, caps bodies and bounds time;
//! - push: [`webhook`] verifies HMAC-signed JSON and [`import`] streams CSV/JSONL
//!   files, both sharing the field names of [`mapping`];
//! - [`schedule`] decides when to poll next and how healthy a source is;
//! - [`secrets`] seals source secrets (webhook keys, feed credentials) at rest.
//!
//! Errors carry stable codes ([`error::SourceError::code`]) that the UI translates.
//! This crate never touches the database: the workers and the web crate call it
//! and store what it returns.

pub mod bluesky;
pub mod error;
pub mod feed;
pub mod import;
pub mod item;
pub mod kinds;
pub mod mapping;
pub mod mastodon;
pub mod net;
pub mod network;
pub mod schedule;
pub mod secrets;
pub mod source;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod webhook;

pub use error::{SourceError, panic_message};
pub use feed::{FeedPoll, Validators, poll_feed};
pub use item::{IncomingAuthor, IncomingMention};
pub use net::{AllowList, ApiBody, ApiRequest, HttpResponse, SafeHttpClient, SafeHttpConfig};
pub use network::{AccountCredentials, AccountSession};
pub use schedule::{SourceHealth, next_health, next_poll};
pub use secrets::SecretBox;
pub use source::{PollContext, PollOutcome, PollSource, SourceRegistry};
