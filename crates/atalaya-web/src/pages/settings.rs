//! A workspace's settings (administrators): its name, the time zone every
//! time in the interface is shown and entered in, and the languages its
//! mentions are mostly written in (a text too short to identify is placed
//! among them).

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{Permission, Timestamp, validate_display_name};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

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
use crate::listening::{audit, languages};
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
    /// Every language the model knows: the workspace's first, in their order.
    languages: Vec<LanguageChoice>,
    errors: FormErrors,
    jobs: JobHealth,
}

pub struct LanguageChoice {
    code: &'static str,
    name: &'static str,
    chosen: bool,
}

/// The choices, the chosen ones first in their order of preference.
fn language_choices(t: Translator, chosen: &[String]) -> Vec<LanguageChoice> {
    let known = languages::known();
    let mut choices: Vec<LanguageChoice> = chosen
        .iter()
        .filter_map(|code| known.iter().find(|known| **known == code.as_str()))
        .map(|code| LanguageChoice {
            code,
            name: "",
            chosen: true,
        })
        .collect();
    for code in known {
        if !choices.iter().any(|choice| choice.code == code) {
            choices.push(LanguageChoice {
                code,
                name: "",
                chosen: false,
            });
        }
    }
    for choice in &mut choices {
        choice.name = t
            .lookup(&format!("lang.{}", choice.code))
            .unwrap_or(choice.code);
    }
    choices
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
        languages: language_choices(t, &form.languages()),
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
        checked: access
            .workspace
            .languages
            .iter()
            .map(|code| (format!("language_{code}"), String::from("1")))
            .collect(),
        order: access.workspace.languages.join(","),
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
    /// The order the page listed the languages in (the chosen ones first), so
    /// that keeping the boxes keeps the order of preference.
    #[serde(default)]
    order: String,
    /// `language_<code>` for each ticked box.
    #[serde(flatten)]
    checked: HashMap<String, String>,
}

impl SettingsForm {
    /// The ticked languages, in the order the page listed them.
    fn languages(&self) -> Vec<String> {
        let mut listed: Vec<&str> = self
            .order
            .split(',')
            .filter(|code| !code.is_empty())
            .collect();
        for code in languages::known() {
            if !listed.contains(&code) {
                listed.push(code);
            }
        }
        listed
            .into_iter()
            .filter(|code| self.checked.contains_key(&format!("language_{code}")))
            .map(str::to_owned)
            .collect()
    }
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
    // A form without the language boxes (an older page, a script) keeps them.
    let chosen = if form.order.is_empty() {
        access.workspace.languages.clone()
    } else {
        form.languages()
    };
    if chosen.is_empty() {
        fields.push(FieldError::new("languages", "validation.languages_none"));
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
    if chosen != access.workspace.languages {
        languages::update(&state, &access, &caller.user, &chosen).await?;
    }
    Ok(Redirect::to(&format!("/w/{slug}/settings?done=settings_saved")).into_response())
}
