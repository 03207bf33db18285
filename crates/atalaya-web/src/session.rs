//! Who is calling, in which language, and whether a state-changing request
//! carries its CSRF token: the middleware every request passes through.
//!
//! ```text
//! request ─► bearer token? ──► api_tokens.authenticate ─┐
//!        └─► session cookie? ─► sessions.find ──────────┤─► RequestContext (extension)
//!                                                       │     user, language, CSRF token
//! unsafe method + cookie auth or anonymous page ─► CSRF check (header or `_csrf` field)
//! handler ─► response ─► ErrorReport? ─► JSON (/api) or HTML page, in the caller's language
//! ```
//!
//! Signed-in browsers echo their session's CSRF token (multipart uploads put it
//! in the action URL's query string, as they cannot set a header and their body
//! is not buffered here); anonymous forms (sign-in,
//! setup, language switch) echo a pre-session token kept in the `atalaya_csrf`
//! cookie (double submit), which stops login CSRF. Bearer-token calls carry no
//! ambient authority, so they need no CSRF token.

use askama::Template;
use atalaya_domain::{Timestamp, UiLang, User};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::AppState;
use crate::auth::{random_token, secrets_match, token_digest};
use crate::error::{AppError, ErrorReport, translate_field};
use crate::i18n::{self, Translator};

pub const SESSION_COOKIE: &str = "atalaya_session";
pub const CSRF_COOKIE: &str = "atalaya_csrf";
pub const LANG_COOKIE: &str = "atalaya_lang";
/// The form field and header that carry the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Form bodies larger than this are refused before the CSRF field is looked for.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A browser session; `token_digest` is what the store keys it by.
    Session { token_digest: String },
    /// A personal API token.
    ApiToken,
}

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub credential: Credential,
}

/// What the middleware learnt about the request, available to every handler.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub lang: UiLang,
    pub caller: Option<Caller>,
    /// The token this caller's forms must echo: the session's, or the
    /// pre-session cookie's for anonymous visitors.
    pub csrf_token: String,
}

impl RequestContext {
    pub fn t(&self) -> Translator {
        Translator::new(self.lang)
    }
}

/// The middleware; see the module documentation.
pub async fn resolve(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    // Probes and static files need no caller, language or cookie: skipping them
    // saves a database round trip per asset and keeps cacheable responses free
    // of Set-Cookie.
    // Webhooks (`/hooks/`) are machine to machine: their signature is the
    // authentication, so they get no session, language or CSRF check either.
    if path.starts_with("/static/")
        || path.starts_with("/hooks/")
        || path == "/healthz"
        || path == "/readyz"
    {
        return next.run(request).await;
    }
    let is_api = is_api_path(path);
    let cookies = parse_cookies(request.headers());
    let browser_lang = cookies
        .iter()
        .find(|(name, _)| name == LANG_COOKIE)
        .and_then(|(_, value)| UiLang::from_code(value))
        .or_else(|| {
            request
                .headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|value| value.to_str().ok())
                .and_then(i18n::negotiate)
        })
        .unwrap_or(i18n::DEFAULT_LANG);

    let caller = match identify(&state, request.headers(), &cookies).await {
        Ok(caller) => caller,
        Err(error) => {
            let context = RequestContext {
                lang: browser_lang,
                caller: None,
                csrf_token: String::new(),
            };
            return render_error(&context, is_api, error.into_response(), None);
        }
    };
    let lang = caller
        .as_ref()
        .and_then(|(caller, _)| caller.user.ui_lang)
        .unwrap_or(browser_lang);

    let pre_session_cookie = cookie_value(&cookies, CSRF_COOKIE).filter(|value| value.len() >= 32);
    let mut new_pre_session_token = None;
    let csrf_token = match &caller {
        Some((_, Some(session_csrf))) => session_csrf.clone(),
        Some((_, None)) => String::new(),
        None => match &pre_session_cookie {
            Some(value) => value.clone(),
            // API clients never submit forms, so they get no form token.
            None if is_api => String::new(),
            None => {
                let token = random_token();
                new_pre_session_token = Some(token.clone());
                token
            }
        },
    };
    let expected_csrf = match &caller {
        Some((_, session_csrf)) => session_csrf.clone(),
        // An anonymous API call fails authentication in its handler; asking it
        // for a CSRF token first would hide the real problem.
        None if is_api => None,
        None => Some(pre_session_cookie.clone().unwrap_or_default()),
    };
    // Where an anonymous page visitor should come back to after signing in.
    let return_to = (!is_api && request.method() == Method::GET)
        .then(|| {
            request
                .uri()
                .path_and_query()
                .map(|target| target.as_str().to_owned())
        })
        .flatten();
    let context = RequestContext {
        lang,
        caller: caller.map(|(caller, _)| caller),
        csrf_token,
    };

    let mut request = request;
    if is_state_changing(request.method())
        && let Some(expected) = expected_csrf
    {
        if let Err(error) = check_origin(request.headers(), state.settings().public_url.as_deref())
        {
            return render_error(&context, is_api, error.into_response(), None);
        }
        match check_csrf(request, &expected).await {
            Ok(checked) => request = checked,
            Err(error) => return render_error(&context, is_api, error.into_response(), None),
        }
    }

    request.extensions_mut().insert(context.clone());
    let mut response = next.run(request).await;
    if response.extensions().get::<ErrorReport>().is_some() {
        response = render_error(&context, is_api, response, return_to.as_deref());
    }
    if let Some(token) = new_pre_session_token {
        append_cookie(&mut response, &state, CSRF_COOKIE, &token, None);
    }
    response
}

fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The caller and, for a browser session, its CSRF token. A presented bearer
/// token that does not authenticate is an error (the client meant to sign in);
/// a stale session cookie just means "anonymous".
async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    cookies: &[(String, String)],
) -> Result<Option<(Caller, Option<String>)>, AppError> {
    let now = Timestamp::now();
    if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        let token = authorization
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(AppError::Unauthenticated)?;
        let user = state
            .store()
            .api_tokens()
            .authenticate(&token_digest(token), now)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        return Ok(Some((
            Caller {
                user,
                credential: Credential::ApiToken,
            },
            None,
        )));
    }
    let Some(token) = cookie_value(cookies, SESSION_COOKIE) else {
        return Ok(None);
    };
    let digest = token_digest(&token);
    let record = state.store().sessions().find(&digest, now).await?;
    Ok(record.map(|record| {
        (
            Caller {
                user: record.user,
                credential: Credential::Session {
                    token_digest: digest,
                },
            },
            Some(record.csrf_token),
        )
    }))
}

/// Checks the `X-CSRF-Token` header or, for URL-encoded forms, the `_csrf` field.
/// The body is read and handed back intact for the handler.
async fn check_csrf(request: Request, expected: &str) -> Result<Request, AppError> {
    if let Some(provided) = request.headers().get(CSRF_HEADER) {
        let provided = provided.to_str().unwrap_or_default();
        return csrf_verdict(expected, Some(provided)).map(|()| request);
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        // A plain HTML multipart form (file upload) cannot set a header and its
        // body may be large, so it carries the token in its action URL instead:
        // `action="/path?_csrf=..."`. Referrer-Policy keeps the URL on our origin.
        let is_multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("multipart/form-data"));
        let from_query = request
            .uri()
            .query()
            .filter(|_| is_multipart)
            .and_then(|query| form_field(query.as_bytes(), CSRF_FIELD));
        return csrf_verdict(expected, from_query.as_deref()).map(|()| request);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|error| AppError::MalformedBody {
            detail: error.to_string(),
        })?;
    let provided = form_field(&bytes, CSRF_FIELD);
    csrf_verdict(expected, provided.as_deref())?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Defence in depth beside the token: a browser says where a request comes
/// from. `Sec-Fetch-Site` other than `same-origin` or `none` (typed or
/// bookmarked), or an `Origin` that is neither this server's (the `Host` it
/// was asked for) nor `public_url`'s, is refused. Requests without either
/// header (older browsers, scripts) are left to the token.
fn check_origin(headers: &HeaderMap, public_url: Option<&str>) -> Result<(), AppError> {
    if let Some(site) = headers.get("sec-fetch-site") {
        match site.to_str().map(str::to_ascii_lowercase).as_deref() {
            Ok("same-origin" | "none") => {}
            _ => return Err(AppError::CrossOrigin),
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .map_err(|_| AppError::CrossOrigin)?
        .trim_end_matches('/')
        .to_ascii_lowercase();
    if let Some(public) = public_url.and_then(origin_of)
        && public == origin
    {
        return Ok(());
    }
    // The host and port the browser addressed; the scheme may have been
    // changed by a TLS-terminating proxy, so only the authority is compared.
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .map(str::to_ascii_lowercase);
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match (authority, host) {
        (Some(authority), Some(host)) if authority == host => Ok(()),
        _ => Err(AppError::CrossOrigin),
    }
}

/// `scheme://host[:port]` of a URL, lower-cased, as browsers write `Origin`.
fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    match url.origin() {
        origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

fn csrf_verdict(expected: &str, provided: Option<&str>) -> Result<(), AppError> {
    match provided {
        None | Some("") => Err(AppError::CsrfMissing),
        Some(provided) if !expected.is_empty() && secrets_match(expected, provided) => Ok(()),
        Some(_) => Err(AppError::CsrfInvalid),
    }
}

/// The first value of `name` in a URL-encoded body.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    let body = std::str::from_utf8(body).ok()?;
    body.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes `value` for a query string (everything but unreserved characters).
pub fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Every `name=value` pair of the request's `Cookie` headers.
pub fn parse_cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| {
            (
                name.trim().to_owned(),
                value.trim().trim_matches('"').to_owned(),
            )
        })
        .collect()
}

fn cookie_value(cookies: &[(String, String)], name: &str) -> Option<String> {
    cookies
        .iter()
        .find(|(cookie, _)| cookie == name)
        .map(|(_, value)| value.clone())
}

/// The value of cookie `name` in a request's headers.
pub fn request_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    cookie_value(&parse_cookies(headers), name)
}

/// Adds a `Set-Cookie` header: always `Path=/`, `HttpOnly`, `SameSite=Lax`, and
/// `Secure` when the settings say we are served over TLS. `max_age` of `Some(0)`
/// deletes the cookie; `None` makes it last for the browser session.
pub fn append_cookie(
    response: &mut Response,
    state: &AppState,
    name: &str,
    value: &str,
    max_age: Option<u64>,
) {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if state.settings().secure_cookies {
        cookie.push_str("; Secure");
    }
    match HeaderValue::from_str(&cookie) {
        Ok(value) => {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        Err(error) => tracing::error!(%error, cookie = name, "cookie value is not a valid header"),
    }
}

/// The HTML error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Translator,
    shell: crate::pages::Shell,
    status: u16,
    message: String,
    fields: Vec<(String, String)>,
}

/// Renders an error response in the caller's language: JSON under `/api`, an
/// HTML page elsewhere, and a redirect to the sign-in page for anonymous page
/// requests.
fn render_error(
    context: &RequestContext,
    is_api: bool,
    response: Response,
    return_to: Option<&str>,
) -> Response {
    let Some(report) = response.extensions().get::<ErrorReport>().cloned() else {
        return response;
    };
    let t = context.t();
    if is_api {
        return report.json_response(t);
    }
    if report.status == StatusCode::UNAUTHORIZED {
        let target = match return_to {
            Some(path) => format!("/login?next={}", encode_query_value(path)),
            None => String::from("/login"),
        };
        return Redirect::to(&target).into_response();
    }
    let page = ErrorPage {
        t,
        shell: crate::pages::Shell::from_context(context).plain(),
        status: report.status.as_u16(),
        message: report.message(t),
        fields: report
            .fields
            .iter()
            .map(|field| {
                let label = t
                    .lookup(&format!("field.{}", field.field))
                    .unwrap_or(field.field.as_str())
                    .to_owned();
                (label, translate_field(t, field))
            })
            .collect(),
    };
    let mut rendered = match page.render() {
        Ok(html) => (report.status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "error page failed to render");
            (report.status, report.message(t)).into_response()
        }
    };
    report.add_headers(&mut rendered);
    // Keep any cookies the handler set (e.g. a cleared session).
    for value in response.headers().get_all(header::SET_COOKIE) {
        rendered
            .headers_mut()
            .append(header::SET_COOKIE, value.clone());
    }
    rendered
}

#[cfg(test)]
mod tests {

    fn origin_verdict(pairs: &[(&str, &str)], public_url: Option<&str>) -> Result<(), AppError> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                HeaderValue::from_str(value).expect("a header value"),
            );
        }
        check_origin(&headers, public_url)
    }

    #[test]
    fn requests_from_other_sites_are_refused_whatever_their_token() {
        let host = ("host", "atalaya.example:8080");
        // Same origin, as the browser says it, or no word from the browser.
        assert!(origin_verdict(&[host], None).is_ok());
        assert!(origin_verdict(&[host, ("origin", "http://atalaya.example:8080")], None).is_ok());
        assert!(origin_verdict(&[host, ("origin", "https://ATALAYA.example:8080")], None).is_ok());
        assert!(origin_verdict(&[host, ("sec-fetch-site", "same-origin")], None).is_ok());
        assert!(origin_verdict(&[host, ("sec-fetch-site", "none")], None).is_ok());
        // Behind a proxy: the public URL's origin.
        let proxied = [
            ("host", "127.0.0.1:8080"),
            ("origin", "https://social.example"),
        ];
        assert!(origin_verdict(&proxied, Some("https://social.example/")).is_ok());
        assert!(origin_verdict(&proxied, None).is_err());
        // Another site, a sibling subdomain, an opaque origin.
        for refused in [
            vec![host, ("origin", "https://evil.example")],
            vec![host, ("origin", "http://atalaya.example:8081")],
            vec![host, ("origin", "null")],
            vec![host, ("sec-fetch-site", "cross-site")],
            vec![host, ("sec-fetch-site", "same-site")],
            vec![
                host,
                ("origin", "http://atalaya.example:8080"),
                ("sec-fetch-site", "cross-site"),
            ],
        ] {
            assert!(
                matches!(origin_verdict(&refused, None), Err(AppError::CrossOrigin)),
                "{refused:?}"
            );
        }
    }
    use super::*;

    fn check(body: &str, expected: Option<&str>) {
        assert_eq!(
            form_field(body.as_bytes(), "_csrf").as_deref(),
            expected,
            "{body:?}"
        );
    }

    #[test]
    fn csrf_field_is_found_and_decoded() {
        check("_csrf=abc&name=x", Some("abc"));
        check("name=x&_csrf=a%2Db+c", Some("a-b c"));
        check("name=x", None);
        check("_csrf=", Some(""));
        check("_csrf=%zz", Some("%zz"));
        check("_csrf=ab%2", Some("ab%2"));
        check("%5Fcsrf=t", Some("t"));
    }

    #[test]
    fn query_values_round_trip() {
        let original = "/w/café?done=a b&x=/";
        let encoded = encode_query_value(original);
        assert!(!encoded.contains(['/', '?', '&', ' ']), "{encoded}");
        assert_eq!(
            form_field(format!("next={encoded}").as_bytes(), "next").as_deref(),
            Some(original)
        );
    }

    #[test]
    fn cookies_are_split_and_trimmed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; atalaya_lang=es;b=\"2\""),
        );
        assert_eq!(request_cookie(&headers, LANG_COOKIE).as_deref(), Some("es"));
        assert_eq!(request_cookie(&headers, "b").as_deref(), Some("2"));
        assert_eq!(request_cookie(&headers, "c"), None);
    }

    async fn verdict(
        uri: &str,
        content_type: &str,
        header: Option<&str>,
        body: &str,
    ) -> Result<String, String> {
        let mut builder = Request::post(uri).header(header::CONTENT_TYPE, content_type);
        if let Some(value) = header {
            builder = builder.header(CSRF_HEADER, value);
        }
        let request = builder
            .body(Body::from(body.to_owned()))
            .map_err(|error| error.to_string())?;
        match check_csrf(request, "tok").await {
            // The body must reach the handler intact.
            Ok(request) => axum::body::to_bytes(request.into_body(), 1024)
                .await
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .map_err(|error| error.to_string()),
            Err(error) => Err(error.code().to_owned()),
        }
    }

    #[tokio::test]
    async fn csrf_sources() {
        let form = "application/x-www-form-urlencoded";
        let multipart = "multipart/form-data; boundary=x";
        assert_eq!(
            verdict("/f", form, None, "a=1&_csrf=tok").await,
            Ok(String::from("a=1&_csrf=tok"))
        );
        assert_eq!(
            verdict("/f", form, None, "a=1").await,
            Err(String::from("csrf_missing"))
        );
        assert_eq!(
            verdict("/f", form, None, "_csrf=bad").await,
            Err(String::from("csrf_invalid"))
        );
        assert_eq!(
            verdict("/f", "application/json", Some("tok"), "{}").await,
            Ok(String::from("{}"))
        );
        assert_eq!(
            verdict("/f", "application/json", None, "{}").await,
            Err(String::from("csrf_missing"))
        );
        assert_eq!(
            verdict("/f?_csrf=tok", multipart, None, "--x--").await,
            Ok(String::from("--x--"))
        );
        assert_eq!(
            verdict("/f", multipart, None, "--x--").await,
            Err(String::from("csrf_missing"))
        );
        // The query string counts only for multipart uploads.
        assert_eq!(
            verdict("/f?_csrf=tok", "application/json", None, "{}").await,
            Err(String::from("csrf_missing"))
        );
    }

    #[test]
    fn csrf_verdicts() {
        assert!(matches!(
            csrf_verdict("tok", None),
            Err(AppError::CsrfMissing)
        ));
        assert!(matches!(
            csrf_verdict("tok", Some("")),
            Err(AppError::CsrfMissing)
        ));
        assert!(matches!(
            csrf_verdict("tok", Some("tak")),
            Err(AppError::CsrfInvalid)
        ));
        assert!(matches!(
            csrf_verdict("", Some("x")),
            Err(AppError::CsrfInvalid)
        ));
        assert!(csrf_verdict("tok", Some("tok")).is_ok());
    }
}
