//! Signing in and out, the home redirect, and the anonymous language switch.
//!
//! Sign-in is rate limited per username and per client address through the
//! store's `login_attempts`; a success rotates the session (a new random token,
//! the old one deleted) so that a token planted before sign-in is worthless.

use std::net::{IpAddr, SocketAddr};

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{Timestamp, UiLang};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Shell;
use crate::AppState;
use crate::auth::{self, token_digest};
use crate::error::AppError;
use crate::extract::{ApiQuery, Context, WebForm};
use crate::i18n::Translator;
use crate::session::{self, Credential, LANG_COOKIE, SESSION_COOKIE};

/// The client's address when the server was started with connect info (see
/// [`crate::serve`]); tests driving the router directly have none.
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// `/`: signed-in users go to their first workspace (or the workspace list),
/// everyone else to the sign-in page.
pub async fn home(
    State(state): State<AppState>,
    Context(context): Context,
) -> Result<Redirect, AppError> {
    let Some(caller) = context.caller else {
        return Ok(Redirect::to("/login"));
    };
    let memberships = state
        .store()
        .workspaces()
        .memberships_of(caller.user.id)
        .await?;
    Ok(match memberships.first() {
        Some(first) if memberships.len() == 1 => {
            Redirect::to(&format!("/w/{}", first.workspace.slug))
        }
        _ => Redirect::to("/workspaces"),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    t: Translator,
    shell: Shell,
    username: String,
    error: Option<String>,
    setup_available: bool,
    /// Where to go after signing in (a local path, or empty for `/`).
    next: String,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Context(context): Context,
    ApiQuery(query): ApiQuery<NextQuery>,
) -> Result<Response, AppError> {
    let next = query
        .next
        .as_deref()
        .and_then(super::local_path)
        .unwrap_or_default()
        .to_owned();
    if context.caller.is_some() {
        return Ok(Redirect::to(if next.is_empty() { "/" } else { &next }).into_response());
    }
    let setup_available = state.store().users().count().await? == 0;
    // The language switch comes back here with `next` intact.
    let here = if next.is_empty() {
        String::from("/login")
    } else {
        format!("/login?next={}", session::encode_query_value(&next))
    };
    Ok(SignInPage {
        t: context.t(),
        shell: Shell::from_context(&context).at(here).plain(),
        username: String::new(),
        error: None,
        setup_available,
        next,
    }
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn submit(
    State(state): State<AppState>,
    Context(context): Context,
    ClientIp(ip): ClientIp,
    WebForm(form): WebForm<SignInForm>,
) -> Result<Response, AppError> {
    let settings = state.settings();
    let store = state.store();
    let now = Timestamp::now();
    let window_ms = i64::try_from(settings.login_window.as_millis()).unwrap_or(i64::MAX);
    let since = now.plus_millis(-window_ms);
    let username = form.username.trim().to_lowercase();
    let user_key = format!("user:{username}");
    // One address may hold several people (an office behind NAT), so it gets a
    // larger allowance than one account.
    let ip_key = ip.map(|ip| format!("ip:{ip}"));
    let user_limit = i64::from(settings.login_max_failures);
    let ip_limit = user_limit.saturating_mul(4);

    let mut limited = store
        .login_attempts()
        .failures_since(&user_key, since)
        .await?
        >= user_limit;
    if let Some(ip_key) = &ip_key {
        limited |= store.login_attempts().failures_since(ip_key, since).await? >= ip_limit;
    }
    if limited {
        return Err(AppError::RateLimited {
            retry_after_secs: settings.login_window.as_secs().max(1),
        });
    }

    let user = store.users().find_by_username(&username).await?;
    let verified = match &user {
        Some(user) => match store.users().password_hash(user.id).await? {
            Some(hash) => auth::verify_password(&form.password, &hash),
            None => false,
        },
        None => {
            auth::dummy_verify(&form.password);
            false
        }
    };
    let Some(user) = user.filter(|_| verified) else {
        store
            .login_attempts()
            .record_failure(&user_key, now)
            .await?;
        if let Some(ip_key) = &ip_key {
            store.login_attempts().record_failure(ip_key, now).await?;
        }
        tracing::info!(username = %username, "sign-in failed");
        let t = context.t();
        let page = SignInPage {
            t,
            shell: Shell::from_context(&context).at("/login").plain(),
            username: form.username,
            error: Some(t.get("sign_in.failed").to_owned()),
            setup_available: false,
            next: super::local_path(&form.next).unwrap_or_default().to_owned(),
        };
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };

    store.login_attempts().clear(&user_key).await?;
    // Housekeeping on a rare, cheap occasion, so no background job is needed:
    // expired sessions and failures older than the window serve no purpose.
    store.sessions().delete_expired(now).await?;
    store.login_attempts().prune(since).await?;
    let target = super::local_path(&form.next).unwrap_or("/");
    let mut response = Redirect::to(target).into_response();
    start_session(&state, &context, user.id, &mut response).await?;
    tracing::info!(user = %user.username, "signed in");
    Ok(response)
}

/// Creates a session for `user`, replacing the caller's current one, and sets
/// the cookie on `response`.
pub(crate) async fn start_session(
    state: &AppState,
    context: &session::RequestContext,
    user: atalaya_domain::UserId,
    response: &mut Response,
) -> Result<(), AppError> {
    if let Some(session::Caller {
        credential: Credential::Session { token_digest },
        ..
    }) = &context.caller
    {
        state.store().sessions().delete(token_digest).await?;
    }
    let now = Timestamp::now();
    let ttl = state.settings().session_ttl;
    let expires_at = now.plus_millis(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    let token = auth::random_token();
    let csrf_token = auth::random_token();
    state
        .store()
        .sessions()
        .create(&token_digest(&token), user, &csrf_token, now, expires_at)
        .await?;
    session::append_cookie(response, state, SESSION_COOKIE, &token, Some(ttl.as_secs()));
    Ok(())
}

pub async fn logout(
    State(state): State<AppState>,
    Context(context): Context,
) -> Result<Response, AppError> {
    if let Some(session::Caller {
        credential: Credential::Session { token_digest },
        ..
    }) = &context.caller
    {
        state.store().sessions().delete(token_digest).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    session::append_cookie(&mut response, &state, SESSION_COOKIE, "", Some(0));
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    lang: String,
    #[serde(default)]
    next: String,
}

/// Remembers an anonymous visitor's language in a cookie. Only local paths are
/// accepted as `next`, so the switch cannot be used as an open redirect.
pub async fn switch_language(
    State(state): State<AppState>,
    WebForm(form): WebForm<LanguageForm>,
) -> Result<Response, AppError> {
    let lang = UiLang::from_code(&form.lang)
        .ok_or_else(|| AppError::field("lang", "validation.language"))?;
    let next = super::local_path(&form.next).unwrap_or("/");
    let mut response = Redirect::to(next).into_response();
    session::append_cookie(
        &mut response,
        &state,
        LANG_COOKIE,
        lang.code(),
        Some(365 * 24 * 3600),
    );
    Ok(response)
}
