//! A workspace's listening sources: read by every member, configured by
//! managers and admins. A webhook's URL and secret appear once, in the answer
//! to its creation.

use atalaya_domain::{Permission, Source, SourceId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::AppState;
use crate::access::require;
use crate::error::{AppError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, CurrentUser};
use crate::listening::sources::{self, SourceChange, SourceInput, public_config};

fn shown(mut source: Source) -> Source {
    source.config = public_config(&source);
    source
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedSourceView {
    pub source: Source,
    /// Webhooks only, shown this once: the path to POST signed mentions to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_path: Option<String>,
    /// Webhooks only, shown this once: the HMAC-SHA256 signing secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/sources",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug")),
    responses(
        (status = 200, description = "Sources (archived ones are not listed)", body = [Source]),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Vec<Source>>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let list = state.store().sources().list(access.workspace.id).await?;
    Ok(Json(list.into_iter().map(shown).collect()))
}

#[utoipa::path(
    post,
    path = "/api/v1/workspaces/{slug}/sources",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug")),
    request_body = SourceInput,
    responses(
        (status = 201, description = "Created", body = CreatedSourceView),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only managers and admins configure sources", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
        (status = 422, description = "Invalid fields (unknown kind, feed URL refused, no secrets key for webhooks, network kind without an account of its network in this workspace)", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<SourceInput>,
) -> Result<(StatusCode, Json<CreatedSourceView>), AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let created = sources::create(&state, &access, &caller.user, &body).await?;
    let (webhook_path, webhook_secret) = match created.webhook {
        Some(webhook) => (Some(webhook.path), Some(webhook.secret)),
        None => (None, None),
    };
    Ok((
        StatusCode::CREATED,
        Json(CreatedSourceView {
            source: shown(created.source),
            webhook_path,
            webhook_secret,
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/sources/{id}",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Source id")),
    responses(
        (status = 200, description = "The source, with its health and last error code", body = Source),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace or source", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<Json<Source>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    state
        .store()
        .sources()
        .get(access.workspace.id, SourceId(id))
        .await?
        .map(|source| Json(shown(source)))
        .ok_or(AppError::NotFound)
}

#[utoipa::path(
    patch,
    path = "/api/v1/workspaces/{slug}/sources/{id}",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Source id")),
    request_body = SourceChange,
    responses(
        (status = 200, description = "Updated", body = Source),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only managers and admins configure sources", body = ErrorBody),
        (status = 404, description = "No such workspace or source", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<SourceChange>,
) -> Result<Json<Source>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let source = sources::change(&state, &access, &caller.user, SourceId(id), &body).await?;
    Ok(Json(shown(source)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/workspaces/{slug}/sources/{id}",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Source id")),
    responses(
        (status = 204, description = "Archived: disabled and hidden; its mentions stay"),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only managers and admins configure sources", body = ErrorBody),
        (status = 404, description = "No such workspace or source", body = ErrorBody),
    )
)]
pub async fn archive(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    sources::archive(&state, &access, &caller.user, SourceId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
