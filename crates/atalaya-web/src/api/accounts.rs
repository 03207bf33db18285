//! A workspace's connected network accounts: listed for every member (state,
//! reason, never credentials), disconnected by managers and admins, and a
//! Bluesky account connected with an app password, so scripts can set up
//! listening without a browser. Mastodon needs the browser (OAuth consent on
//! the instance): it is connected from the accounts page.

use atalaya_domain::{AccountId, NetworkAccount, Permission};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;
use crate::access::require;
use crate::error::{AppError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, CurrentUser};
use crate::listening::accounts::{self, BlueskyInput};

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/accounts",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug")),
    responses(
        (status = 200, description = "Connected accounts with their state (connected, needs_reauth, rate_limited) and reason", body = [NetworkAccount]),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Vec<NetworkAccount>>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    Ok(Json(
        state.store().accounts().list(access.workspace.id).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/workspaces/{slug}/accounts/bluesky",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug")),
    request_body = BlueskyInput,
    responses(
        (status = 201, description = "Connected (or reconnected: the same account keeps its id and sources)", body = NetworkAccount),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only managers and admins connect accounts", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
        (status = 422, description = "Wrong handle or app password, unreachable service, or this instance cannot connect accounts", body = ErrorBody),
    )
)]
pub async fn connect_bluesky(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<BlueskyInput>,
) -> Result<(StatusCode, Json<NetworkAccount>), AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let account = accounts::connect_bluesky(&state, &access, &caller.user, &body).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/workspaces/{slug}/accounts/{id}",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Account id")),
    responses(
        (status = 204, description = "Disconnected: its credentials are deleted; its sources stay, without account"),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only managers and admins disconnect accounts", body = ErrorBody),
        (status = 404, description = "No such workspace or account", body = ErrorBody),
    )
)]
pub async fn disconnect(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    accounts::disconnect(&state, &access, &caller.user, AccountId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
