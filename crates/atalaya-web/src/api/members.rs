//! A workspace's members: read by every member, changed by admins.

use atalaya_domain::{Permission, Role, User, UserId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::access::require;
use crate::error::{AppError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, CurrentUser};
use crate::membership;

/// A member of a workspace. E-mail addresses are not shown to other members.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

impl MemberView {
    fn new(user: User, role: Role) -> MemberView {
        MemberView {
            user_id: user.id,
            username: user.username,
            display_name: user.display_name,
            role,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AddMember {
    /// An existing user's username.
    pub username: String,
    pub role: Role,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChangeRole {
    pub role: Role,
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/members",
    tag = "members",
    params(("slug" = String, Path, description = "Workspace slug")),
    responses(
        (status = 200, description = "Members, by name", body = [MemberView]),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Vec<MemberView>>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let members = state
        .store()
        .workspaces()
        .members(access.workspace.id)
        .await?;
    Ok(Json(
        members
            .into_iter()
            .map(|(user, role)| MemberView::new(user, role))
            .collect(),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/workspaces/{slug}/members",
    tag = "members",
    params(("slug" = String, Path, description = "Workspace slug")),
    request_body = AddMember,
    responses(
        (status = 201, description = "Added", body = MemberView),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only admins manage members", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
        (status = 409, description = "Already a member", body = ErrorBody),
        (status = 422, description = "No such user, or invalid body", body = ErrorBody),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<AddMember>,
) -> Result<(StatusCode, Json<MemberView>), AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    let user = membership::add(&state, &access, &caller.user, &body.username, body.role).await?;
    Ok((StatusCode::CREATED, Json(MemberView::new(user, body.role))))
}

#[utoipa::path(
    patch,
    path = "/api/v1/workspaces/{slug}/members/{user_id}",
    tag = "members",
    params(("slug" = String, Path, description = "Workspace slug"), ("user_id" = i64, Path, description = "Member's user id")),
    request_body = ChangeRole,
    responses(
        (status = 200, description = "Role changed", body = MemberView),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only admins manage members", body = ErrorBody),
        (status = 404, description = "No such workspace or member", body = ErrorBody),
        (status = 409, description = "Would leave the workspace without an admin", body = ErrorBody),
        (status = 422, description = "Invalid body", body = ErrorBody),
    )
)]
pub async fn change_role(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, user_id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<ChangeRole>,
) -> Result<Json<MemberView>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    let user =
        membership::change_role(&state, &access, &caller.user, UserId(user_id), body.role).await?;
    Ok(Json(MemberView::new(user, body.role)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/workspaces/{slug}/members/{user_id}",
    tag = "members",
    params(("slug" = String, Path, description = "Workspace slug"), ("user_id" = i64, Path, description = "Member's user id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only admins manage members", body = ErrorBody),
        (status = 404, description = "No such workspace or member", body = ErrorBody),
        (status = 409, description = "Would leave the workspace without an admin", body = ErrorBody),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, user_id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    membership::remove(&state, &access, &caller.user, UserId(user_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
