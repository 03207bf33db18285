//! A local preview of the interface for designing and reviewing pages:
//! an in-memory store with one workspace and two accounts, served on
//! 127.0.0.1. Nothing is written to disk; stop it with Ctrl-C.
//!
//! ```text
//! cargo run -p atalaya-web --example preview -- 127.0.0.1:8099
//! ```

use atalaya_domain::{Role, Timestamp};
use atalaya_store::{NewAuditEntry, NewUser, Store};
use atalaya_web::{AppState, WebSettings, auth, serve};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .init();
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| String::from("127.0.0.1:8099"));
    let store = Store::connect("sqlite::memory:").await?;
    store.migrate().await?;

    let password = auth::random_token();
    let hash = auth::hash_password(&password)?;
    let admin = store
        .users()
        .create(NewUser {
            username: "preview",
            email: "preview@example.org",
            display_name: "Preview Admin",
            password_hash: &hash,
            is_instance_admin: true,
        })
        .await?;
    let colleague = store
        .users()
        .create(NewUser {
            username: "lucia",
            email: "lucia@example.org",
            display_name: "Lucía Gómez",
            password_hash: &hash,
            is_instance_admin: false,
        })
        .await?;
    let workspace = store
        .workspaces()
        .create("cafe-aurora", "Café Aurora", true)
        .await?;
    store
        .workspaces()
        .set_member(workspace.id, admin.id, Role::Admin)
        .await?;
    store
        .workspaces()
        .set_member(workspace.id, colleague.id, Role::Agent)
        .await?;
    store
        .audit()
        .record(
            NewAuditEntry {
                workspace: Some(workspace.id),
                actor: Some(admin.id),
                action: atalaya_web::audit_actions::MEMBER_ADDED,
                target: "lucia",
                detail: serde_json::json!({ "role": "agent" }),
            },
            Timestamp::now(),
        )
        .await?;

    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("username: preview");
    println!("password: {password}");
    println!("Preview listening on http://{}", listener.local_addr()?);
    let state = AppState::new(store, WebSettings::default());
    serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
