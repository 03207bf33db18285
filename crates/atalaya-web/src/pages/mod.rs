//! The server-rendered interface: one module per page family, askama templates
//! in `templates/`, every string from the catalogues in [`crate::i18n`].
//!
//! Each page struct carries `t` (the translator) and `shell` (what the layout
//! needs: the signed-in user, the CSRF token for forms, the current workspace's
//! navigation). Navigation shows only the sections that exist and that the
//! caller's role may open.

mod account;
pub mod accounts;
mod audit_log;
pub mod charts;
mod dashboard;
mod figures;
pub mod forms;
mod invite;
mod members;
pub mod mentions;
mod search;
mod settings;
mod setup;
mod sign_in;
pub mod sources;
mod styleguide;
mod topics;
mod workspaces;

use atalaya_domain::{Permission, Role, User};
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
        .route("/styleguide", get(styleguide::show))
        .route("/w/{slug}", get(dashboard::show))
        .route("/w/{slug}/theme.css", get(theme_css))
        .route("/w/{slug}/search", get(search::show))
        .route(
            "/w/{slug}/settings",
            get(settings::show).post(settings::save),
        )
        .route("/w/{slug}/members", get(members::list).post(members::add))
        .route(
            "/w/{slug}/members/{user_id}/role",
            post(members::change_role),
        )
        .route("/w/{slug}/members/{user_id}/remove", post(members::remove))
        .route("/w/{slug}/invitations", post(members::invite))
        .route(
            "/w/{slug}/invitations/{id}/revoke",
            post(members::revoke_invitation),
        )
        .route("/invite/{token}", get(invite::show).post(invite::accept))
        .route("/invite/{token}/register", post(invite::register))
        .route("/w/{slug}/audit", get(audit_log::show))
        .route("/w/{slug}/topics", get(topics::list).post(topics::create))
        .route("/w/{slug}/topics/new", get(topics::new))
        .route("/w/{slug}/topics/test", post(topics::test))
        .route("/w/{slug}/topics/{id}/active", post(topics::set_active))
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
        .route("/w/{slug}/sources/new", get(sources::new_form))
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

/// The workspace's topic colours as classes (`.topic-12 { --topic: #b45309 }`):
/// the CSP forbids inline styles, so colours that come from data arrive as a
/// stylesheet. Topic colours are checked `#rrggbb` when saved, and checked
/// again here so nothing else can reach CSS.
async fn theme_css(
    axum::extract::State(state): axum::extract::State<AppState>,
    crate::extract::CurrentUser(caller): crate::extract::CurrentUser,
    crate::extract::ApiPath(slug): crate::extract::ApiPath<String>,
) -> Result<axum::response::Response, crate::error::AppError> {
    use axum::response::IntoResponse;
    let access = crate::access::require(&state, &caller.user, &slug, Permission::Read).await?;
    let topics = state.store().topics().list(access.workspace.id).await?;
    let mut css = String::from("/* Topic colours of this workspace. */\n");
    for topic in &topics {
        let color = &topic.color;
        let valid = color.len() == 7
            && color.starts_with('#')
            && color[1..].bytes().all(|byte| byte.is_ascii_hexdigit());
        if valid {
            css.push_str(&format!(".topic-{} {{ --topic: {color}; }}\n", topic.id));
        }
    }
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "private, no-cache"),
        ],
        css,
    )
        .into_response())
}

/// What the layout (`base.html`) needs on every page.
#[derive(Debug, Clone)]
pub struct Shell {
    pub user: Option<User>,
    pub csrf: String,
    /// The current workspace's navigation, on workspace pages.
    pub nav: Option<WorkspaceNav>,
    /// The caller's workspaces, for the switcher (signed-in pages).
    pub workspaces: Vec<WorkspaceLink>,
    /// The language code shown as selected in the anonymous language switch.
    pub lang_code: &'static str,
    /// The current path, so the language switch can come back to it.
    pub here: String,
    /// `light` or `dark` when the person chose one; the system decides otherwise.
    pub theme: Option<&'static str>,
    /// Appended to our own assets' URLs so a new release is never served stale.
    pub assets: &'static str,
    /// The time zone the page's times are in (the workspace's, or UTC).
    pub time_zone: String,
    /// A confirmation to show as a toast (`?done=...`).
    pub toast: Option<String>,
    /// Pages outside the app (sign-in, setup, invitations) use the plain layout
    /// even for a signed-in visitor.
    pub plain: bool,
}

/// The current workspace's navigation.
#[derive(Debug, Clone)]
pub struct WorkspaceNav {
    pub slug: String,
    pub name: String,
    pub role: Role,
    pub role_label: &'static str,
    /// Which section is open: `dashboard`, `mentions`, `topics`, `sources`,
    /// `import`, `accounts`, `members`, `settings`, `audit` or `search`.
    pub section: &'static str,
    pub can_configure: bool,
    pub can_audit: bool,
    pub can_manage_members: bool,
    /// Initials and colour class of the workspace's mark.
    pub mark: String,
    pub mark_class: &'static str,
}

/// One of the caller's workspaces in the switcher.
#[derive(Debug, Clone)]
pub struct WorkspaceLink {
    pub slug: String,
    pub name: String,
    pub role_label: &'static str,
    pub mark: String,
    pub mark_class: &'static str,
    pub current: bool,
}

impl Shell {
    /// The shell of a page anyone may see (sign-in, setup, errors).
    pub fn from_context(context: &RequestContext) -> Shell {
        let user = context.caller.as_ref().map(|caller| caller.user.clone());
        Shell {
            theme: user
                .as_ref()
                .and_then(|user| user.theme)
                .map(atalaya_domain::Theme::as_str),
            user,
            csrf: context.csrf_token.clone(),
            nav: None,
            workspaces: Vec::new(),
            lang_code: context.lang.code(),
            here: String::from("/"),
            assets: crate::assets::version(),
            time_zone: String::from(crate::formats::DEFAULT_TIME_ZONE),
            toast: None,
            plain: false,
        }
    }

    /// The shell of a signed-in page outside any workspace (account, workspaces).
    pub async fn signed_in(
        state: &AppState,
        context: &RequestContext,
    ) -> Result<Shell, crate::error::AppError> {
        let mut shell = Shell::from_context(context);
        shell.workspaces = workspace_links(state, context, None).await?;
        Ok(shell)
    }

    /// The shell of a page of `access`'s workspace, with `section` open.
    pub async fn workspace(
        state: &AppState,
        context: &RequestContext,
        access: &WorkspaceAccess,
        section: &'static str,
    ) -> Result<Shell, crate::error::AppError> {
        let t = context.t();
        let mut shell = Shell::from_context(context);
        shell.workspaces = workspace_links(state, context, Some(access.workspace.id)).await?;
        shell.here = format!("/w/{}", access.workspace.slug);
        shell.time_zone.clone_from(&access.workspace.time_zone);
        shell.nav = Some(WorkspaceNav {
            slug: access.workspace.slug.clone(),
            name: access.workspace.name.clone(),
            role: access.role,
            role_label: role_label(t, access.role),
            section,
            can_configure: access.allows(Permission::Configure),
            can_audit: access.allows(Permission::Configure),
            can_manage_members: access.allows(Permission::Administer),
            mark: initials(&access.workspace.name),
            mark_class: color_class(&access.workspace.slug),
        });
        Ok(shell)
    }

    #[must_use]
    pub fn at(mut self, path: impl Into<String>) -> Shell {
        self.here = path.into();
        self
    }

    /// Shows `done`'s confirmation as a toast, when it names a known one.
    #[must_use]
    pub fn with_toast(mut self, t: Translator, done: Option<&str>) -> Shell {
        self.toast = done_notice(t, done);
        self
    }

    /// Whether the page is drawn inside the app (sidebar, top bar).
    pub fn app_layout(&self) -> bool {
        self.user.is_some() && !self.plain
    }

    #[must_use]
    pub fn plain(mut self) -> Shell {
        self.plain = true;
        self
    }
}

async fn workspace_links(
    state: &AppState,
    context: &RequestContext,
    current: Option<atalaya_domain::WorkspaceId>,
) -> Result<Vec<WorkspaceLink>, crate::error::AppError> {
    let Some(caller) = &context.caller else {
        return Ok(Vec::new());
    };
    let t = context.t();
    let mut links: Vec<WorkspaceLink> = state
        .store()
        .workspaces()
        .memberships_of(caller.user.id)
        .await?
        .into_iter()
        .map(|membership| WorkspaceLink {
            current: Some(membership.workspace.id) == current,
            role_label: role_label(t, membership.role),
            mark: initials(&membership.workspace.name),
            mark_class: color_class(&membership.workspace.slug),
            slug: membership.workspace.slug,
            name: membership.workspace.name,
        })
        .collect();
    links.sort_by_key(|link| link.name.to_lowercase());
    Ok(links)
}

/// Up to two initials of a name (`Café Aurora` → `CA`), for avatars and marks.
pub fn initials(name: &str) -> String {
    let mut letters = name
        .split(|c: char| c.is_whitespace() || c == '.' || c == '_' || c == '-' || c == '@')
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()));
    let first = letters.next();
    let second = letters.next();
    match (first, second) {
        (Some(a), Some(b)) => a.to_uppercase().chain(b.to_uppercase()).collect(),
        (Some(a), None) => a.to_uppercase().collect(),
        _ => String::from("?"),
    }
}

/// One of eight avatar colours, the same for the same key everywhere.
pub fn color_class(key: &str) -> &'static str {
    const CLASSES: [&str; 8] = [
        "avatar-c0",
        "avatar-c1",
        "avatar-c2",
        "avatar-c3",
        "avatar-c4",
        "avatar-c5",
        "avatar-c6",
        "avatar-c7",
    ];
    let hash = key.bytes().fold(0u32, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u32::from(byte))
    });
    CLASSES[(hash % 8) as usize]
}

/// A role's translated name.
pub fn role_label(t: Translator, role: Role) -> &'static str {
    t.lookup(&format!("role.{}", role.as_str()))
        .unwrap_or(role.as_str())
}

/// An audit entry as the activity log shows it: who, a sentence in the
/// reader's language built from the action and its details (never raw codes
/// or JSON), and when, exactly.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub when: crate::formats::TimeLabel,
    pub actor: String,
    pub actor_key: String,
    pub sentence: String,
    /// A detail worth showing under the sentence (a topic's query…).
    pub extra: Option<String>,
}

impl AuditRow {
    pub fn new(
        t: Translator,
        formats: &crate::formats::Formats,
        entry: &atalaya_store::AuditEntry,
    ) -> AuditRow {
        let actor = entry
            .actor_name
            .clone()
            .unwrap_or_else(|| t.get("audit.system").to_owned());
        let detail = |key: &str| -> Option<String> {
            match entry.detail.get(key)? {
                serde_json::Value::String(text) => Some(text.clone()),
                serde_json::Value::Number(number) => Some(number.to_string()),
                serde_json::Value::Bool(flag) => Some(flag.to_string()),
                _ => None,
            }
        };
        let role = |key: &str| {
            detail(key).map(|code| {
                t.lookup(&format!("role.{code}"))
                    .map_or(code.clone(), str::to_owned)
            })
        };
        let sentiment = |key: &str| {
            detail(key).map(|code| {
                t.lookup(&format!("sentiment.{code}"))
                    .map_or(code.clone(), str::to_owned)
            })
        };
        let target = entry.target.clone();
        let mut args: Vec<(&str, String)> = vec![("target", target)];
        for (name, value) in [
            ("role", role("role")),
            ("from_role", role("from")),
            ("to_role", role("to")),
            ("from_sentiment", sentiment("from")),
            ("to_sentiment", sentiment("to")),
            ("file", detail("file")),
            ("name", detail("name")),
            ("time_zone", detail("time_zone")),
            (
                "network",
                detail("network").map(|network| {
                    t.lookup(&format!("network.{network}"))
                        .map_or(network.clone(), str::to_owned)
                }),
            ),
        ] {
            if let Some(value) = value {
                args.push((name, value));
            }
        }
        let via = match detail("via").as_deref() {
            Some("cli") => Some(t.get("audit.via_cli")),
            Some("demo") => Some(t.get("audit.via_demo")),
            _ => None,
        };
        let filled: Vec<(&str, &str)> = args
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        let key = format!("audit_sentence.{}", entry.action);
        let sentence = match t.lookup(&key) {
            Some(_) => t.fill(&key, &filled),
            None => t.fill(
                "audit_sentence.other",
                &[
                    (
                        "action",
                        t.lookup(&format!("audit.{}", entry.action))
                            .unwrap_or(entry.action.as_str()),
                    ),
                    ("target", entry.target.as_str()),
                ],
            ),
        };
        let sentence = match via {
            Some(via) => format!("{sentence} {via}"),
            None => sentence,
        };
        AuditRow {
            when: formats.exact_label(entry.at),
            actor_key: entry.actor_name.clone().unwrap_or_default(),
            actor,
            sentence,
            extra: detail("query"),
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
}
