//! The store's test suite. Every test is an `async fn(Store)` run twice: on an
//! in-memory SQLite database and on a fresh database of a real PostgreSQL server
//! (`scripts/test-postgres.sh start`; the PostgreSQL variants fail if it is not set).
//! The listening tests run a third time, on a SQLite file.
#![allow(clippy::unwrap_used)]

/// Generates `sqlite::NAME` and `postgres::NAME` tests for each listed test function.
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(atalaya_store::testing::fresh_sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(atalaya_store::testing::fresh_postgres().await).await;
                }
            )*
        }
    };
}

/// [`on_both_backends`] plus `sqlite_file::NAME`, on a SQLite file: for the
/// writes that SQLite's native batch writer makes, which reach a file database
/// through their own connection.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        on_both_backends!($($test),*);
        mod sqlite_file {
            $(
                #[tokio::test]
                async fn $test() {
                    let (store, _directory) = atalaya_store::testing::fresh_sqlite_file().await;
                    super::$test(store).await;
                }
            )*
        }
    };
}

mod accounts;
mod backfills;
mod connect;
mod invitations;
mod jobs;
mod listening;
mod network_accounts;
