//! The account page: interface language and colour theme, password, personal
//! API tokens.

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{ApiTokenId, Theme, Timestamp, UiLang, validate_password};
use atalaya_store::NewAuditEntry;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::{DoneQuery, Shell};
use crate::AppState;
use crate::audit_actions;
use crate::auth;
use crate::error::{AppError, FieldError};
use crate::extract::{ApiPath, ApiQuery, Context, CurrentUser, WebForm};
use crate::formats::{DEFAULT_TIME_ZONE, Formats, TimeLabel};
use crate::i18n::Translator;
use crate::session::{Caller, RequestContext};
use crate::tokens;

pub struct TokenRow {
    id: i64,
    name: String,
    created_at: TimeLabel,
    last_used_at: Option<TimeLabel>,
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage {
    t: Translator,
    shell: Shell,
    username: String,
    display_name: String,
    /// `es`, `en` or `auto`.
    lang_setting: &'static str,
    /// `light`, `dark` or `auto`.
    theme_setting: &'static str,
    email: String,
    tokens: Vec<TokenRow>,
    /// A token just created, shown this once.
    new_token: Option<String>,
}

async fn render(
    state: &AppState,
    context: &RequestContext,
    caller: &Caller,
    new_token: Option<String>,
    done: Option<&str>,
) -> Result<AccountPage, AppError> {
    let t = context.t();
    let shell = Shell::signed_in(state, context)
        .await?
        .at("/account")
        .with_toast(t, done);
    // Outside any workspace, times follow the person's first workspace's zone.
    let zone = state
        .store()
        .workspaces()
        .memberships_of(caller.user.id)
        .await?
        .first()
        .map_or_else(
            || DEFAULT_TIME_ZONE.to_owned(),
            |membership| membership.workspace.time_zone.clone(),
        );
    let formats = Formats::new(t, &zone, Timestamp::now());
    let tokens = state
        .store()
        .api_tokens()
        .list_for_user(caller.user.id)
        .await?;
    Ok(AccountPage {
        t,
        shell,
        username: caller.user.username.clone(),
        display_name: caller.user.display_name.clone(),
        email: caller.user.email.clone(),
        lang_setting: caller.user.ui_lang.map_or("auto", UiLang::code),
        theme_setting: caller.user.theme.map_or("auto", Theme::as_str),
        tokens: tokens
            .into_iter()
            .map(|token| TokenRow {
                id: token.id.get(),
                name: token.name,
                created_at: formats.label(token.created_at),
                last_used_at: token.last_used_at.map(|at| formats.label(at)),
            })
            .collect(),
        new_token,
    })
}

pub async fn show(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiQuery(query): ApiQuery<DoneQuery>,
) -> Result<AccountPage, AppError> {
    render(&state, &context, &caller, None, query.done.as_deref()).await
}

#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    ui_lang: String,
    /// `light`, `dark` or `auto`; absent leaves the theme as it is.
    #[serde(default)]
    theme: Option<String>,
}

pub async fn set_language(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    WebForm(form): WebForm<LanguageForm>,
) -> Result<Redirect, AppError> {
    let lang = match form.ui_lang.as_str() {
        "auto" => None,
        code => Some(
            UiLang::from_code(code)
                .ok_or_else(|| AppError::field("ui_lang", "validation.language"))?,
        ),
    };
    let theme = match form.theme.as_deref().map(str::trim) {
        None => caller.user.theme,
        Some("auto") => None,
        Some(code) => Some(
            Theme::from_code(code).ok_or_else(|| AppError::field("theme", "validation.theme"))?,
        ),
    };
    state
        .store()
        .users()
        .set_ui_lang(caller.user.id, lang)
        .await?;
    state
        .store()
        .users()
        .set_theme(caller.user.id, theme)
        .await?;
    let entry = NewAuditEntry {
        workspace: None,
        actor: Some(caller.user.id),
        action: audit_actions::LANGUAGE_CHANGED,
        target: &caller.user.username,
        detail: json!({ "lang": lang }),
    };
    state
        .store()
        .audit()
        .record(entry, Timestamp::now())
        .await?;
    Ok(Redirect::to("/account?done=language_saved"))
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password_confirm: String,
}

/// Changes the password and signs every other session out: whoever else knew
/// the old password should lose access with it.
pub async fn change_password(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    WebForm(form): WebForm<PasswordForm>,
) -> Result<Response, AppError> {
    let store = state.store();
    let stored = store
        .users()
        .password_hash(caller.user.id)
        .await?
        .unwrap_or_default();
    if !auth::verify_password(&form.current_password, &stored) {
        return Err(AppError::field(
            "current_password",
            "validation.wrong_password",
        ));
    }
    validate_password(&form.new_password).map_err(|error| AppError::InvalidInput {
        fields: vec![FieldError {
            field: String::from("new_password"),
            ..error.into()
        }],
        detail: None,
    })?;
    if form.new_password != form.new_password_confirm {
        return Err(AppError::field(
            "new_password_confirm",
            "validation.password_mismatch",
        ));
    }
    let hash = auth::hash_password(&form.new_password).map_err(AppError::internal)?;
    store
        .users()
        .set_password_hash(caller.user.id, &hash)
        .await?;
    store.sessions().delete_for_user(caller.user.id).await?;
    let entry = NewAuditEntry {
        workspace: None,
        actor: Some(caller.user.id),
        action: audit_actions::PASSWORD_CHANGED,
        target: &caller.user.username,
        detail: json!({}),
    };
    store.audit().record(entry, Timestamp::now()).await?;
    let mut response = Redirect::to("/account?done=password_changed").into_response();
    // The old session is gone; this browser continues on a fresh one.
    let fresh_context = RequestContext {
        caller: None,
        ..context
    };
    super::sign_in::start_session(&state, &fresh_context, caller.user.id, &mut response).await?;
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    name: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    WebForm(form): WebForm<TokenForm>,
) -> Result<AccountPage, AppError> {
    let (token, _) = tokens::create(&state, &caller.user, &form.name).await?;
    // Rendered directly rather than redirected: the token must not travel in a URL.
    render(
        &state,
        &context,
        &caller,
        Some(token),
        Some("token_created"),
    )
    .await
}

pub async fn revoke_token(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(token_id): ApiPath<i64>,
) -> Result<Redirect, AppError> {
    tokens::revoke(&state, &caller.user, ApiTokenId(token_id)).await?;
    Ok(Redirect::to("/account?done=token_revoked"))
}
