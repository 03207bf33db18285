//! A workspace's settings (administrators): its name and the time zone every
//! time in the interface is shown and entered in.

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{Permission, Timestamp, validate_display_name};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::forms::FormErrors;
use super::{DoneQuery, Shell};
use crate::AppState;
use crate::access::{WorkspaceAccess, require};
use crate::audit_actions;
use crate::error::{AppError, FieldError};
use crate::extract::{ApiPath, ApiQuery, Context, CurrentUser, WebForm};
use crate::formats::{Formats, is_time_zone, time_zone_names};
use crate::i18n::Translator;
use crate::listening::audit;
use crate::session::RequestContext;

#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    t: Translator,
    shell: Shell,
    slug: String,
    name: String,
    time_zone: String,
    time_zones: Vec<String>,
    /// "Now it is 14:05 in Europe/Madrid", so the choice can be checked.
    local_now: String,
    errors: FormErrors,
    jobs: JobHealth,
}

/// The background job queue of the instance, for administrators: dead jobs
/// mean something needs a person (a source that always fails, a bug).
pub struct JobHealth {
    queued: String,
    running: String,
    succeeded: String,
    dead: i64,
    dead_text: String,
}

async fn render(
    state: &AppState,
    context: &RequestContext,
    access: &WorkspaceAccess,
    form: SettingsForm,
    errors: FormErrors,
    done: Option<&str>,
) -> Result<SettingsPage, AppError> {
    let t = context.t();
    let formats = Formats::new(t, &access.workspace.time_zone, Timestamp::now());
    let mut counts = [0_i64; 4];
    for (status, count) in state.store().jobs().counts().await? {
        let index = match status {
            atalaya_store::JobStatus::Queued => 0,
            atalaya_store::JobStatus::Running => 1,
            atalaya_store::JobStatus::Succeeded => 2,
            atalaya_store::JobStatus::Dead => 3,
        };
        counts[index] = count;
    }
    let jobs = JobHealth {
        queued: t.number(counts[0]),
        running: t.number(counts[1]),
        succeeded: t.number(counts[2]),
        dead: counts[3],
        dead_text: t.number(counts[3]),
    };
    Ok(SettingsPage {
        jobs,
        t,
        shell: Shell::workspace(state, context, access, "settings")
            .await?
            .with_toast(t, done),
        slug: access.workspace.slug.clone(),
        local_now: t.fill(
            "settings.local_now",
            &[
                ("time", &formats.date_time(formats.now())),
                ("zone", formats.time_zone_name()),
            ],
        ),
        name: form.name,
        time_zone: form.time_zone,
        time_zones: time_zone_names(),
        errors,
    })
}

pub async fn show(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<DoneQuery>,
) -> Result<SettingsPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    let form = SettingsForm {
        name: access.workspace.name.clone(),
        time_zone: access.workspace.time_zone.clone(),
    };
    render(
        &state,
        &context,
        &access,
        form,
        FormErrors::none(),
        query.done.as_deref(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    name: String,
    time_zone: String,
}

pub async fn save(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    WebForm(form): WebForm<SettingsForm>,
) -> Result<Response, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    let mut fields = Vec::new();
    let name = validate_display_name(&form.name)
        .map_err(|_| fields.push(FieldError::new("name", "validation.workspace_name")))
        .ok();
    let zone = form.time_zone.trim();
    if !is_time_zone(zone) {
        fields.push(FieldError::new("time_zone", "validation.time_zone"));
    }
    let Some(name) = name.filter(|_| fields.is_empty()) else {
        let errors = FormErrors::from_error(
            context.t(),
            AppError::InvalidInput {
                fields,
                detail: None,
            },
            |_| None,
        )?;
        let page = render(&state, &context, &access, form, errors, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let updated = state
        .store()
        .workspaces()
        .update_settings(access.workspace.id, &name, zone)
        .await?;
    audit(
        &state,
        &access,
        &caller.user,
        audit_actions::WORKSPACE_SETTINGS_CHANGED,
        &updated.slug,
        serde_json::json!({ "time_zone": updated.time_zone, "name": updated.name }),
    )
    .await?;
    Ok(Redirect::to(&format!("/w/{slug}/settings?done=settings_saved")).into_response())
}
