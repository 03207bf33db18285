//! Signing in and out, the home redirect, and the anonymous language switch.
//!
//! Sign-in slows guessing through the store's `login_attempts` as
//! [`crate::sign_in_limits`] describes: per (username, client address), then per
//! account and per address for devices not seen before. A success rotates the
//! session (a new random token, the old one deleted) so that a token planted
//! before sign-in is worthless, and remembers the device in a sealed cookie.

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
use crate::sign_in_limits;

/// The client's address when the server was started with connect info (see
/// [`crate::serve`]), through `server.trusted_proxies`' forwarding headers;
/// tests driving the router directly have none.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| {
                    sign_in_limits::client_address(
                        info.0.ip(),
                        &parts.headers,
                        &state.settings().trusted_proxies,
                    )
                }),
        ))
    }
}

/// The cookie that remembers a device a user signed in from.
pub const DEVICE_COOKIE: &str = "atalaya_device";
/// How long a device is remembered.
const DEVICE_TTL_SECS: u64 = 365 * 24 * 3600;

/// A sealed `device:{user id}` (authenticated encryption with the instance
/// key, so it cannot be forged or moved to another user), URL-safe base64.
fn device_cookie(state: &AppState, user: atalaya_domain::UserId) -> Option<String> {
    use base64::Engine;
    let secrets = state.listening().secrets.as_ref()?;
    let sealed = secrets
        .seal(format!("device:{}", user.get()).as_bytes())
        .ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed))
}

/// Whether the request carries a device cookie sealed for `user`.
fn is_known_device(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    user: atalaya_domain::UserId,
) -> bool {
    use base64::Engine;
    let (Some(secrets), Some(cookie)) = (
        state.listening().secrets.as_ref(),
        session::request_cookie(headers, DEVICE_COOKIE),
    ) else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cookie.as_bytes())
        .ok()
        .and_then(|sealed| secrets.open(&sealed).ok())
        .is_some_and(|plain| plain == format!("device:{}", user.get()).as_bytes())
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
    headers: axum::http::HeaderMap,
    WebForm(form): WebForm<SignInForm>,
) -> Result<Response, AppError> {
    let settings = state.settings();
    let store = state.store();
    let now = Timestamp::now();
    let window = settings.login_window;
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let since = now.plus_millis(-window_ms);
    let username = form.username.trim().to_lowercase();
    let address = ip.map_or_else(|| String::from("-"), |ip| ip.to_string());
    let pair_key = format!("pair:{username}|{address}");
    let user_key = format!("user:{username}");
    let ip_key = ip.map(|ip| format!("ip:{ip}"));
    let free = i64::from(settings.login_max_failures);

    let user = store.users().find_by_username(&username).await?;
    let known_device = user
        .as_ref()
        .is_some_and(|user| is_known_device(&state, &headers, user.id));
    let attempts = store.login_attempts();
    let (count, last) = attempts.recent(&pair_key, since).await?;
    let mut waits = vec![sign_in_limits::wait(count, last, now, free, window)];
    if !known_device {
        let (count, last) = attempts.recent(&user_key, since).await?;
        let account_free = free.saturating_mul(sign_in_limits::ACCOUNT_FACTOR);
        waits.push(sign_in_limits::wait(count, last, now, account_free, window));
        if let Some(ip_key) = &ip_key {
            let (count, last) = attempts.recent(ip_key, since).await?;
            let address_free = free.saturating_mul(sign_in_limits::ADDRESS_FACTOR);
            waits.push(sign_in_limits::wait(count, last, now, address_free, window));
        }
    }
    if let Some(left) = waits.into_iter().flatten().max() {
        return Err(AppError::RateLimited {
            retry_after_secs: left.as_secs_f64().ceil().max(1.0) as u64,
        });
    }

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
        attempts.record_failure(&pair_key, now).await?;
        attempts.record_failure(&user_key, now).await?;
        if let Some(ip_key) = &ip_key {
            attempts.record_failure(ip_key, now).await?;
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

    // The account's failures from elsewhere stay: they are someone else's
    // guesses, and this device is exempt from them from now on anyway.
    attempts.clear(&pair_key).await?;
    // Housekeeping on a rare, cheap occasion, so no background job is needed:
    // expired sessions and failures older than the window serve no purpose.
    store.sessions().delete_expired(now).await?;
    store.login_attempts().prune(since).await?;
    let target = super::local_path(&form.next).unwrap_or("/");
    let mut response = Redirect::to(target).into_response();
    start_session(&state, &context, user.id, &mut response).await?;
    if let Some(device) = device_cookie(&state, user.id) {
        session::append_cookie(
            &mut response,
            &state,
            DEVICE_COOKIE,
            &device,
            Some(DEVICE_TTL_SECS),
        );
    }
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
