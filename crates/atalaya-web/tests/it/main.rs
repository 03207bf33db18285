//! Integration tests of the web crate: the router driven through
//! `router(state).oneshot(..)`, each test on its own store: in-memory SQLite,
//! and for the flows named in `on_both_databases!`, a fresh PostgreSQL database too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Runs each named `async fn(Db)` as two tests, `sqlite::<name>` and
/// `postgresql::<name>`, so a flow that works on one backend only fails by name.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(crate::support::Db::Sqlite).await;
            })*
        }
        mod postgresql {
            $(#[tokio::test]
            async fn $name() {
                super::$name(crate::support::Db::Postgres).await;
            })*
        }
    };
}

mod accounts;
mod api;
mod authorization;
mod csrf;
mod dashboard;
mod health;
mod invitations;
mod language;
mod listening;
mod openapi;
mod postgres;
mod server;
mod setup;
mod sign_in;
mod support;
mod topic_backfills;
