//! The workspace switcher (an agency runs several brands) and, for instance
//! administrators, creating a workspace.

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{Role, Timestamp, validate_display_name, validate_slug};
use atalaya_store::NewAuditEntry;
use axum::extract::State;
use axum::response::Redirect;
use serde::Deserialize;
use serde_json::json;

use super::{DoneQuery, Shell, done_notice, role_label};
use crate::AppState;
use crate::audit_actions;
use crate::error::{AppError, FieldError};
use crate::extract::{ApiQuery, Context, CurrentUser, WebForm};
use crate::i18n::Translator;

pub struct WorkspaceItem {
    slug: String,
    name: String,
    role: &'static str,
    is_demo: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "workspaces.html")]
pub struct WorkspacesPage {
    t: Translator,
    shell: Shell,
    workspaces: Vec<WorkspaceItem>,
    can_create: bool,
    notice: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiQuery(query): ApiQuery<DoneQuery>,
) -> Result<WorkspacesPage, AppError> {
    let t = context.t();
    let memberships = state
        .store()
        .workspaces()
        .memberships_of(caller.user.id)
        .await?;
    Ok(WorkspacesPage {
        t,
        shell: Shell::from_context(&context).at("/workspaces"),
        workspaces: memberships
            .into_iter()
            .map(|membership| WorkspaceItem {
                slug: membership.workspace.slug,
                name: membership.workspace.name,
                role: role_label(t, membership.role),
                is_demo: membership.workspace.is_demo,
            })
            .collect(),
        can_create: caller.user.is_instance_admin,
        notice: done_notice(t, query.done.as_deref()),
    })
}

#[derive(Debug, Deserialize)]
pub struct NewWorkspaceForm {
    name: String,
    slug: String,
}

/// Instance administrators create workspaces and become their first admin.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    WebForm(form): WebForm<NewWorkspaceForm>,
) -> Result<Redirect, AppError> {
    if !caller.user.is_instance_admin {
        return Err(AppError::Forbidden);
    }
    let name = validate_display_name(&form.name)
        .map_err(|_| AppError::field("name", "validation.workspace_name"))?;
    let slug = validate_slug(&form.slug).map_err(|error| AppError::InvalidInput {
        fields: vec![FieldError::from(error)],
        detail: None,
    })?;
    let store = state.store();
    let workspace = store.workspaces().create(&slug, &name, false).await?;
    store
        .workspaces()
        .set_member(workspace.id, caller.user.id, Role::Admin)
        .await?;
    store
        .audit()
        .record(
            NewAuditEntry {
                workspace: Some(workspace.id),
                actor: Some(caller.user.id),
                action: audit_actions::WORKSPACE_CREATED,
                target: &workspace.slug,
                detail: json!({ "name": workspace.name }),
            },
            Timestamp::now(),
        )
        .await?;
    Ok(Redirect::to(&format!("/w/{}", workspace.slug)))
}
