//! A workspace's members: everyone may see who is in the team; admins add
//! existing users, invite people by e-mail link, change roles and remove
//! members. A new invitation's link is shown once, on the page that answers
//! its creation (never in a redirect's URL).

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{InvitationId, Permission, Role, Timestamp, UiLang, UserId};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::forms::FormErrors;
use super::{DoneQuery, Shell, role_label};
use crate::AppState;
use crate::access::{WorkspaceAccess, require};
use crate::error::AppError;
use crate::extract::{ApiPath, ApiQuery, Context, CurrentUser, WebForm};
use crate::formats::{Formats, TimeLabel};
use crate::i18n::Translator;
use crate::invitations::{self, CreatedLink};
use crate::listening::accounts::public_base;
use crate::membership;
use crate::session::{Caller, RequestContext};

pub struct MemberRow {
    user_id: i64,
    username: String,
    display_name: String,
    email: String,
    role: Role,
    role_label: &'static str,
    is_you: bool,
}

pub struct RoleOption {
    value: &'static str,
    label: &'static str,
    description: &'static str,
}

pub struct InvitationRow {
    id: i64,
    email: String,
    role_label: &'static str,
    invited_by: String,
    created_at: TimeLabel,
    expires_at: TimeLabel,
}

/// The invitation just created, shown once.
pub struct NewLink {
    link: String,
    email: String,
    emailed: bool,
}

/// What the invitation form had, given back with its problems.
#[derive(Debug, Default)]
pub struct InviteValues {
    email: String,
    role: String,
    lang: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "members.html")]
pub struct MembersPage {
    t: Translator,
    shell: Shell,
    slug: String,
    members: Vec<MemberRow>,
    can_manage: bool,
    roles: Vec<RoleOption>,
    count: String,
    /// Pending invitations; only admins see them (they name e-mail addresses).
    invitations: Vec<InvitationRow>,
    new_link: Option<NewLink>,
    /// Whether invitations are e-mailed (mail and a public address configured).
    mail_enabled: bool,
    invite: InviteValues,
    invite_errors: FormErrors,
}

pub async fn list(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<DoneQuery>,
) -> Result<MembersPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let page = Extras {
        done: query.done.as_deref(),
        ..Extras::default()
    };
    render(&state, &context, &caller, &access, page).await
}

/// What differs between the ways the page is drawn.
#[derive(Default)]
struct Extras<'a> {
    done: Option<&'a str>,
    new_link: Option<NewLink>,
    invite: InviteValues,
    invite_errors: FormErrors,
}

async fn render(
    state: &AppState,
    context: &RequestContext,
    caller: &Caller,
    access: &WorkspaceAccess,
    extras: Extras<'_>,
) -> Result<MembersPage, AppError> {
    let t = context.t();
    let members = state
        .store()
        .workspaces()
        .members(access.workspace.id)
        .await?;
    let can_manage = access.allows(Permission::Administer);
    let now = Timestamp::now();
    let invitations = if can_manage {
        state
            .store()
            .invitations()
            .list_pending(access.workspace.id, now)
            .await?
    } else {
        Vec::new()
    };
    let formats = Formats::new(t, &access.workspace.time_zone, now);
    let settings = state.settings();
    let mut invite = extras.invite;
    if invite.lang.is_empty() {
        // The invitee's language defaults to the admin's own.
        invite.lang = context.lang.code().to_owned();
    }
    if invite.role.is_empty() {
        invite.role = String::from("viewer");
    }
    Ok(MembersPage {
        t,
        shell: Shell::workspace(state, context, access, "members")
            .await?
            .with_toast(t, extras.done),
        count: t.count("members.count", i64::try_from(members.len()).unwrap_or(0)),
        slug: access.workspace.slug.clone(),
        members: members
            .into_iter()
            .map(|(user, role)| MemberRow {
                user_id: user.id.get(),
                is_you: user.id == caller.user.id,
                username: user.username,
                display_name: user.display_name,
                email: user.email,
                role,
                role_label: role_label(t, role),
            })
            .collect(),
        can_manage,
        roles: Role::ALL
            .into_iter()
            .map(|role| RoleOption {
                value: role.as_str(),
                label: role_label(t, role),
                description: t
                    .lookup(&format!("role_hint.{}", role.as_str()))
                    .unwrap_or_default(),
            })
            .collect(),
        invitations: invitations
            .into_iter()
            .map(|invitation| InvitationRow {
                id: invitation.id.get(),
                email: invitation.email,
                role_label: role_label(t, invitation.role),
                invited_by: invitation.invited_by_name,
                created_at: formats.label(invitation.created_at),
                expires_at: formats.exact_label(invitation.expires_at),
            })
            .collect(),
        new_link: extras.new_link,
        mail_enabled: settings.mail_enabled && settings.public_url.is_some(),
        invite,
        invite_errors: extras.invite_errors,
    })
}

fn parse_role(value: &str) -> Result<Role, AppError> {
    value
        .parse::<Role>()
        .map_err(|_| AppError::field("role", "validation.role"))
}

#[derive(Debug, Deserialize)]
pub struct AddMemberForm {
    username: String,
    role: String,
}

pub async fn add(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    WebForm(form): WebForm<AddMemberForm>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    let role = parse_role(&form.role)?;
    membership::add(&state, &access, &caller.user, &form.username, role).await?;
    Ok(Redirect::to(&format!(
        "/w/{slug}/members?done=member_added"
    )))
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn change_role(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, user_id)): ApiPath<(String, i64)>,
    WebForm(form): WebForm<RoleForm>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    let role = parse_role(&form.role)?;
    membership::change_role(&state, &access, &caller.user, UserId(user_id), role).await?;
    Ok(Redirect::to(&format!(
        "/w/{slug}/members?done=role_changed"
    )))
}

pub async fn remove(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, user_id)): ApiPath<(String, i64)>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    membership::remove(&state, &access, &caller.user, UserId(user_id)).await?;
    Ok(Redirect::to(&format!(
        "/w/{slug}/members?done=member_removed"
    )))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InviteForm {
    email: String,
    role: String,
    /// `es` or `en`; empty: the admin's own language.
    lang: String,
}

/// The language the invitee's e-mail is written in.
fn invitee_lang(value: &str, fallback: UiLang) -> Result<UiLang, AppError> {
    match value.trim() {
        "" => Ok(fallback),
        code => {
            UiLang::from_code(code).ok_or_else(|| AppError::field("lang", "validation.language"))
        }
    }
}

/// Creates an invitation and answers with the members page showing its link
/// once (rendered, not redirected: the token must not travel in a URL). A
/// problem is shown under the form, which keeps what was typed.
pub async fn invite(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    headers: HeaderMap,
    WebForm(form): WebForm<InviteForm>,
) -> Result<Response, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    let created = match (
        parse_role(&form.role),
        invitee_lang(&form.lang, context.lang),
    ) {
        (Ok(role), Ok(lang)) => {
            // The copyable link may use this request's address; e-mailed links never do.
            let base = public_base(&state, &headers).unwrap_or_default();
            invitations::create(
                &state,
                &access,
                &caller.user,
                &form.email,
                role,
                lang,
                &base,
            )
            .await
        }
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    match created {
        Ok(CreatedLink {
            invitation,
            link,
            emailed,
        }) => {
            let extras = Extras {
                done: Some(if emailed {
                    "invitation_emailed"
                } else {
                    "invitation_created"
                }),
                new_link: Some(NewLink {
                    link,
                    email: invitation.email,
                    emailed,
                }),
                ..Extras::default()
            };
            Ok(render(&state, &context, &caller, &access, extras)
                .await?
                .into_response())
        }
        Err(error) => {
            let status = error.status();
            let invite_errors = FormErrors::from_error(context.t(), error, |what| {
                what.starts_with("invitations_").then_some("email")
            })?;
            let extras = Extras {
                invite: InviteValues {
                    email: form.email,
                    role: form.role,
                    lang: form.lang,
                },
                invite_errors,
                ..Extras::default()
            };
            let page = render(&state, &context, &caller, &access, extras).await?;
            Ok((status, page).into_response())
        }
    }
}

pub async fn revoke_invitation(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Administer).await?;
    invitations::revoke(&state, &access, &caller.user, InvitationId(id)).await?;
    Ok(Redirect::to(&format!(
        "/w/{slug}/members?done=invitation_revoked"
    )))
}
