//! Rebuilds the crate when a migration is added: `sqlx::migrate!` embeds the
//! migration files at compile time and cargo would not notice a new one otherwise.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
