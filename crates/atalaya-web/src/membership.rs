//! Changing who belongs to a workspace: the rules pages and the API share.
//!
//! Each change is checked (the target exists, is or is not already a member, the
//! workspace keeps at least one admin), applied, and written to the audit log.
//! Callers must already hold `Permission::Administer` via [`crate::access::require`].

use atalaya_domain::{Role, Timestamp, User, UserId};
use atalaya_store::NewAuditEntry;
use serde_json::json;

use crate::AppState;
use crate::access::WorkspaceAccess;
use crate::audit_actions;
use crate::error::AppError;

/// Adds the existing user `username` with `role`.
pub async fn add(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    username: &str,
    role: Role,
) -> Result<User, AppError> {
    let store = state.store();
    let username = username.trim().to_lowercase();
    if username.is_empty() {
        return Err(AppError::field("username", "validation.empty"));
    }
    let user = store
        .users()
        .find_by_username(&username)
        .await?
        .ok_or_else(|| AppError::field("username", "validation.no_such_user"))?;
    if store
        .workspaces()
        .role_of(access.workspace.id, user.id)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict { what: "member" });
    }
    store
        .workspaces()
        .set_member(access.workspace.id, user.id, role)
        .await?;
    record(
        state,
        access,
        actor,
        audit_actions::MEMBER_ADDED,
        &user.username,
        json!({ "role": role }),
    )
    .await?;
    Ok(user)
}

/// Gives member `user_id` a new role.
pub async fn change_role(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    user_id: UserId,
    role: Role,
) -> Result<User, AppError> {
    let store = state.store();
    let (user, old_role) = member(state, access, user_id).await?;
    if old_role == Role::Admin && role != Role::Admin {
        ensure_another_admin(state, access, user_id).await?;
    }
    store
        .workspaces()
        .set_member(access.workspace.id, user_id, role)
        .await?;
    let detail = json!({ "from": old_role, "to": role });
    record(
        state,
        access,
        actor,
        audit_actions::MEMBER_ROLE_CHANGED,
        &user.username,
        detail,
    )
    .await?;
    Ok(user)
}

/// Removes member `user_id` from the workspace (their account stays).
pub async fn remove(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    user_id: UserId,
) -> Result<(), AppError> {
    let (user, old_role) = member(state, access, user_id).await?;
    if old_role == Role::Admin {
        ensure_another_admin(state, access, user_id).await?;
    }
    state
        .store()
        .workspaces()
        .remove_member(access.workspace.id, user_id)
        .await?;
    record(
        state,
        access,
        actor,
        audit_actions::MEMBER_REMOVED,
        &user.username,
        json!({ "role": old_role }),
    )
    .await
}

async fn member(
    state: &AppState,
    access: &WorkspaceAccess,
    user_id: UserId,
) -> Result<(User, Role), AppError> {
    let store = state.store();
    let role = store
        .workspaces()
        .role_of(access.workspace.id, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let user = store
        .users()
        .get(user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((user, role))
}

/// A workspace without an admin could never be managed again.
async fn ensure_another_admin(
    state: &AppState,
    access: &WorkspaceAccess,
    leaving: UserId,
) -> Result<(), AppError> {
    let members = state
        .store()
        .workspaces()
        .members(access.workspace.id)
        .await?;
    let others = members
        .iter()
        .filter(|(user, role)| *role == Role::Admin && user.id != leaving)
        .count();
    if others == 0 {
        return Err(AppError::Conflict { what: "last_admin" });
    }
    Ok(())
}

async fn record(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    let entry = NewAuditEntry {
        workspace: Some(access.workspace.id),
        actor: Some(actor.id),
        action,
        target,
        detail,
    };
    state
        .store()
        .audit()
        .record(entry, Timestamp::now())
        .await?;
    Ok(())
}
