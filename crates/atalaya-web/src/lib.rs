//! Atalaya's web interface and JSON API.
//!
//! [`router`] builds the whole HTTP surface from an [`AppState`]; [`serve`] runs
//! it on a listener the caller has already bound (so tests and the binary know
//! the port before anything starts). Every request first passes through
//! [`session::resolve`], which identifies the caller (session cookie or
//! `Authorization: Bearer atl_...`), picks the language, enforces CSRF on
//! state-changing requests and renders errors in the right format. Handlers then
//! check workspace permissions through [`access::require`] — the one mechanism
//! the UI pages ([`pages`]) and the API ([`api`]) share.

pub mod access;
pub mod api;
mod assets;
pub mod audit_actions;
pub mod auth;
pub mod error;
pub mod extract;
pub mod formats;
pub mod i18n;
pub mod imports;
pub mod invitations;
pub mod listening;
pub mod membership;
pub mod pages;
pub mod session;
pub mod sign_in_limits;
pub mod tokens;
pub mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::LatencyUnit;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use error::AppError;

/// What the binary's configuration decides about the web server.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Mark cookies `Secure`: turn on whenever users reach Atalaya over HTTPS.
    pub secure_cookies: bool,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// Failed sign-ins allowed for one username from one client address within
    /// `login_window` before each further attempt must wait, twice as long
    /// each time (see `pages::sign_in`).
    pub login_max_failures: u32,
    pub login_window: Duration,
    /// Peers whose `Forwarded` / `X-Forwarded-For` is believed for the
    /// client's address (a reverse proxy); empty: the peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The address users reach the instance at (e.g. `https://cm.example.org`),
    /// shown in the API document and used in e-mailed links; `None` leaves it relative.
    pub public_url: Option<String>,
    /// Whether the workers can send e-mail (`mail.smtp_url` is set). With a
    /// `public_url`, invitations are then e-mailed; otherwise the admin copies
    /// the link.
    pub mail_enabled: bool,
    /// Whether any signed-in user may create a workspace (and become its
    /// admin); instance administrators always may.
    pub anyone_can_create_workspaces: bool,
    /// How long an invitation link stays valid.
    pub invitation_ttl: Duration,
    /// How many invitations a workspace may have pending, and create per day.
    pub invitation_limits: atalaya_store::InvitationLimits,
}

impl Default for WebSettings {
    fn default() -> WebSettings {
        WebSettings {
            secure_cookies: false,
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            login_max_failures: 5,
            login_window: Duration::from_secs(15 * 60),
            trusted_proxies: Vec::new(),
            public_url: None,
            mail_enabled: false,
            anyone_can_create_workspaces: false,
            invitation_ttl: atalaya_domain::INVITATION_TTL,
            invitation_limits: atalaya_store::InvitationLimits {
                max_pending: 50,
                max_per_day: 100,
            },
        }
    }
}

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    store: atalaya_store::Store,
    settings: WebSettings,
    listening: listening::ListeningSettings,
    imports: imports::ImportRegistry,
}

impl AppState {
    pub fn new(store: atalaya_store::Store, settings: WebSettings) -> AppState {
        AppState::with_listening(store, settings, listening::ListeningSettings::default())
    }

    /// Like [`AppState::new`], with the listening settings (the key that seals
    /// source secrets, upload and webhook size caps).
    pub fn with_listening(
        store: atalaya_store::Store,
        settings: WebSettings,
        listening: listening::ListeningSettings,
    ) -> AppState {
        AppState {
            inner: Arc::new(StateInner {
                store,
                settings,
                listening,
                imports: imports::ImportRegistry::default(),
            }),
        }
    }

    pub fn listening(&self) -> &listening::ListeningSettings {
        &self.inner.listening
    }

    pub fn imports(&self) -> &imports::ImportRegistry {
        &self.inner.imports
    }

    pub fn store(&self) -> &atalaya_store::Store {
        &self.inner.store
    }

    pub fn settings(&self) -> &WebSettings {
        &self.inner.settings
    }
}

/// The whole HTTP surface: pages, static assets, health checks, the JSON API and
/// its OpenAPI document.
pub fn router(state: AppState) -> Router {
    let (api_router, openapi) = api::router(&state);
    let openapi_json = Arc::new(
        serde_json::to_string_pretty(&openapi).unwrap_or_else(|error| {
            tracing::error!(%error, "the OpenAPI document could not be serialised");
            String::from("{}")
        }),
    );

    Router::new()
        .merge(pages::router())
        .merge(webhook::router())
        .merge(api_router)
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let body = Arc::clone(&openapi_json);
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        body.as_str().to_owned(),
                    )
                }
            }),
        )
        .route("/healthz", axum::routing::get(health))
        .route("/readyz", axum::routing::get(ready))
        .route("/static/{*path}", axum::routing::get(assets::serve))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::resolve,
        ))
        .layer(
            TraceLayer::new_for_http()
                // Path only: query strings may hold a `next` target or an upload's
                // CSRF token, which have no place in logs; nor do invitation tokens.
                .make_span_with(|request: &axum::extract::Request| {
                    tracing::info_span!("http", method = %request.method(), path = %loggable_path(request.uri().path()))
                })
                .on_response(
                    DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(LatencyUnit::Millis),
                ),
        )
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(header::REFERRER_POLICY, "same-origin"))
        .layer(security_header(
            header::CONTENT_SECURITY_POLICY,
            // No inline scripts or styles anywhere: everything is a static file.
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ))
        .with_state(state)
}

/// The path as logs may show it: an invitation link's token is a credential
/// (whoever has it may join the workspace), so it is cut off.
fn loggable_path(path: &str) -> &str {
    match path.strip_prefix(invitations::INVITE_PATH) {
        Some(_) => "/invite/…",
        None => path,
    }
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Serves `router(state)` on `listener` until `shutdown` completes, with the
/// peer address available to handlers (per-address sign-in rate limiting).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn health() -> &'static str {
    "ok"
}

async fn ready(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match state.store().ping().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            // 503 rather than our 500 page: a load balancer reads this, not a person.
            tracing::warn!(%error, "readiness check failed: the store does not answer");
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
        }
    }
}

async fn not_found() -> AppError {
    AppError::NotFound
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    #[test]
    fn invitation_tokens_never_reach_the_logs() {
        let token = crate::auth::random_token();
        assert_eq!(
            super::loggable_path(&format!("/invite/{token}/register")),
            "/invite/…"
        );
        assert_eq!(super::loggable_path("/w/acme/members"), "/w/acme/members");
    }
}
