//! `atalaya workspace add|list|member`: workspaces for agencies running several brands.

use anyhow::Context;
use atalaya_domain::{Role, Timestamp, validate_display_name, validate_slug, validate_username};
use atalaya_store::{NewAuditEntry, Store};
use clap::{Args, Subcommand};

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace.
    Add(AddArgs),
    /// List workspaces.
    List,
    /// Give a user a role in a workspace (adds or changes the membership).
    Member(MemberArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Short name used in URLs: a-z, 0-9 and '-'.
    pub slug: String,
    /// The brand or organisation's name.
    #[arg(long)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct MemberArgs {
    pub slug: String,
    pub username: String,
    #[arg(long)]
    pub role: Role,
}

pub async fn run(config: &Config, command: WorkspaceCommand) -> anyhow::Result<()> {
    let store = super::open_store(config).await?;
    let result = match command {
        WorkspaceCommand::Add(args) => add(&store, args).await,
        WorkspaceCommand::List => list(&store).await,
        WorkspaceCommand::Member(args) => member(&store, args).await,
    };
    store.close().await;
    result
}

async fn add(store: &Store, args: AddArgs) -> anyhow::Result<()> {
    let slug = validate_slug(&args.slug)?;
    let name = validate_display_name(&args.name)?;
    let workspace = store.workspaces().create(&slug, &name, false).await?;
    println!("created workspace {} ({})", workspace.slug, workspace.name);
    Ok(())
}

async fn list(store: &Store) -> anyhow::Result<()> {
    for workspace in store.workspaces().list().await? {
        let demo = if workspace.is_demo { " [demo]" } else { "" };
        println!("{:<24} {}{demo}", workspace.slug, workspace.name);
    }
    Ok(())
}

async fn member(store: &Store, args: MemberArgs) -> anyhow::Result<()> {
    let workspace = store
        .workspaces()
        .get_by_slug(&args.slug)
        .await?
        .with_context(|| format!("no workspace with slug {:?}", args.slug))?;
    let username = validate_username(&args.username)?;
    let user = store
        .users()
        .find_by_username(&username)
        .await?
        .with_context(|| format!("no user named {username:?}"))?;
    store
        .workspaces()
        .set_member(workspace.id, user.id, args.role)
        .await?;
    store
        .audit()
        .record(
            NewAuditEntry {
                workspace: Some(workspace.id),
                actor: None,
                action: atalaya_web::audit_actions::MEMBER_ADDED,
                target: &username,
                detail: serde_json::json!({ "role": args.role.as_str(), "via": "cli" }),
            },
            Timestamp::now(),
        )
        .await?;
    println!("{username} is now {} in {}", args.role, workspace.slug);
    Ok(())
}
