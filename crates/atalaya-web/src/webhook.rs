//! `POST /hooks/{token}`: mentions pushed by other systems, signed with the
//! source's HMAC-SHA256 secret ([`atalaya_connectors::webhook`]).
//!
//! ```text
//! token ─► sha256 ─► sources.find_by_webhook_token ─► open sealed secret
//! body (capped) ─► verify signature (+ timestamp) ─► parse ─► listening.ingest job ─► 202 report
//! ```
//!
//! Machine to machine: no session, no CSRF (the session middleware lets
//! `/hooks/` through untouched); the signature is the authentication. Every
//! refusal uses the API's JSON error format with a stable code: unknown token
//! 404, bad or missing signature 401, body over the cap 413, malformed body 422.
//! Accepted items are queued for the pipeline as one job, so the sender gets
//! its answer without waiting for analysis.

use atalaya_connectors::webhook::{
    SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookError, parse_payload, verify_request,
};
use atalaya_domain::Timestamp;
use atalaya_store::NewJob;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::AppState;
use crate::auth::token_digest;
use crate::error::{ErrorBody, ErrorDetail};

/// The job kind the workers' ingest handler runs (`atalaya_workers::ingest::INGEST_KIND`;
/// the web crate never imports the workers).
pub const INGEST_JOB_KIND: &str = "listening.ingest";

/// What the sender gets back.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookReport {
    /// Items queued for analysis.
    pub accepted: usize,
    /// Items refused, with their position in the batch and the reason.
    pub rejected: Vec<RejectedItem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RejectedItem {
    pub index: usize,
    pub reason: String,
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/hooks/{token}", axum::routing::post(receive))
        // The handler enforces the configured cap itself, with our error format.
        .layer(DefaultBodyLimit::disable())
}

fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: message.to_owned(),
                fields: Vec::new(),
                detail: None,
            },
        }),
    )
        .into_response()
}

async fn read_capped(request: Request, cap: usize) -> Result<Bytes, Response> {
    let too_large = || {
        refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("The body is larger than {cap} bytes; send smaller batches."),
        )
    };
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > cap) {
        return Err(too_large());
    }
    axum::body::to_bytes(request.into_body(), cap)
        .await
        .map_err(|_| too_large())
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    match handle(&state, &token, request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn handle(state: &AppState, token: &str, request: Request) -> Result<Response, Response> {
    let unknown = || {
        refusal(
            StatusCode::NOT_FOUND,
            "not_found",
            "No webhook source has this address.",
        )
    };
    let internal = |error: &dyn std::fmt::Display| {
        tracing::error!(%error, "webhook request failed");
        refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side.",
        )
    };
    let store = state.store();
    let source = store
        .sources()
        .find_by_webhook_token(&token_digest(token))
        .await
        .map_err(|error| internal(&error))?
        .filter(|source| source.kind == "webhook")
        .ok_or_else(unknown)?;
    let headers = request.headers().clone();
    let body = read_capped(request, state.listening().max_webhook_bytes).await?;
    let sealed = store
        .sources()
        .sealed_secret(source.id)
        .await
        .map_err(|error| internal(&error))?
        .ok_or_else(unknown)?;
    let secrets = state
        .listening()
        .secrets
        .as_ref()
        .ok_or_else(|| internal(&"a webhook source exists but no secrets key is configured"))?;
    let secret = secrets.open(&sealed).map_err(|error| internal(&error))?;
    let now = Timestamp::now();
    if let Err(error) = verify_request(
        &secret,
        &body,
        header(&headers, SIGNATURE_HEADER),
        header(&headers, TIMESTAMP_HEADER),
        now,
        false,
    ) {
        return Err(refusal(
            StatusCode::UNAUTHORIZED,
            error.code(),
            &error.to_string(),
        ));
    }
    let batch = parse_payload(&body).map_err(|error| {
        let status = match error {
            WebhookError::TooManyItems => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        refusal(status, error.code(), &error.to_string())
    })?;
    let report = WebhookReport {
        accepted: batch.accepted.len(),
        rejected: batch
            .rejected
            .into_iter()
            .map(|rejection| RejectedItem {
                index: rejection.index,
                reason: rejection.reason,
            })
            .collect(),
    };
    if !batch.accepted.is_empty() {
        let payload = serde_json::json!({
            "workspace_id": source.workspace_id,
            "source_id": source.id,
            "items": batch.accepted,
        });
        store
            .jobs()
            .enqueue(
                NewJob {
                    kind: INGEST_JOB_KIND,
                    payload,
                    run_after: now,
                    unique_key: None,
                    max_attempts: 5,
                },
                now,
            )
            .await
            .map_err(|error| internal(&error))?;
    }
    Ok((StatusCode::ACCEPTED, Json(report)).into_response())
}
