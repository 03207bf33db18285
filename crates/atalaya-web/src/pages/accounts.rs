//! The connected accounts page: each Mastodon and Bluesky account with its
//! state (connected, needs re-authorization, rate limited until a time) and the
//! reason in the reader's language, the sources listening through it, and the
//! forms to connect, reconnect and disconnect. The Mastodon OAuth callback lands
//! here too. Logic lives in [`crate::listening::accounts`]; this module only
//! translates between HTTP and it.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{AccountId, AccountState, NetworkAccount, Permission, Timestamp};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Shell;
use crate::AppState;
use crate::access::{WorkspaceAccess, require};
use crate::error::{AppError, translate_field};
use crate::extract::{ApiPath, ApiQuery, Context, CurrentUser, WebForm};
use crate::formats::{Formats, TimeLabel};
use crate::i18n::Translator;
use crate::listening::accounts::{self, BlueskyInput, error_key, is_known_error};
use crate::session::RequestContext;

pub struct AccountRow {
    id: i64,
    network: &'static str,
    network_label: &'static str,
    handle: String,
    display_name: Option<String>,
    server_url: String,
    state: &'static str,
    state_label: String,
    /// Why it is not connected, by its code, in the reader's language.
    reason: Option<String>,
    /// The network's own words, as detail.
    detail: Option<String>,
    last_ok: Option<TimeLabel>,
    sources: Vec<String>,
}

/// An account's state as a sentence: "Rate limited until 8 nov 2026, 10:00".
pub fn state_label(t: Translator, formats: &Formats, account: &NetworkAccount) -> String {
    match (account.state, account.blocked_until) {
        (AccountState::RateLimited, Some(until)) => t.fill(
            "account_state.rate_limited_until",
            &[("until", &formats.date_time(until))],
        ),
        (state, _) => t
            .lookup(&format!("account_state.{}", state.as_str()))
            .unwrap_or(state.as_str())
            .to_owned(),
    }
}

fn account_row(
    t: Translator,
    formats: &Formats,
    account: &NetworkAccount,
    sources: Vec<String>,
) -> AccountRow {
    let network = account.network.as_str();
    let troubled = account.state != AccountState::Connected;
    AccountRow {
        id: account.id.get(),
        network,
        network_label: t.lookup(&format!("network.{network}")).unwrap_or(network),
        handle: account.handle.clone(),
        display_name: account.display_name.clone(),
        server_url: account.server_url.clone(),
        state: account.state.as_str(),
        state_label: state_label(t, formats, account),
        reason: account
            .state_code
            .as_deref()
            .filter(|_| troubled)
            .map(|code| t.get(error_key(code)).to_owned()),
        detail: account.state_reason.clone().filter(|_| troubled),
        last_ok: account.last_ok_at.map(|at| formats.label(at)),
        sources,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "accounts.html")]
pub struct AccountsPage {
    t: Translator,
    shell: Shell,
    slug: String,
    accounts: Vec<AccountRow>,
    can_configure: bool,
    /// Whether this instance can reach the networks and seal credentials.
    can_connect: bool,
    default_service: &'static str,
    /// Problems with the last connection attempt, translated.
    errors: Vec<String>,
    /// What the person typed in the connect forms (never the password).
    typed: Typed,
}

/// The connect forms' values, kept when an attempt is refused.
#[derive(Debug, Default)]
pub struct Typed {
    instance: String,
    handle: String,
    service: Option<String>,
}

async fn page(
    state: &AppState,
    context: &RequestContext,
    access: &WorkspaceAccess,
    done: Option<&str>,
    errors: Vec<String>,
    typed: Typed,
) -> Result<AccountsPage, AppError> {
    let t = context.t();
    let formats = Formats::new(t, &access.workspace.time_zone, Timestamp::now());
    let store = state.store();
    let list = store.accounts().list(access.workspace.id).await?;
    let mut sources_by_account: HashMap<i64, Vec<String>> = HashMap::new();
    for source in store.sources().list(access.workspace.id).await? {
        if let Some(account_id) = source.account_id {
            sources_by_account
                .entry(account_id.get())
                .or_default()
                .push(source.name);
        }
    }
    let listening = state.listening();
    Ok(AccountsPage {
        t,
        shell: Shell::workspace(state, context, access, "accounts")
            .await?
            .with_toast(t, done),
        slug: access.workspace.slug.clone(),
        accounts: list
            .iter()
            .map(|account| {
                let sources = sources_by_account
                    .remove(&account.id.get())
                    .unwrap_or_default();
                account_row(t, &formats, account, sources)
            })
            .collect(),
        can_configure: access.allows(Permission::Configure),
        can_connect: listening.http.is_some() && listening.secrets.is_some(),
        default_service: atalaya_connectors::bluesky::DEFAULT_SERVICE,
        errors,
        typed,
    })
}

#[derive(Debug, Deserialize)]
pub struct AccountsQuery {
    done: Option<String>,
    error: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<AccountsQuery>,
) -> Result<AccountsPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let t = context.t();
    // Only known codes are shown, so the query string cannot inject text.
    let errors = query
        .error
        .as_deref()
        .filter(|code| is_known_error(code))
        .map(|code| vec![t.get(error_key(code)).to_owned()])
        .unwrap_or_default();
    page(
        &state,
        &context,
        &access,
        query.done.as_deref(),
        errors,
        Typed::default(),
    )
    .await
}

/// The page again with the attempt's problems, as 422: a wrong password or an
/// unreachable instance is something the person fixes in the same form.
async fn refused(
    state: &AppState,
    context: &RequestContext,
    access: &WorkspaceAccess,
    error: AppError,
    typed: Typed,
) -> Result<Response, AppError> {
    let AppError::InvalidInput { fields, .. } = error else {
        return Err(error);
    };
    let t = context.t();
    let errors = fields
        .iter()
        .map(|field| translate_field(t, field))
        .collect();
    let page = page(state, context, access, None, errors, typed).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct BlueskyForm {
    handle: String,
    app_password: String,
    #[serde(default)]
    service: Option<String>,
}

pub async fn connect_bluesky(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    WebForm(form): WebForm<BlueskyForm>,
) -> Result<Response, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let typed = Typed {
        handle: form.handle.clone(),
        service: form.service.clone(),
        ..Typed::default()
    };
    let input = BlueskyInput {
        handle: form.handle,
        app_password: form.app_password,
        service: form.service,
    };
    match accounts::connect_bluesky(&state, &access, &caller.user, &input).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/w/{slug}/accounts?done=account_connected")).into_response())
        }
        Err(error) => refused(&state, &context, &access, error, typed).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct MastodonForm {
    instance: String,
}

/// Starts the OAuth flow: 303 to the instance's authorization page.
pub async fn connect_mastodon(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    headers: HeaderMap,
    WebForm(form): WebForm<MastodonForm>,
) -> Result<Response, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let started = match accounts::public_base(&state, &headers) {
        Ok(base) => {
            accounts::begin_mastodon(&state, &access, &caller.user, &form.instance, &base).await
        }
        Err(error) => Err(error),
    };
    match started {
        Ok(authorize_url) => Ok(Redirect::to(&authorize_url).into_response()),
        Err(error) => {
            let typed = Typed {
                instance: form.instance,
                ..Typed::default()
            };
            refused(&state, &context, &access, error, typed).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Where the instance sends the browser back. Once the `state` names a pending
/// authorization of this user, every outcome lands on the accounts page.
pub async fn mastodon_callback(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiQuery(query): ApiQuery<CallbackQuery>,
) -> Result<Redirect, AppError> {
    let outcome = accounts::finish_mastodon(
        &state,
        &caller.user,
        query.state.as_deref().unwrap_or_default(),
        query.code.as_deref(),
        query.error.as_deref(),
    )
    .await?;
    let slug = outcome.slug;
    Ok(match outcome.result {
        Ok(_) => Redirect::to(&format!("/w/{slug}/accounts?done=account_connected")),
        Err(code) => Redirect::to(&format!("/w/{slug}/accounts?error={code}")),
    })
}

pub async fn disconnect(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    accounts::disconnect(&state, &access, &caller.user, AccountId(id)).await?;
    Ok(Redirect::to(&format!(
        "/w/{slug}/accounts?done=account_disconnected"
    )))
}
