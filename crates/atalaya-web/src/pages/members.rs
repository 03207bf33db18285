//! A workspace's members: everyone may see who is in the team; admins add
//! existing users, change roles and remove members.

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{Permission, Role, UserId};
use axum::extract::State;
use axum::response::Redirect;
use serde::Deserialize;

use super::{DoneQuery, Shell, role_label};
use crate::AppState;
use crate::access::require;
use crate::error::AppError;
use crate::extract::{ApiPath, ApiQuery, Context, CurrentUser, WebForm};
use crate::i18n::Translator;
use crate::membership;

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
}

pub async fn list(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<DoneQuery>,
) -> Result<MembersPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let t = context.t();
    let members = state
        .store()
        .workspaces()
        .members(access.workspace.id)
        .await?;
    Ok(MembersPage {
        t,
        shell: Shell::workspace(&state, &context, &access, "members")
            .await?
            .with_toast(t, query.done.as_deref()),
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
        can_manage: access.allows(Permission::Administer),
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
