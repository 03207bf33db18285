//! The workers' test suite: the runner and the jobs against real stores, each
//! test on in-memory SQLite and on a fresh PostgreSQL database
//! (`scripts/test-postgres.sh start`), plus two worker processes sharing one
//! PostgreSQL queue.
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
mod backfill;
mod ingest;
mod mail;
mod maintenance;
mod network_peers;
mod poll;
mod runner;
mod two_processes;
