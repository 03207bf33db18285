//! First-run setup: while the instance has no users, anyone who can reach it
//! may create the first administrator and their first workspace. There is no
//! default password; once one user exists this page answers "not found".
//!
//! Two submissions racing in the instance's first seconds could both pass the
//! "no users yet" check; both would come from whoever installed the instance, so
//! the store's unique constraints (username, e-mail, slug) are protection enough.

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{
    Role, Timestamp, validate_display_name, validate_email, validate_password, validate_slug,
    validate_username,
};
use atalaya_store::{NewAuditEntry, NewUser};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::Shell;
use super::forms::FormErrors;
use crate::AppState;
use crate::audit_actions;
use crate::auth;
use crate::error::{AppError, FieldError};
use crate::extract::{Context, WebForm};
use crate::formats::{DEFAULT_TIME_ZONE, is_time_zone, time_zone_names};
use crate::i18n::Translator;

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
pub struct SetupPage {
    t: Translator,
    shell: Shell,
    form: SetupForm,
    errors: FormErrors,
    time_zones: Vec<String>,
}

async fn ensure_no_users(state: &AppState) -> Result<(), AppError> {
    if state.store().users().count().await? > 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

pub async fn show(
    State(state): State<AppState>,
    Context(context): Context,
) -> Result<SetupPage, AppError> {
    ensure_no_users(&state).await?;
    Ok(SetupPage {
        t: context.t(),
        shell: Shell::from_context(&context).at("/setup").plain(),
        form: SetupForm::default(),
        errors: FormErrors::none(),
        time_zones: time_zone_names(),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct SetupForm {
    username: String,
    email: String,
    display_name: String,
    password: String,
    password_confirm: String,
    workspace_name: String,
    workspace_slug: String,
    /// The workspace's time zone; the browser's by default (filled in by a script).
    #[serde(default)]
    time_zone: String,
}

/// A setup form whose every field passed validation (normalised values).
struct ValidSetup {
    username: String,
    email: String,
    display_name: String,
    workspace_name: String,
    slug: String,
    time_zone: String,
}

/// Checks every field and reports all problems at once.
fn validate_setup(form: &SetupForm) -> Result<ValidSetup, AppError> {
    let mut fields: Vec<FieldError> = Vec::new();
    let username = validate_username(&form.username)
        .map_err(|error| fields.push(error.into()))
        .ok();
    let email = validate_email(&form.email)
        .map_err(|error| fields.push(error.into()))
        .ok();
    let display_name = validate_display_name(&form.display_name)
        .map_err(|error| fields.push(error.into()))
        .ok();
    if let Err(error) = validate_password(&form.password) {
        fields.push(error.into());
    } else if form.password != form.password_confirm {
        fields.push(FieldError::new(
            "password_confirm",
            "validation.password_mismatch",
        ));
    }
    let workspace_name = validate_display_name(&form.workspace_name)
        .map_err(|_| {
            fields.push(FieldError::new(
                "workspace_name",
                "validation.workspace_name",
            ));
        })
        .ok();
    let slug = validate_slug(&form.workspace_slug)
        .map_err(|error| {
            let mut field: FieldError = error.into();
            field.field = String::from("workspace_slug");
            fields.push(field);
        })
        .ok();
    let time_zone = match form.time_zone.trim() {
        "" => DEFAULT_TIME_ZONE.to_owned(),
        zone if is_time_zone(zone) => zone.to_owned(),
        _ => {
            fields.push(FieldError::new("time_zone", "validation.time_zone"));
            String::new()
        }
    };
    match (username, email, display_name, workspace_name, slug) {
        (Some(username), Some(email), Some(display_name), Some(workspace_name), Some(slug))
            if fields.is_empty() =>
        {
            Ok(ValidSetup {
                username,
                email,
                display_name,
                workspace_name,
                slug,
                time_zone,
            })
        }
        _ => Err(AppError::InvalidInput {
            fields,
            detail: None,
        }),
    }
}

pub async fn submit(
    State(state): State<AppState>,
    Context(context): Context,
    WebForm(form): WebForm<SetupForm>,
) -> Result<Response, AppError> {
    ensure_no_users(&state).await?;
    let valid = match validate_setup(&form) {
        Ok(valid) => valid,
        Err(error) => {
            // Everything but the passwords comes back, with each problem under its field.
            let errors = FormErrors::from_error(context.t(), error, |_| None)?;
            let form = SetupForm {
                password: String::new(),
                password_confirm: String::new(),
                ..form
            };
            let page = SetupPage {
                t: context.t(),
                shell: Shell::from_context(&context).at("/setup").plain(),
                form,
                errors,
                time_zones: time_zone_names(),
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let password_hash = auth::hash_password(&form.password).map_err(AppError::internal)?;
    let store = state.store();
    let user = store
        .users()
        .create(NewUser {
            username: &valid.username,
            email: &valid.email,
            display_name: &valid.display_name,
            password_hash: &password_hash,
            is_instance_admin: true,
        })
        .await?;
    let workspace = store
        .workspaces()
        .create(&valid.slug, &valid.workspace_name, false)
        .await?;
    let workspace = store
        .workspaces()
        .update_settings(workspace.id, &workspace.name, &valid.time_zone)
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
                action: audit_actions::INSTANCE_SET_UP,
                target: &workspace.slug,
                detail: json!({ "admin": user.username }),
            },
            Timestamp::now(),
        )
        .await?;
    tracing::info!(admin = %user.username, workspace = %workspace.slug, "instance set up");
    let mut response = Redirect::to(&format!("/w/{}", workspace.slug)).into_response();
    super::sign_in::start_session(&state, &context, user.id, &mut response).await?;
    Ok(response)
}
