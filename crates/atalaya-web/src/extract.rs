//! Extractors that reject in our error format instead of Axum's plain text.
//!
//! Handlers take `WebForm<T>`, `ApiJson<T>`, `ApiPath<T>` and `ApiQuery<T>`
//! rather than Axum's `Form`, `Json`, `Path` and `Query`, so that a malformed
//! body or path yields `{"error":{"code":"invalid_input",..}}` (or the HTML
//! error page) like every other failure.

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::AppError;
use crate::session::{Caller, RequestContext};

/// A URL-encoded form body.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Form), rejection(AppError))]
pub struct WebForm<T>(pub T);

/// A JSON body.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// Path parameters; a segment that does not parse is "not found".
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// Query-string parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// The signed-in caller; rejects with `unauthenticated` (401 for the API, a
/// redirect to the sign-in page for pages).
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .and_then(|context| context.caller.clone())
            .map(CurrentUser)
            .ok_or(AppError::Unauthenticated)
    }
}

/// The request context the middleware built (language, caller, CSRF token).
#[derive(Debug, Clone)]
pub struct Context(pub RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Context {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .map(Context)
            .ok_or_else(|| {
                AppError::Internal(
                    "request context missing: the session middleware did not run".into(),
                )
            })
    }
}
