//! The sources pages: every feed, webhook, import and network source with its
//! health at a glance (working, failing with the reason in the reader's
//! language, paused), when it was last checked and what it brought; a page to
//! add one that keeps what was typed when something is wrong; and the import
//! upload: a multipart file streamed to a temporary file under the configured
//! cap, imported in the background, its progress polled by htmx, then the
//! report of rejected rows.

use askama::Template;
use askama_web::WebTemplate;
use std::collections::HashMap;

use atalaya_domain::{AccountId, Permission, Source, SourceHealth, SourceId, Timestamp};
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::forms::FormErrors;
use super::{DoneQuery, Shell};
use crate::AppState;
use crate::access::{WorkspaceAccess, require};
use crate::audit_actions;
use crate::error::AppError;
use crate::extract::{ApiPath, ApiQuery, Context, CurrentUser, WebForm};
use crate::formats::{Formats, TimeLabel};
use crate::i18n::Translator;
use crate::imports::ImportProgress;
use crate::listening::sources::{self, SourceChange, SourceInput, WebhookCredentials};
use crate::listening::{audit, sources::public_config};
use crate::session::RequestContext;

pub struct SourceRow {
    id: i64,
    name: String,
    kind_label: String,
    /// The icon: `rss`, `webhook`, `import`, `mastodon` or `bluesky`.
    network: &'static str,
    url: Option<String>,
    health: &'static str,
    health_label: &'static str,
    last_error: Option<String>,
    last_polled: Option<TimeLabel>,
    next_poll: Option<TimeLabel>,
    mentions: String,
    enabled: bool,
    is_import: bool,
    /// The handle of the account a network source listens through.
    account: Option<String>,
    /// Enabled and polled (not a webhook or an import): can be checked now.
    can_check: bool,
    /// A poll of it is queued or running: the row says so and refreshes.
    checking: bool,
}

/// A source's last error by its stable code, in the reader's language; the raw
/// text (English, from the connector) only when the code is unknown.
pub fn source_error_message(t: Translator, source: &Source) -> Option<String> {
    source.last_error_code.as_deref().map(|code| {
        t.lookup(&format!("source_error.{code}"))
            .map(str::to_owned)
            .or_else(|| source.last_error.clone())
            .unwrap_or_else(|| code.to_owned())
    })
}

/// The health a person reads: webhooks and imports are never polled, so while
/// enabled they are "receiving", not "waiting for the first check"; a source
/// switched off by a person is "paused".
fn shown_health(source: &Source) -> &'static str {
    let is_push = atalaya_store::PUSH_KINDS.contains(&source.kind.as_str());
    match source.health {
        SourceHealth::Pending if is_push => "receiving",
        SourceHealth::Disabled if source.last_error_code.is_none() => "paused",
        other => other.as_str(),
    }
}

fn source_row(
    t: Translator,
    formats: &Formats,
    source: &Source,
    handles: &HashMap<AccountId, String>,
    checking: bool,
) -> SourceRow {
    let config = public_config(source);
    let health = shown_health(source);
    SourceRow {
        id: source.id.get(),
        name: source.name.clone(),
        kind_label: t
            .lookup(&format!("source_kind.{}", source.kind))
            .unwrap_or(source.kind.as_str())
            .to_owned(),
        network: super::mentions::network_of(&source.kind),
        url: config
            .get("url")
            .and_then(|url| url.as_str())
            .map(str::to_owned),
        health,
        health_label: t.lookup(&format!("health.{health}")).unwrap_or(health),
        last_error: source_error_message(t, source),
        last_polled: source.last_polled_at.map(|at| formats.label(at)),
        next_poll: source
            .next_poll_at
            .filter(|_| source.enabled)
            .map(|at| formats.label(at)),
        mentions: t.count("sources.mentions_count", source.mentions_total),
        enabled: source.enabled,
        is_import: source.kind == "import",
        can_check: source.enabled && source.next_poll_at.is_some(),
        checking: checking && source.enabled,
        account: source.account_id.and_then(|id| handles.get(&id).cloned()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "sources.html")]
pub struct SourcesPage {
    t: Translator,
    shell: Shell,
    slug: String,
    sources: Vec<SourceRow>,
    working: String,
    attention: String,
    paused: String,
    can_configure: bool,
    /// Shown once, right after a webhook is created.
    webhook: Option<WebhookCredentials>,
    /// Some source is being checked: the list refreshes itself until it is done.
    refreshing: bool,
}

pub struct KindOption {
    value: &'static str,
    label: &'static str,
}

pub struct AccountOption {
    id: i64,
    label: String,
}

async fn page(
    state: &AppState,
    context: &RequestContext,
    access: &WorkspaceAccess,
    webhook: Option<WebhookCredentials>,
    done: Option<&str>,
) -> Result<SourcesPage, AppError> {
    let t = context.t();
    let formats = Formats::new(t, &access.workspace.time_zone, Timestamp::now());
    let now = Timestamp::now();
    let list = state.store().sources().list(access.workspace.id).await?;
    let checking = state
        .store()
        .sources()
        .being_checked(access.workspace.id, now)
        .await?;
    let accounts = state.store().accounts().list(access.workspace.id).await?;
    let handles: HashMap<AccountId, String> = accounts
        .iter()
        .map(|account| (account.id, account.handle.clone()))
        .collect();
    let rows: Vec<SourceRow> = list
        .iter()
        .map(|source| source_row(t, &formats, source, &handles, checking.contains(&source.id)))
        .collect();
    let count = |wanted: &[&str]| -> i64 {
        i64::try_from(
            rows.iter()
                .filter(|row| wanted.contains(&row.health))
                .count(),
        )
        .unwrap_or(0)
    };
    Ok(SourcesPage {
        t,
        shell: Shell::workspace(state, context, access, "sources")
            .await?
            .with_toast(t, done),
        slug: access.workspace.slug.clone(),
        working: t.count(
            "sources.summary_working",
            count(&["ok", "receiving", "pending"]),
        ),
        attention: t.count(
            "sources.summary_attention",
            count(&["degraded", "failing", "disabled"]),
        ),
        paused: t.count("sources.summary_paused", count(&["paused"])),
        refreshing: rows.iter().any(|row| row.checking),
        sources: rows,
        can_configure: access.allows(Permission::Configure),
        webhook,
    })
}

pub async fn list(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<DoneQuery>,
) -> Result<SourcesPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    page(&state, &context, &access, None, query.done.as_deref()).await
}

#[derive(Debug, Default, Deserialize)]
pub struct SourceForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    interval_minutes: Option<String>,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    hashtag: Option<String>,
    #[serde(default)]
    query: Option<String>,
    /// A checkbox: present when ticked.
    #[serde(default)]
    from_topics: Option<String>,
    /// A checkbox: present when ticked.
    #[serde(default)]
    local: Option<String>,
}

/// A ticked checkbox sends its value (`on` by default); an unticked one sends nothing.
fn ticked(value: Option<&str>) -> bool {
    value.is_some_and(|value| !matches!(value.trim(), "" | "false" | "0" | "off"))
}

#[derive(Template, WebTemplate)]
#[template(path = "source_new.html")]
pub struct NewSourcePage {
    t: Translator,
    shell: Shell,
    slug: String,
    kinds: Vec<KindOption>,
    /// Network kinds the workspace has an account for.
    network_kinds: Vec<KindOption>,
    accounts: Vec<AccountOption>,
    form: SourceForm,
    interval: String,
    errors: FormErrors,
}

async fn new_page(
    state: &AppState,
    context: &RequestContext,
    access: &WorkspaceAccess,
    form: SourceForm,
    errors: FormErrors,
) -> Result<NewSourcePage, AppError> {
    let t = context.t();
    let accounts = state.store().accounts().list(access.workspace.id).await?;
    let label = |kind: &'static str| t.lookup(&format!("source_kind.{kind}")).unwrap_or(kind);
    let network_kinds = sources::network_kinds()
        .into_iter()
        .filter(|(_, network)| accounts.iter().any(|account| account.network == *network))
        .map(|(kind, _)| KindOption {
            value: kind,
            label: label(kind),
        })
        .collect();
    Ok(NewSourcePage {
        t,
        shell: Shell::workspace(state, context, access, "sources").await?,
        slug: access.workspace.slug.clone(),
        kinds: sources::CREATABLE_KINDS
            .into_iter()
            .map(|kind| KindOption {
                value: kind,
                label: label(kind),
            })
            .collect(),
        network_kinds,
        accounts: accounts
            .iter()
            .map(|account| AccountOption {
                id: account.id.get(),
                label: format!(
                    "{} ({})",
                    account.handle,
                    t.lookup(&format!("network.{}", account.network.as_str()))
                        .unwrap_or(account.network.as_str())
                ),
            })
            .collect(),
        interval: form
            .interval_minutes
            .clone()
            .unwrap_or_else(|| sources::DEFAULT_INTERVAL_MINUTES.to_string()),
        form,
        errors,
    })
}

pub async fn new_form(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<NewSourcePage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let form = SourceForm {
        kind: String::from("rss"),
        ..SourceForm::default()
    };
    new_page(&state, &context, &access, form, FormErrors::none()).await
}

fn source_input(form: &SourceForm) -> Result<SourceInput, AppError> {
    let interval_minutes = match form.interval_minutes.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            text.parse()
                .map_err(|_| AppError::field("interval_minutes", "validation.interval"))?,
        ),
    };
    let account_id = match form.account_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            text.parse()
                .map_err(|_| AppError::field("account_id", "validation.account_unknown"))?,
        ),
    };
    Ok(SourceInput {
        kind: form.kind.clone(),
        name: form.name.clone(),
        url: form.url.clone(),
        interval_minutes,
        account_id,
        hashtag: form.hashtag.clone(),
        query: form.query.clone(),
        from_topics: Some(ticked(form.from_topics.as_deref())),
        local: Some(ticked(form.local.as_deref())),
    })
}

/// Creates a source and shows the list directly (not a redirect): a webhook's
/// URL and secret must appear once and never be put in a URL. A problem the
/// person can fix brings the form back with what they typed.
pub async fn create(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    WebForm(form): WebForm<SourceForm>,
) -> Result<Response, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let created = match source_input(&form) {
        Ok(input) => sources::create(&state, &access, &caller.user, &input).await,
        Err(error) => Err(error),
    };
    match created {
        Ok(created) => Ok(page(
            &state,
            &context,
            &access,
            created.webhook,
            Some("source_created"),
        )
        .await?
        .into_response()),
        Err(error) => {
            let errors = FormErrors::from_error(context.t(), error, |_| None)?;
            let page = new_page(&state, &context, &access, form, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct EnabledForm {
    enabled: String,
}

pub async fn set_enabled(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
    WebForm(form): WebForm<EnabledForm>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let change = SourceChange {
        enabled: Some(form.enabled == "true"),
        ..SourceChange::default()
    };
    sources::change(&state, &access, &caller.user, SourceId(id), &change).await?;
    Ok(Redirect::to(&format!(
        "/w/{slug}/sources?done=source_updated"
    )))
}

pub async fn check_now(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    sources::check_now(&state, &access, SourceId(id)).await?;
    Ok(Redirect::to(&format!(
        "/w/{slug}/sources?done=source_check"
    )))
}

pub async fn archive(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    sources::archive(&state, &access, &caller.user, SourceId(id)).await?;
    Ok(Redirect::to(&format!(
        "/w/{slug}/sources?done=source_archived"
    )))
}

pub struct ImportSourceOption {
    id: i64,
    name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "import.html")]
pub struct ImportPage {
    t: Translator,
    shell: Shell,
    slug: String,
    import_sources: Vec<ImportSourceOption>,
    max_megabytes: u64,
    /// The import being shown, with its progress or report.
    progress: Option<ImportProgress>,
}

pub async fn show_import(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<ImportPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    import_page(&state, &context, &access, None).await
}

async fn import_page(
    state: &AppState,
    context: &RequestContext,
    access: &WorkspaceAccess,
    progress: Option<ImportProgress>,
) -> Result<ImportPage, AppError> {
    let list = state.store().sources().list(access.workspace.id).await?;
    Ok(ImportPage {
        t: context.t(),
        shell: Shell::workspace(state, context, access, "import").await?,
        slug: access.workspace.slug.clone(),
        import_sources: list
            .into_iter()
            .filter(|source| source.kind == "import")
            .map(|source| ImportSourceOption {
                id: source.id.get(),
                name: source.name,
            })
            .collect(),
        max_megabytes: state.listening().max_upload_bytes / (1024 * 1024),
        progress,
    })
}

/// Streams the upload to a temporary file (refusing it past the cap without
/// reading the rest), then starts the background import.
pub async fn upload(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    mut multipart: Multipart,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let cap = state.listening().max_upload_bytes;
    let malformed = |error: axum::extract::multipart::MultipartError| AppError::MalformedBody {
        detail: error.body_text(),
    };
    let mut source_id = None;
    let mut upload = None;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("source_id") => {
                let text = field.text().await.map_err(malformed)?;
                source_id = text.trim().parse::<i64>().ok().map(SourceId);
            }
            Some("file") => {
                let file_name = field.file_name().unwrap_or("upload").to_owned();
                let temp = match &state.listening().upload_dir {
                    Some(dir) => tempfile::NamedTempFile::new_in(dir),
                    None => tempfile::NamedTempFile::new(),
                }
                .map_err(AppError::internal)?;
                let mut writer =
                    tokio::fs::File::from_std(temp.reopen().map_err(AppError::internal)?);
                let mut written: u64 = 0;
                while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                    written += chunk.len() as u64;
                    if written > cap {
                        return Err(AppError::PayloadTooLarge { max_bytes: cap });
                    }
                    writer.write_all(&chunk).await.map_err(AppError::internal)?;
                }
                writer.flush().await.map_err(AppError::internal)?;
                upload = Some((file_name, temp, written));
            }
            _ => {}
        }
    }
    let source_id =
        source_id.ok_or_else(|| AppError::field("source", "validation.import_source"))?;
    let source = state
        .store()
        .sources()
        .get(access.workspace.id, source_id)
        .await?
        .filter(|source| source.kind == "import")
        .ok_or_else(|| AppError::field("source", "validation.import_source"))?;
    let (file_name, temp, bytes) = upload
        .filter(|(_, _, bytes)| *bytes > 0)
        .ok_or_else(|| AppError::field("file", "validation.no_file"))?;
    audit(
        &state,
        &access,
        &caller.user,
        audit_actions::IMPORT_STARTED,
        &source.name,
        serde_json::json!({ "source_id": source.id, "file": file_name, "bytes": bytes }),
    )
    .await?;
    let id = state.imports().start(
        state.store().clone(),
        access.workspace.id,
        source.id,
        file_name,
        temp,
        bytes,
    );
    Ok(Redirect::to(&format!("/w/{slug}/import/{id}")))
}

pub async fn show_progress_page(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, u64)>,
) -> Result<ImportPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let progress = state
        .imports()
        .get(access.workspace.id, id)
        .ok_or(AppError::NotFound)?;
    import_page(&state, &context, &access, Some(progress)).await
}

#[derive(Template, WebTemplate)]
#[template(path = "_import_progress.html")]
pub struct ProgressFragment {
    t: Translator,
    slug: String,
    progress: ImportProgress,
}

pub async fn progress(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, u64)>,
) -> Result<ProgressFragment, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let progress = state
        .imports()
        .get(access.workspace.id, id)
        .ok_or(AppError::NotFound)?;
    Ok(ProgressFragment {
        t: context.t(),
        slug: access.workspace.slug.clone(),
        progress,
    })
}
