//! A workspace's invitations by e-mail link: listed, created and revoked by
//! admins only (they name e-mail addresses). Accepting is done in the browser,
//! on the link's page.

use atalaya_domain::{
    Invitation, InvitationId, InvitationStatus, Permission, Role, Timestamp, UiLang, UserId,
};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::access::require;
use crate::error::{AppError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Context, CurrentUser};
use crate::invitations;
use crate::listening::accounts::public_base;

/// An invitation, without its token (only its digest is kept).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    pub id: InvitationId,
    pub email: String,
    pub role: Role,
    /// The language of the e-mail and of the accept page.
    pub lang: UiLang,
    pub invited_by: Option<UserId>,
    pub invited_by_name: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub status: InvitationStatus,
}

impl InvitationView {
    fn new(invitation: Invitation, now: Timestamp) -> InvitationView {
        InvitationView {
            id: invitation.id,
            status: invitation.status(now),
            email: invitation.email,
            role: invitation.role,
            lang: invitation.lang,
            invited_by: invitation.invited_by,
            invited_by_name: invitation.invited_by_name,
            created_at: invitation.created_at,
            expires_at: invitation.expires_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewInvitation {
    /// Where to send the invitation.
    pub email: String,
    /// The role the person gets on joining.
    pub role: Role,
    /// The e-mail's language; default the caller's interface language.
    pub lang: Option<UiLang>,
}

/// A new invitation and its link, returned this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedInvitation {
    pub invitation: InvitationView,
    /// The accept link with its one-use token. Not shown again.
    pub link: String,
    /// Whether the link was also e-mailed (the instance has mail configured).
    pub emailed: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/invitations",
    tag = "members",
    params(("slug" = String, Path, description = "Workspace slug")),
    responses(
        (status = 200, description = "Pending invitations, newest first", body = [InvitationView]),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only admins manage members", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Vec<InvitationView>>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    let now = Timestamp::now();
    let pending = state
        .store()
        .invitations()
        .list_pending(access.workspace.id, now)
        .await?;
    Ok(Json(
        pending
            .into_iter()
            .map(|invitation| InvitationView::new(invitation, now))
            .collect(),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/workspaces/{slug}/invitations",
    tag = "members",
    params(("slug" = String, Path, description = "Workspace slug")),
    request_body = NewInvitation,
    responses(
        (status = 201, description = "Created; the link is in this answer only", body = CreatedInvitation),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only admins manage members", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
        (status = 409, description = "Too many pending invitations, or too many today", body = ErrorBody),
        (status = 422, description = "Invalid e-mail address or body", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewInvitation>,
) -> Result<(StatusCode, Json<CreatedInvitation>), AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    let lang = body.lang.unwrap_or(context.lang);
    let base = public_base(&state, &headers).unwrap_or_default();
    let created = invitations::create(
        &state,
        &access,
        &caller.user,
        &body.email,
        body.role,
        lang,
        &base,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedInvitation {
            invitation: InvitationView::new(created.invitation, Timestamp::now()),
            link: created.link,
            emailed: created.emailed,
        }),
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/workspaces/{slug}/invitations/{id}",
    tag = "members",
    params(("slug" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Invitation id")),
    responses(
        (status = 204, description = "Revoked: the link no longer works"),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only admins manage members", body = ErrorBody),
        (status = 404, description = "No such pending invitation", body = ErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    invitations::revoke(&state, &access, &caller.user, InvitationId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
