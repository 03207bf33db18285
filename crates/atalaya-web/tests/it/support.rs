//! A test application and a team of users, one per role.

use std::sync::OnceLock;

use atalaya_domain::{Role, Timestamp, User, Workspace};
use atalaya_store::{NewUser, Store};
use atalaya_web::auth::{hash_password, new_api_token, random_token, token_digest};
use atalaya_web::{AppState, WebSettings, router};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery";

/// Hashing is deliberately slow; every test user shares one hash of [`PASSWORD`].
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(PASSWORD).unwrap())
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No cookies, no token.
    Anonymous,
    /// An anonymous browser holding a pre-session CSRF cookie, echoed in forms.
    Visitor { csrf: String },
    /// A signed-in browser.
    Session { token: String, csrf: String },
    /// A personal API token.
    Bearer(String),
}

impl Auth {
    pub fn visitor() -> Auth {
        Auth::Visitor {
            csrf: random_token(),
        }
    }

    fn csrf(&self) -> Option<&str> {
        match self {
            Auth::Visitor { csrf } | Auth::Session { csrf, .. } => Some(csrf),
            _ => None,
        }
    }

    fn apply(&self, builder: axum::http::request::Builder) -> axum::http::request::Builder {
        match self {
            Auth::Anonymous => builder,
            Auth::Visitor { csrf } => {
                builder.header(header::COOKIE, format!("atalaya_csrf={csrf}"))
            }
            Auth::Session { token, .. } => {
                builder.header(header::COOKIE, format!("atalaya_session={token}"))
            }
            Auth::Bearer(token) => builder.header(header::AUTHORIZATION, format!("Bearer {token}")),
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }

    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
    }

    /// The full `Set-Cookie` line for cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// Just the value of cookie `name` set by this response.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        let line = self.set_cookie(name)?;
        let first = line.split(';').next()?;
        Some(first.split_once('=')?.1.to_owned())
    }
}

pub struct TestApp {
    pub state: AppState,
    router: Router,
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with_settings(WebSettings::default()).await
    }

    pub async fn with_settings(settings: WebSettings) -> TestApp {
        TestApp::with_store(atalaya_store::testing::fresh_sqlite().await, settings)
    }

    /// On a fresh database of the PostgreSQL server named by
    /// `ATALAYA_TEST_POSTGRES_URL` (`scripts/test-postgres.sh start`).
    pub async fn on_postgres(settings: WebSettings) -> TestApp {
        TestApp::with_store(atalaya_store::testing::fresh_postgres().await, settings)
    }

    pub fn with_store(store: Store, settings: WebSettings) -> TestApp {
        TestApp::from_state(AppState::new(store, settings))
    }

    pub fn from_state(state: AppState) -> TestApp {
        TestApp {
            router: router(state.clone()),
            state,
        }
    }

    pub fn store(&self) -> &Store {
        self.state.store()
    }

    pub async fn user(&self, username: &str, is_instance_admin: bool) -> User {
        self.store()
            .users()
            .create(NewUser {
                username,
                email: &format!("{username}@example.org"),
                display_name: &format!("Test {username}"),
                password_hash: password_hash(),
                is_instance_admin,
            })
            .await
            .unwrap()
    }

    /// A signed-in browser for `user`, made the way sign-in makes one.
    pub async fn session(&self, user: &User) -> Auth {
        let token = random_token();
        let csrf = random_token();
        let now = Timestamp::now();
        self.store()
            .sessions()
            .create(
                &token_digest(&token),
                user.id,
                &csrf,
                now,
                now.plus_millis(3_600_000),
            )
            .await
            .unwrap();
        Auth::Session { token, csrf }
    }

    pub async fn bearer(&self, user: &User) -> Auth {
        let token = new_api_token();
        self.store()
            .api_tokens()
            .create(user.id, "test", &token_digest(&token), Timestamp::now())
            .await
            .unwrap();
        Auth::Bearer(token)
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 4 * 1024 * 1024)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> Reply {
        self.send(auth.apply(Request::get(path)).body(Body::empty()).unwrap())
            .await
    }

    /// A URL-encoded form; the caller's CSRF token is added as `_csrf`.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)], auth: &Auth) -> Reply {
        let mut pairs: Vec<(&str, &str)> = fields.to_vec();
        if let Some(csrf) = auth.csrf() {
            pairs.push(("_csrf", csrf));
        }
        self.raw_form(path, &encode_form(&pairs), auth).await
    }

    /// A form body exactly as given (no CSRF field added).
    pub async fn raw_form(&self, path: &str, body: &str, auth: &Auth) -> Reply {
        let request = auth
            .apply(Request::post(path))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap();
        self.send(request).await
    }

    /// A JSON request; a session's CSRF token goes in `X-CSRF-Token`.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        auth: &Auth,
    ) -> Reply {
        let mut builder = auth.apply(Request::builder().method(method).uri(path));
        if let Auth::Session { csrf, .. } = auth {
            builder = builder.header("x-csrf-token", csrf.as_str());
        }
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }
}

pub fn encode_form(pairs: &[(&str, &str)]) -> String {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (byte as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A workspace `acme` with one member per role, a spare member to act on
/// (`target`, a viewer), a user in no workspace (`outsider`) and one not yet in
/// `acme` (`newbie`). The admin is also the instance administrator.
pub struct Team {
    pub app: TestApp,
    pub workspace: Workspace,
    pub admin: User,
    pub manager: User,
    pub agent: User,
    pub contributor: User,
    pub viewer: User,
    pub outsider: User,
    pub target: User,
    pub newbie: User,
}

/// Which database a parametrized test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// A fresh in-memory SQLite store.
    Sqlite,
    /// A fresh database on the server named by `ATALAYA_TEST_POSTGRES_URL`.
    Postgres,
}

impl Db {
    pub async fn store(self) -> Store {
        match self {
            Db::Sqlite => atalaya_store::testing::fresh_sqlite().await,
            Db::Postgres => atalaya_store::testing::fresh_postgres().await,
        }
    }
}

impl Team {
    pub async fn new() -> Team {
        Team::on(Db::Sqlite).await
    }

    /// The same team on a fresh store of `db`.
    pub async fn on(db: Db) -> Team {
        let app = TestApp::with_store(db.store().await, WebSettings::default());
        let workspace = app
            .store()
            .workspaces()
            .create("acme", "Acme Coffee", false)
            .await
            .unwrap();
        let admin = app.user("alicia", true).await;
        let manager = app.user("mario", false).await;
        let agent = app.user("ana", false).await;
        let contributor = app.user("carlos", false).await;
        let viewer = app.user("vera", false).await;
        let outsider = app.user("otto", false).await;
        let target = app.user("tomas", false).await;
        let newbie = app.user("nuria", false).await;
        for (user, role) in [
            (&admin, Role::Admin),
            (&manager, Role::Manager),
            (&agent, Role::Agent),
            (&contributor, Role::Contributor),
            (&viewer, Role::Viewer),
            (&target, Role::Viewer),
        ] {
            app.store()
                .workspaces()
                .set_member(workspace.id, user.id, role)
                .await
                .unwrap();
        }
        Team {
            app,
            workspace,
            admin,
            manager,
            agent,
            contributor,
            viewer,
            outsider,
            target,
            newbie,
        }
    }

    pub async fn role_of(&self, user: &User) -> Option<Role> {
        self.app
            .store()
            .workspaces()
            .role_of(self.workspace.id, user.id)
            .await
            .unwrap()
    }
}
