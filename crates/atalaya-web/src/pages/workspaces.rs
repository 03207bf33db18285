//! The workspace switcher (an agency runs several brands) and creating a
//! workspace: instance administrators always may, everyone else when the
//! instance allows it (`workspaces.anyone_can_create`, off by default: people
//! who joined through an invitation, a client with a read-only role say, should
//! not gain the power to add workspaces that poll the networks). Whoever creates
//! a workspace becomes its first admin.

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{Role, Timestamp, validate_display_name, validate_slug};
use atalaya_store::NewAuditEntry;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::forms::FormErrors;
use super::{DoneQuery, Shell, color_class, initials, role_label};
use crate::AppState;
use crate::audit_actions;
use crate::error::{AppError, FieldError};
use crate::extract::{ApiQuery, Context, CurrentUser, WebForm};
use crate::formats::{DEFAULT_TIME_ZONE, is_time_zone, time_zone_names};
use crate::i18n::Translator;
use crate::session::RequestContext;

pub struct WorkspaceItem {
    slug: String,
    name: String,
    role: &'static str,
    is_demo: bool,
    mark: String,
    mark_class: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "workspaces.html")]
pub struct WorkspacesPage {
    t: Translator,
    shell: Shell,
    workspaces: Vec<WorkspaceItem>,
    can_create: bool,
    errors: FormErrors,
    typed_name: String,
    typed_slug: String,
    typed_time_zone: String,
    time_zones: Vec<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiQuery(query): ApiQuery<DoneQuery>,
) -> Result<WorkspacesPage, AppError> {
    render(
        &state,
        &context,
        &caller.user,
        query.done.as_deref(),
        NewWorkspaceForm::default(),
        FormErrors::none(),
    )
    .await
}

async fn render(
    state: &AppState,
    context: &RequestContext,
    user: &atalaya_domain::User,
    done: Option<&str>,
    typed: NewWorkspaceForm,
    errors: FormErrors,
) -> Result<WorkspacesPage, AppError> {
    let t = context.t();
    let memberships = state.store().workspaces().memberships_of(user.id).await?;
    Ok(WorkspacesPage {
        t,
        shell: Shell::signed_in(state, context)
            .await?
            .at("/workspaces")
            .with_toast(t, done),
        workspaces: memberships
            .into_iter()
            .map(|membership| WorkspaceItem {
                mark: initials(&membership.workspace.name),
                mark_class: color_class(&membership.workspace.slug),
                slug: membership.workspace.slug,
                name: membership.workspace.name,
                role: role_label(t, membership.role),
                is_demo: membership.workspace.is_demo,
            })
            .collect(),
        can_create: may_create(state, user),
        errors,
        typed_name: typed.name,
        typed_slug: typed.slug,
        typed_time_zone: if typed.time_zone.is_empty() {
            DEFAULT_TIME_ZONE.to_owned()
        } else {
            typed.time_zone
        },
        time_zones: time_zone_names(),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct NewWorkspaceForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    time_zone: String,
}

/// Whether `user` may create workspaces on this instance.
pub(crate) fn may_create(state: &AppState, user: &atalaya_domain::User) -> bool {
    user.is_instance_admin || state.settings().anyone_can_create_workspaces
}

/// Creates a workspace; its creator becomes its first admin.
pub async fn create(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    WebForm(form): WebForm<NewWorkspaceForm>,
) -> Result<Response, AppError> {
    if !may_create(&state, &caller.user) {
        return Err(AppError::Forbidden);
    }
    match create_workspace(&state, &caller.user, &form).await {
        Ok(workspace) => Ok(Redirect::to(&format!("/w/{}", workspace.slug)).into_response()),
        Err(error) => {
            let errors = FormErrors::from_error(context.t(), error, |what| {
                (what == "slug").then_some("slug")
            })?;
            let page = render(&state, &context, &caller.user, None, form, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

async fn create_workspace(
    state: &AppState,
    user: &atalaya_domain::User,
    form: &NewWorkspaceForm,
) -> Result<atalaya_domain::Workspace, AppError> {
    let mut fields = Vec::new();
    let name = validate_display_name(&form.name)
        .map_err(|_| fields.push(FieldError::new("name", "validation.workspace_name")))
        .ok();
    let slug = validate_slug(&form.slug)
        .map_err(|error| fields.push(FieldError::from(error)))
        .ok();
    let time_zone = match form.time_zone.trim() {
        "" => DEFAULT_TIME_ZONE,
        zone if is_time_zone(zone) => zone,
        _ => {
            fields.push(FieldError::new("time_zone", "validation.time_zone"));
            DEFAULT_TIME_ZONE
        }
    };
    let (Some(name), Some(slug)) = (name, slug) else {
        return Err(AppError::InvalidInput {
            fields,
            detail: None,
        });
    };
    if !fields.is_empty() {
        return Err(AppError::InvalidInput {
            fields,
            detail: None,
        });
    }
    let store = state.store();
    let workspace = store.workspaces().create(&slug, &name, false).await?;
    let workspace = store
        .workspaces()
        .update_settings(workspace.id, &workspace.name, time_zone)
        .await?;
    store
        .workspaces()
        .set_member(workspace.id, user.id, Role::Admin)
        .await?;
    store
        .audit()
        .record(
            NewAuditEntry {
                workspace: Some(workspace.id),
                actor: Some(user.id),
                action: audit_actions::WORKSPACE_CREATED,
                target: &workspace.slug,
                detail: json!({ "name": workspace.name }),
            },
            Timestamp::now(),
        )
        .await?;
    Ok(workspace)
}
