//! The invitation accept page, `/invite/{token}`.
//!
//! ```text
//!  GET  /invite/{token}           valid: who invites whom to what, then
//!                                   signed in  ─▶ "join with your account" (POST /invite/{token})
//!                                   signed out ─▶ create an account (POST /invite/{token}/register)
//!                                                 or sign in (/login?next=/invite/{token}) and come back
//!                                 used / expired: 410 with what to do; unknown or revoked: one 404
//! ```
//!
//! A visitor who has not chosen a language gets the one the inviter chose for
//! them. Registration validates exactly as setup does, keeps what was typed on
//! errors, and signs the new person in.

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{
    Invitation, UiLang, Workspace, validate_display_name, validate_email, validate_password,
    validate_username,
};
use atalaya_store::{NewUser, StoreError};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::forms::FormErrors;
use super::{Shell, role_label};
use crate::AppState;
use crate::auth;
use crate::error::{AppError, FieldError};
use crate::extract::{ApiPath, Context, CurrentUser, WebForm};
use crate::formats::Formats;
use crate::i18n::Translator;
use crate::invitations::{self, INVITE_PATH, Joined, LinkState};
use crate::session::{self, LANG_COOKIE, RequestContext};

/// What a visitor typed into the account form, given back on errors.
#[derive(Debug, Clone, Default)]
pub struct AccountValues {
    username: String,
    display_name: String,
    email: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "invite.html")]
pub struct InvitePage {
    t: Translator,
    shell: Shell,
    /// `valid`, `used`, `expired` or `invalid`.
    state: &'static str,
    token: String,
    workspace_name: String,
    role_label: &'static str,
    inviter: String,
    invited_email: String,
    expires_at: String,
    /// The signed-in visitor's username.
    signed_in_as: Option<String>,
    /// The signed-in visitor's e-mail is not the invited one.
    email_differs: bool,
    /// The signed-in visitor's current role in the workspace, if a member.
    current_role: Option<&'static str>,
    values: AccountValues,
    /// Each field's problem, for the account form.
    errors: FormErrors,
    /// `/login?next=...` back to this page.
    sign_in_link: String,
}

/// The page for `link` as seen by `context`'s visitor.
async fn page(
    state: &AppState,
    context: &RequestContext,
    token: &str,
    link: &LinkState,
    values: AccountValues,
    errors: FormErrors,
) -> Result<InvitePage, AppError> {
    let t = context.t();
    let here = format!("{INVITE_PATH}{token}");
    let mut page = InvitePage {
        t,
        shell: Shell::from_context(context).at(here.clone()).plain(),
        state: "invalid",
        token: token.to_owned(),
        workspace_name: String::new(),
        role_label: "",
        inviter: String::new(),
        invited_email: String::new(),
        expires_at: String::new(),
        signed_in_as: context
            .caller
            .as_ref()
            .map(|caller| caller.user.username.clone()),
        email_differs: false,
        current_role: None,
        values,
        errors,
        sign_in_link: format!("/login?next={}", session::encode_query_value(&here)),
    };
    match link {
        LinkState::Invalid => {}
        LinkState::Used => page.state = "used",
        LinkState::Expired => page.state = "expired",
        LinkState::Valid {
            invitation,
            workspace,
        } => {
            fill_valid(&mut page, state, context, invitation, workspace).await?;
        }
    }
    Ok(page)
}

async fn fill_valid(
    page: &mut InvitePage,
    state: &AppState,
    context: &RequestContext,
    invitation: &Invitation,
    workspace: &Workspace,
) -> Result<(), AppError> {
    let t = page.t;
    page.state = "valid";
    page.workspace_name.clone_from(&workspace.name);
    page.role_label = role_label(t, invitation.role);
    page.inviter.clone_from(&invitation.invited_by_name);
    page.invited_email.clone_from(&invitation.email);
    let formats = Formats::new(t, &workspace.time_zone, atalaya_domain::Timestamp::now());
    page.expires_at = format!(
        "{} ({})",
        formats.date_time(invitation.expires_at),
        formats.time_zone_name()
    );
    if let Some(caller) = &context.caller {
        page.email_differs = !caller.user.email.eq_ignore_ascii_case(&invitation.email);
        page.current_role = state
            .store()
            .workspaces()
            .role_of(workspace.id, caller.user.id)
            .await?
            .map(|role| role_label(t, role));
    } else if page.values.email.is_empty() {
        page.values.email.clone_from(&invitation.email);
    }
    Ok(())
}

/// The status each state answers with.
fn status_of(link: &LinkState) -> StatusCode {
    match link {
        LinkState::Valid { .. } => StatusCode::OK,
        LinkState::Used | LinkState::Expired => StatusCode::GONE,
        LinkState::Invalid => StatusCode::NOT_FOUND,
    }
}

/// A signed-out visitor without a language of their own reads the page in
/// the language the inviter chose for them.
fn context_for(context: &RequestContext, headers: &HeaderMap, link: &LinkState) -> RequestContext {
    let chose_language = session::request_cookie(headers, LANG_COOKIE)
        .and_then(|code| UiLang::from_code(&code))
        .is_some();
    match link {
        LinkState::Valid { invitation, .. } if context.caller.is_none() && !chose_language => {
            RequestContext {
                lang: invitation.lang,
                ..context.clone()
            }
        }
        _ => context.clone(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    Context(context): Context,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let link = invitations::lookup(&state, &token).await?;
    let context = context_for(&context, &headers, &link);
    let page = page(
        &state,
        &context,
        &token,
        &link,
        AccountValues::default(),
        FormErrors::none(),
    )
    .await?;
    Ok((status_of(&link), page).into_response())
}

fn joined_redirect(joined: &Joined) -> Redirect {
    Redirect::to(&format!("/w/{}", joined.workspace.slug))
}

/// A signed-in visitor joins with their current account.
pub async fn accept(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, AppError> {
    match invitations::accept(&state, &token, &caller.user).await? {
        Ok(joined) => Ok(joined_redirect(&joined).into_response()),
        Err(link) => {
            let page = page(
                &state,
                &context,
                &token,
                &link,
                AccountValues::default(),
                FormErrors::none(),
            )
            .await?;
            Ok((status_of(&link), page).into_response())
        }
    }
}

/// Every field defaults to empty, so that a signed-in visitor posting an empty
/// form is sent back to the page rather than told the form is malformed.
#[derive(Debug, Deserialize)]
#[serde(default)]
#[derive(Default)]
pub struct RegisterForm {
    username: String,
    display_name: String,
    email: String,
    password: String,
    password_confirm: String,
}

/// The account form's fields, normalised, or every problem at once (the same
/// rules as setup).
fn validate_account(form: &RegisterForm) -> Result<(String, String, String), AppError> {
    let mut problems: Vec<FieldError> = Vec::new();
    let mut keep = |result: Result<String, atalaya_domain::ValidationError>| match result {
        Ok(value) => Some(value),
        Err(error) => {
            problems.push(error.into());
            None
        }
    };
    let username = keep(validate_username(&form.username));
    let display_name = keep(validate_display_name(&form.display_name));
    let email = keep(validate_email(&form.email));
    if let Err(error) = validate_password(&form.password) {
        problems.push(error.into());
    } else if form.password != form.password_confirm {
        problems.push(FieldError::new(
            "password_confirm",
            "validation.password_mismatch",
        ));
    }
    match (username, display_name, email) {
        (Some(username), Some(display_name), Some(email)) if problems.is_empty() => {
            Ok((username, display_name, email))
        }
        _ => Err(AppError::InvalidInput {
            fields: problems,
            detail: None,
        }),
    }
}

/// A signed-out visitor creates their account, joins, and is signed in.
pub async fn register(
    State(state): State<AppState>,
    Context(context): Context,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
    WebForm(form): WebForm<RegisterForm>,
) -> Result<Response, AppError> {
    if context.caller.is_some() {
        // Signed in already: the page offers joining with that account.
        return Ok(Redirect::to(&format!("{INVITE_PATH}{token}")).into_response());
    }
    let link = invitations::lookup(&state, &token).await?;
    let context = context_for(&context, &headers, &link);
    let values = AccountValues {
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        email: form.email.clone(),
    };
    if !matches!(link, LinkState::Valid { .. }) {
        // No account is made for a link that cannot be used.
        let page = page(&state, &context, &token, &link, values, FormErrors::none()).await?;
        return Ok((status_of(&link), page).into_response());
    }
    let (username, display_name, email) = match validate_account(&form) {
        Ok(valid) => valid,
        Err(error) => {
            let errors = FormErrors::from_error(context.t(), error, |_| None)?;
            let page = page(&state, &context, &token, &link, values, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let password_hash = auth::hash_password(&form.password).map_err(AppError::internal)?;
    let created = state
        .store()
        .users()
        .create(NewUser {
            username: &username,
            email: &email,
            display_name: &display_name,
            password_hash: &password_hash,
            is_instance_admin: false,
        })
        .await;
    let user = match created {
        Ok(user) => user,
        Err(StoreError::Conflict { what }) => {
            let field = if what == "email" { "email" } else { "username" };
            let errors = FormErrors::from_error(
                context.t(),
                AppError::field(field, "validation.taken"),
                |_| None,
            )?;
            let page = page(&state, &context, &token, &link, values, errors).await?;
            return Ok((StatusCode::CONFLICT, page).into_response());
        }
        Err(other) => return Err(other.into()),
    };
    tracing::info!(user = %user.username, "account created from an invitation");
    let outcome = invitations::accept(&state, &token, &user).await?;
    let mut response = match &outcome {
        Ok(joined) => joined_redirect(joined).into_response(),
        // Used by someone else in the meantime: the account stays, signed in.
        Err(link) => {
            let page = page(&state, &context, &token, link, values, FormErrors::none()).await?;
            (status_of(link), page).into_response()
        }
    };
    super::sign_in::start_session(&state, &context, user.id, &mut response).await?;
    Ok(response)
}
