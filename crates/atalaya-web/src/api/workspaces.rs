//! Workspaces the caller belongs to, one workspace's summary, and its audit log.

use atalaya_domain::{AuditId, Permission, Role, Timestamp, UserId, WorkspaceId};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::access::require;
use crate::error::{AppError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::listening::languages;

/// A workspace and the caller's role in it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkspaceView {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub is_demo: bool,
    pub created_at: Timestamp,
    pub role: Role,
}

/// One workspace in detail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkspaceDetail {
    #[serde(flatten)]
    pub workspace: WorkspaceView,
    pub member_count: usize,
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces",
    tag = "workspaces",
    responses(
        (status = 200, description = "The caller's workspaces, by name", body = [WorkspaceView]),
        (status = 401, description = "No valid credentials", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
) -> Result<Json<Vec<WorkspaceView>>, AppError> {
    let memberships = state
        .store()
        .workspaces()
        .memberships_of(caller.user.id)
        .await?;
    Ok(Json(
        memberships
            .into_iter()
            .map(|membership| WorkspaceView {
                id: membership.workspace.id,
                slug: membership.workspace.slug,
                name: membership.workspace.name,
                is_demo: membership.workspace.is_demo,
                created_at: membership.workspace.created_at,
                role: membership.role,
            })
            .collect(),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}",
    tag = "workspaces",
    params(("slug" = String, Path, description = "Workspace slug")),
    responses(
        (status = 200, description = "The workspace", body = WorkspaceDetail),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<WorkspaceDetail>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let member_count = state
        .store()
        .workspaces()
        .members(access.workspace.id)
        .await?
        .len();
    let workspace = access.workspace;
    Ok(Json(WorkspaceDetail {
        workspace: WorkspaceView {
            id: workspace.id,
            slug: workspace.slug,
            name: workspace.name,
            is_demo: workspace.is_demo,
            created_at: workspace.created_at,
            role: access.role,
        },
        member_count,
    }))
}

/// One audit-log entry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    pub id: AuditId,
    pub actor: Option<UserId>,
    pub actor_name: Option<String>,
    pub action: String,
    pub target: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub at: Timestamp,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many entries, newest first (1–500, default 100).
    pub limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/audit",
    tag = "workspaces",
    params(("slug" = String, Path, description = "Workspace slug"), AuditQuery),
    responses(
        (status = 200, description = "Newest entries first", body = [AuditEntryView]),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Role below manager", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntryView>>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::field("limit", "validation.limit"));
    }
    let entries = state
        .store()
        .audit()
        .list(access.workspace.id, limit)
        .await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|entry| AuditEntryView {
                id: entry.id,
                actor: entry.actor,
                actor_name: entry.actor_name,
                action: entry.action,
                target: entry.target,
                detail: entry.detail,
                at: entry.at,
            })
            .collect(),
    ))
}

/// A workspace's languages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LanguagesView {
    /// The languages its mentions are mostly written in, in order of
    /// preference: a text too short to identify is placed among them.
    pub languages: Vec<String>,
    /// Every code that may be chosen.
    pub known: Vec<&'static str>,
}

/// New languages for a workspace.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LanguagesInput {
    /// One or more distinct codes among `known`.
    pub languages: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/languages",
    tag = "workspaces",
    params(("slug" = String, Path, description = "Workspace slug")),
    responses(
        (status = 200, description = "The workspace's languages and the codes that may be chosen", body = LanguagesView),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Role below manager", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
    )
)]
pub async fn get_languages(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<LanguagesView>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    Ok(Json(LanguagesView {
        languages: languages::get(&access)?,
        known: languages::known(),
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/workspaces/{slug}/languages",
    tag = "workspaces",
    params(("slug" = String, Path, description = "Workspace slug")),
    request_body = LanguagesInput,
    responses(
        (status = 200, description = "Changed (audited); new mentions are analysed with them within a minute", body = LanguagesView),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Role below manager", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
        (status = 422, description = "Not one or more distinct known codes", body = ErrorBody),
    )
)]
pub async fn update_languages(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<LanguagesInput>,
) -> Result<Json<LanguagesView>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let languages = languages::update(&state, &access, &caller.user, &body.languages).await?;
    Ok(Json(LanguagesView {
        languages,
        known: languages::known(),
    }))
}
