//! Workspace authorization: one check shared by pages and the API.
//!
//! Every workspace-scoped handler calls [`require`] with the permission it needs.
//! A workspace the caller is not a member of answers "not found", so that slugs
//! of other brands cannot be probed; a member whose role lacks the permission
//! gets "forbidden".

use atalaya_domain::{Permission, Role, User, Workspace};

use crate::AppState;
use crate::error::AppError;

/// A workspace the caller may act on, and with which role.
#[derive(Debug, Clone)]
pub struct WorkspaceAccess {
    pub workspace: Workspace,
    pub role: Role,
}

impl WorkspaceAccess {
    pub fn allows(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }

    /// [`AppError::Forbidden`] unless the role has `permission`: for the shared
    /// listening functions, which pages and the API call with an access
    /// already loaded.
    pub fn ensure(&self, permission: Permission) -> Result<(), AppError> {
        if self.allows(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Loads `slug` and the caller's role in it, and checks `permission`.
pub async fn require(
    state: &AppState,
    user: &User,
    slug: &str,
    permission: Permission,
) -> Result<WorkspaceAccess, AppError> {
    let store = state.store();
    let workspace = store
        .workspaces()
        .get_by_slug(slug)
        .await?
        .ok_or(AppError::NotFound)?;
    let role = store
        .workspaces()
        .role_of(workspace.id, user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !role.allows(permission) {
        return Err(AppError::Forbidden);
    }
    Ok(WorkspaceAccess { workspace, role })
}
