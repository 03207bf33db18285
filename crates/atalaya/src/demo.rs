//! The demo workspace: a fictional coffee roaster, "Café Aurora", with a small
//! team, so that a newcomer can click through Atalaya a minute after cloning it.
//!
//! Everything here is invented for the demo and marked as such (the workspace
//! is flagged `is_demo`). Running it again refreshes the workspace and gives the
//! demo users a new password, which is printed: there is no default password.

use anyhow::Context;
use atalaya_domain::{Role, Timestamp, Workspace};
use atalaya_store::{NewAuditEntry, NewUser, Store};

use crate::commands::user::generate_password;

pub const DEMO_SLUG: &str = "cafe-aurora";
pub const DEMO_NAME: &str = "Café Aurora (demo)";

/// The demo team: username, display name, role in the demo workspace.
const TEAM: [(&str, &str, Role); 5] = [
    ("demo", "Demo Admin", Role::Admin),
    ("lucia.manager", "Lucía Romero", Role::Manager),
    ("marcos.agent", "Marcos Vidal", Role::Agent),
    ("ines.contrib", "Inés Prado", Role::Contributor),
    ("oliver.viewer", "Oliver Grant", Role::Viewer),
];

/// What a newcomer needs to sign in.
#[derive(Debug, Clone)]
pub struct DemoCredentials {
    pub workspace: Workspace,
    pub username: String,
    pub password: String,
    pub other_users: Vec<(String, Role)>,
    pub listening: crate::demo_listening::DemoListening,
}

/// Creates or refreshes the demo workspace and its team.
pub async fn load(store: &Store) -> anyhow::Result<DemoCredentials> {
    if let Some(existing) = store.workspaces().get_by_slug(DEMO_SLUG).await? {
        anyhow::ensure!(
            existing.is_demo,
            "a workspace with slug {DEMO_SLUG:?} exists and is not the demo: refusing to replace it"
        );
        store
            .workspaces()
            .delete(existing.id)
            .await
            .context("removing the old demo workspace")?;
    }
    let workspace = store
        .workspaces()
        .create(DEMO_SLUG, DEMO_NAME, true)
        .await?;
    let workspace = store
        .workspaces()
        .update_settings(
            workspace.id,
            &workspace.name,
            crate::demo_listening::DEMO_TIME_ZONE,
        )
        .await?;
    let password = generate_password();
    let hash = atalaya_web::auth::hash_password(&password).context("hashing the demo password")?;
    let now = Timestamp::now();
    let mut ids = Vec::new();
    for (username, display_name, role) in TEAM {
        let user = match store.users().find_by_username(username).await? {
            Some(user) => {
                store.users().set_password_hash(user.id, &hash).await?;
                user
            }
            None => {
                store
                    .users()
                    .create(NewUser {
                        username,
                        email: &format!("{username}@demo.atalaya.invalid"),
                        display_name,
                        password_hash: &hash,
                        // The person trying the demo owns the instance: they
                        // may create workspaces; the rest of the team may not.
                        is_instance_admin: username == TEAM[0].0,
                    })
                    .await?
            }
        };
        store
            .workspaces()
            .set_member(workspace.id, user.id, role)
            .await?;
        ids.push(user.id);
        store
            .audit()
            .record(
                NewAuditEntry {
                    workspace: Some(workspace.id),
                    actor: None,
                    action: atalaya_web::audit_actions::MEMBER_ADDED,
                    target: username,
                    detail: serde_json::json!({ "role": role.as_str(), "via": "demo" }),
                },
                now.plus_millis(-62 * 86_400_000),
            )
            .await?;
    }
    let team = crate::demo_listening::DemoTeam {
        manager: ids[1],
        agent: ids[2],
        contributor: ids[3],
    };
    let listening = crate::demo_listening::load(store, &workspace, team)
        .await
        .context("loading the demo topics, sources and mentions")?;
    Ok(DemoCredentials {
        listening,
        workspace,
        username: TEAM[0].0.to_owned(),
        password,
        other_users: TEAM[1..]
            .iter()
            .map(|(name, _, role)| ((*name).to_owned(), *role))
            .collect(),
    })
}

pub fn print_credentials(credentials: &DemoCredentials, url: Option<&str>) {
    println!(
        "demo workspace: {} ({})",
        credentials.workspace.name, credentials.workspace.slug
    );
    let listening = credentials.listening;
    println!(
        "demo data: {} topics, {} sources, {} mentions (invented for the demo)",
        listening.topics, listening.sources, listening.mentions
    );
    if let Some(url) = url {
        println!("open:     {url}");
    }
    println!("username: {}", credentials.username);
    println!("password: {}", credentials.password);
    let others: Vec<String> = credentials
        .other_users
        .iter()
        .map(|(name, role)| format!("{name} ({role})"))
        .collect();
    println!(
        "the same password signs in the rest of the demo team: {}",
        others.join(", ")
    );
}
