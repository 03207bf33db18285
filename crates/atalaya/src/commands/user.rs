//! `atalaya user add|list|passwd`: the way the first administrator is created
//! on a server without a browser, and the way out of a forgotten password.

use std::io::BufRead;

use anyhow::{Context, bail};
use atalaya_domain::{
    Role, Timestamp, validate_display_name, validate_email, validate_password, validate_username,
};
use atalaya_store::{NewAuditEntry, NewUser, Store};
use clap::{Args, Subcommand};
use rand::Rng;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin a strong password is generated and printed once.
    Add(AddArgs),
    /// List users.
    List,
    /// Set a new password (and sign the user out everywhere).
    Passwd(PasswdArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    pub username: String,
    #[arg(long)]
    pub email: String,
    /// Display name; defaults to the username.
    #[arg(long)]
    pub name: Option<String>,
    /// Make the user an instance administrator (creates workspaces, manages users).
    #[arg(long)]
    pub admin: bool,
    /// Add the user to this workspace (by slug)…
    #[arg(long, requires = "role")]
    pub workspace: Option<String>,
    /// …with this role: admin, manager, agent, contributor, viewer.
    #[arg(long, requires = "workspace")]
    pub role: Option<Role>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct PasswdArgs {
    pub username: String,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

pub async fn run(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let store = super::open_store(config).await?;
    let result = match command {
        UserCommand::Add(args) => add(&store, args).await,
        UserCommand::List => list(&store).await,
        UserCommand::Passwd(args) => passwd(&store, args).await,
    };
    store.close().await;
    result
}

async fn add(store: &Store, args: AddArgs) -> anyhow::Result<()> {
    let username = validate_username(&args.username)?;
    let email = validate_email(&args.email)?;
    let display_name = validate_display_name(args.name.as_deref().unwrap_or(&username))?;
    // Look the workspace up before creating anything, so a typo changes nothing.
    let workspace = match &args.workspace {
        Some(slug) => Some(
            store
                .workspaces()
                .get_by_slug(slug)
                .await?
                .with_context(|| {
                    format!("no workspace with slug {slug:?} (see `atalaya workspace list`)")
                })?,
        ),
        None => None,
    };
    let (password, generated) = obtain_password(args.password_stdin)?;
    let password_hash =
        atalaya_web::auth::hash_password(&password).context("hashing the password")?;
    let user = store
        .users()
        .create(NewUser {
            username: &username,
            email: &email,
            display_name: &display_name,
            password_hash: &password_hash,
            is_instance_admin: args.admin,
        })
        .await?;
    if let (Some(workspace), Some(role)) = (workspace, args.role) {
        store
            .workspaces()
            .set_member(workspace.id, user.id, role)
            .await?;
        store
            .audit()
            .record(
                NewAuditEntry {
                    workspace: Some(workspace.id),
                    actor: None,
                    action: atalaya_web::audit_actions::MEMBER_ADDED,
                    target: &username,
                    detail: serde_json::json!({ "role": role.as_str(), "via": "cli" }),
                },
                Timestamp::now(),
            )
            .await?;
        println!("added {username} to {} as {role}", workspace.slug);
    }
    println!("created user {username} (id {})", user.id);
    if generated {
        println!("password: {password}");
        println!("(shown only now; change it with `atalaya user passwd {username}`)");
    }
    Ok(())
}

async fn list(store: &Store) -> anyhow::Result<()> {
    let users = store.users().list().await?;
    if users.is_empty() {
        println!(
            "no users yet: create the first administrator with `atalaya user add NAME --email ADDRESS --admin`"
        );
        return Ok(());
    }
    println!(
        "{:<6} {:<24} {:<32} {:<6}",
        "id", "username", "email", "admin"
    );
    for user in users {
        println!(
            "{:<6} {:<24} {:<32} {:<6}",
            user.id,
            user.username,
            user.email,
            if user.is_instance_admin { "yes" } else { "" }
        );
    }
    Ok(())
}

async fn passwd(store: &Store, args: PasswdArgs) -> anyhow::Result<()> {
    let username = validate_username(&args.username)?;
    let user = store
        .users()
        .find_by_username(&username)
        .await?
        .with_context(|| format!("no user named {username:?}"))?;
    let (password, generated) = obtain_password(args.password_stdin)?;
    let hash = atalaya_web::auth::hash_password(&password).context("hashing the password")?;
    store.users().set_password_hash(user.id, &hash).await?;
    let signed_out = store.sessions().delete_for_user(user.id).await?;
    println!("password changed for {username}; {signed_out} session(s) signed out");
    if generated {
        println!("password: {password}");
    }
    Ok(())
}

/// Reads the password from stdin, or generates one. Returns whether it was generated.
fn obtain_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((generate_password(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    validate_password(&password)?;
    Ok((password, false))
}

/// 20 characters from a 56-symbol alphabet without look-alikes: about 116 bits.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_passwords_are_valid_and_differ() {
        let first = super::generate_password();
        let second = super::generate_password();
        assert_eq!(first.len(), 20);
        assert!(atalaya_domain::validate_password(&first).is_ok());
        assert_ne!(first, second);
    }
}
