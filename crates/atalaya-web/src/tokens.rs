//! Personal API tokens: creation (the token is returned once and only its
//! SHA-256 is stored) and revocation, each written to the audit log. Shared by
//! the account page and the API.

use atalaya_domain::{ApiTokenId, Timestamp, User};
use atalaya_store::{ApiTokenInfo, NewAuditEntry};
use serde_json::json;

use crate::AppState;
use crate::audit_actions;
use crate::auth;
use crate::error::AppError;

/// Longest token name, in characters.
const MAX_NAME: usize = 80;

/// Creates a token named `name` for `user`; returns the token itself (to show
/// once) and what is stored about it.
pub async fn create(
    state: &AppState,
    user: &User,
    name: &str,
) -> Result<(String, ApiTokenInfo), AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::field("name", "validation.empty"));
    }
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(AppError::field("name", "validation.token_name"));
    }
    let token = auth::new_api_token();
    let now = Timestamp::now();
    let info = state
        .store()
        .api_tokens()
        .create(user.id, name, &auth::token_digest(&token), now)
        .await?;
    let entry = NewAuditEntry {
        workspace: None,
        actor: Some(user.id),
        action: audit_actions::TOKEN_CREATED,
        target: &info.name,
        detail: json!({ "token_id": info.id }),
    };
    state.store().audit().record(entry, now).await?;
    Ok((token, info))
}

/// Revokes `user`'s token `id`; "not found" if it is not theirs.
pub async fn revoke(state: &AppState, user: &User, id: ApiTokenId) -> Result<(), AppError> {
    state.store().api_tokens().revoke(user.id, id).await?;
    let entry = NewAuditEntry {
        workspace: None,
        actor: Some(user.id),
        action: audit_actions::TOKEN_REVOKED,
        target: "",
        detail: json!({ "token_id": id }),
    };
    state
        .store()
        .audit()
        .record(entry, Timestamp::now())
        .await?;
    Ok(())
}
