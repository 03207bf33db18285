//! The store's test suite. Every test is an `async fn(Store)` run twice: on an
//! in-memory SQLite database and on a fresh database of a real PostgreSQL server
//! (`scripts/test-postgres.sh start`; the PostgreSQL variants fail if it is not set).
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

mod accounts;
mod connect;
mod jobs;
mod listening;
mod network_accounts;
