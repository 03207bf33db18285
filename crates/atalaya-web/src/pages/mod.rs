//! The server-rendered interface: one module per page family, askama templates
//! in `templates/`, every string from the catalogues in [`crate::i18n`].
//!
//! Each page struct carries `t` (the translator) and `shell` (what the layout
//! needs: the signed-in user, the CSRF token for forms, the current workspace's
//! navigation). Navigation shows only the sections that exist and that the
//! caller's role may open.

mod account;
mod accounts;
mod audit_log;
mod dashboard;
mod figures;
mod members;
mod mentions;
mod setup;
mod sign_in;
mod sources;
mod topics;
mod workspaces;

use atalaya_domain::{Permission, Role, Timestamp, User};
use axum::Router;
use axum::routing::{get, post};

use crate::AppState;
use crate::access::WorkspaceAccess;
use crate::i18n::Translator;
use crate::session::RequestContext;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(sign_in::home))
        .route("/login", get(sign_in::show).post(sign_in::submit))
        .route("/logout", post(sign_in::logout))
        .route("/lang", post(sign_in::switch_language))
        .route("/setup", get(setup::show).post(setup::submit))
        .route(
            "/workspaces",
            get(workspaces::list).post(workspaces::create),
        )
        .route("/w/{slug}", get(dashboard::show))
        .route("/w/{slug}/members", get(members::list).post(members::add))
        .route(
            "/w/{slug}/members/{user_id}/role",
            post(members::change_role),
        )
        .route("/w/{slug}/members/{user_id}/remove", post(members::remove))
        .route("/w/{slug}/audit", get(audit_log::show))
        .route("/w/{slug}/topics", get(topics::list).post(topics::create))
        .route("/w/{slug}/topics/test", post(topics::test))
        .route(
            "/w/{slug}/topics/{id}",
            get(topics::edit).post(topics::update),
        )
        .route("/w/{slug}/topics/{id}/delete", post(topics::delete))
        .route("/w/{slug}/mentions", get(mentions::list))
        .route("/w/{slug}/mentions/{id}/sentiment", post(mentions::correct))
        .route("/w/{slug}/views", post(mentions::save_view))
        .route("/w/{slug}/views/{id}/delete", post(mentions::delete_view))
        .route(
            "/w/{slug}/sources",
            get(sources::list).post(sources::create),
        )
        .route("/w/{slug}/sources/{id}/enabled", post(sources::set_enabled))
        .route("/w/{slug}/sources/{id}/archive", post(sources::archive))
        .route("/w/{slug}/sources/{id}/check", post(sources::check_now))
        .route(
            "/w/{slug}/import",
            get(sources::show_import)
                .post(sources::upload)
                // The handler streams the file and enforces the configured cap.
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/w/{slug}/import/{id}", get(sources::show_progress_page))
        .route("/w/{slug}/import/{id}/progress", get(sources::progress))
        .route("/w/{slug}/accounts", get(accounts::list))
        .route(
            "/w/{slug}/accounts/mastodon",
            post(accounts::connect_mastodon),
        )
        .route(
            crate::listening::accounts::MASTODON_CALLBACK_PATH,
            get(accounts::mastodon_callback),
        )
        .route(
            "/w/{slug}/accounts/bluesky",
            post(accounts::connect_bluesky),
        )
        .route(
            "/w/{slug}/accounts/{id}/disconnect",
            post(accounts::disconnect),
        )
        .route("/account", get(account::show))
        .route("/account/language", post(account::set_language))
        .route("/account/password", post(account::change_password))
        .route("/account/tokens", post(account::create_token))
        .route(
            "/account/tokens/{token_id}/revoke",
            post(account::revoke_token),
        )
}

/// What the layout (`base.html`) needs on every page.
#[derive(Debug, Clone)]
pub struct Shell {
    pub user: Option<User>,
    pub csrf: String,
    pub nav: Option<WorkspaceNav>,
    /// The language code shown as selected in the anonymous language switch.
    pub lang_code: &'static str,
    /// The current path, so the language switch can come back to it.
    pub here: String,
}

/// The current workspace's navigation.
#[derive(Debug, Clone)]
pub struct WorkspaceNav {
    pub slug: String,
    pub name: String,
    pub role: Role,
    /// Which section is open: `dashboard`, `mentions`, `topics`, `sources`,
    /// `accounts`, `members` or `audit`.
    pub section: &'static str,
    pub can_audit: bool,
}

impl Shell {
    pub fn from_context(context: &RequestContext) -> Shell {
        Shell {
            user: context.caller.as_ref().map(|caller| caller.user.clone()),
            csrf: context.csrf_token.clone(),
            nav: None,
            lang_code: context.lang.code(),
            here: String::from("/"),
        }
    }

    #[must_use]
    pub fn at(mut self, path: impl Into<String>) -> Shell {
        self.here = path.into();
        self
    }

    #[must_use]
    pub fn in_workspace(mut self, access: &WorkspaceAccess, section: &'static str) -> Shell {
        self.here = format!("/w/{}", access.workspace.slug);
        self.nav = Some(WorkspaceNav {
            slug: access.workspace.slug.clone(),
            name: access.workspace.name.clone(),
            role: access.role,
            section,
            can_audit: access.allows(Permission::Configure),
        });
        self
    }
}

/// A role's translated name.
pub fn role_label(t: Translator, role: Role) -> &'static str {
    t.lookup(&format!("role.{}", role.as_str()))
        .unwrap_or(role.as_str())
}

/// `2026-11-22 06:30 UTC`: unambiguous for a team spread over time zones.
pub fn format_time(at: Timestamp) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.millis()) * 1_000_000)
        .ok()
        .and_then(|moment| moment.format(&format).ok())
        .unwrap_or_else(|| at.millis().to_string())
}

/// An audit entry as the tables show it.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

impl AuditRow {
    pub fn new(t: Translator, entry: &atalaya_store::AuditEntry) -> AuditRow {
        let action = t
            .lookup(&format!("audit.{}", entry.action))
            .unwrap_or(entry.action.as_str())
            .to_owned();
        let detail = match &entry.detail {
            serde_json::Value::Null => String::new(),
            serde_json::Value::Object(map) if map.is_empty() => String::new(),
            other => other.to_string(),
        };
        AuditRow {
            at: format_time(entry.at),
            actor: entry
                .actor_name
                .clone()
                .unwrap_or_else(|| t.get("audit.system").to_owned()),
            action,
            target: entry.target.clone(),
            detail,
        }
    }
}

/// A confirmation shown after a redirect (`?done=...`). Only known keys are
/// shown, so the query string cannot inject text.
pub fn done_notice(t: Translator, done: Option<&str>) -> Option<String> {
    let key = format!("done.{}", done?);
    t.lookup(&key).map(str::to_owned)
}

/// `next` if it is a path on this site, so that redirects built from user input
/// cannot send anyone elsewhere (`//host`, `/\\host` and absolute URLs are refused).
pub fn local_path(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    local.then_some(next)
}

#[derive(Debug, serde::Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(next: &str, expected: Option<&str>) {
        assert_eq!(local_path(next), expected, "{next:?}");
    }

    #[test]
    fn only_local_paths_are_redirect_targets() {
        check("/w/acme", Some("/w/acme"));
        check("/account?tab=2", Some("/account?tab=2"));
        check("//evil.example/", None);
        check("/\\evil.example", None);
        check("https://evil.example/", None);
        check("", None);
        check("/a\nb", None);
    }

    #[test]
    fn times_are_formatted_in_utc() {
        assert_eq!(format_time(Timestamp(0)), "1970-01-01 00:00 UTC");
        assert_eq!(
            format_time(Timestamp(1_795_000_000_000)),
            "2026-11-18 11:06 UTC"
        );
    }
}
