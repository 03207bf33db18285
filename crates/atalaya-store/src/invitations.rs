//! Invitations to a workspace. The link's token is never stored: only its
//! SHA-256 hex (computed by the caller), like sessions and API tokens.
//!
//! ```text
//!  create (capped) ──▶ pending ──accept (once)──▶ accepted + membership
//!                        │  └──revoke──▶ revoked
//!                        └──expires_at passes──▶ expired
//! ```
//!
//! Accepting is one `UPDATE ... WHERE accepted_at IS NULL AND revoked_at IS NULL
//! AND expires_at > now`, so of two people racing with one link exactly one gets
//! the row (PostgreSQL re-checks the condition after the first commits; SQLite
//! has one writer), and the membership is written in the same transaction.

use std::str::FromStr;

use atalaya_domain::{Invitation, InvitationId, Role, Timestamp, UiLang, UserId, WorkspaceId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, map_conflict};

const INVITATION_COLUMNS: &str = "id, workspace_id, email, role, lang, invited_by, invited_by_name, \
     created_at, expires_at, accepted_at, accepted_by, revoked_at";

/// The condition that makes an invitation pending at the time bound to `$now`.
macro_rules! pending {
    ($now:literal) => {
        concat!(
            "accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ",
            $now
        )
    };
}

/// An invitation to create. `email` should already be validated.
#[derive(Debug, Clone, Copy)]
pub struct NewInvitation<'a> {
    pub workspace: WorkspaceId,
    /// SHA-256 hex of the link's token.
    pub token_hash: &'a str,
    pub email: &'a str,
    pub role: Role,
    pub lang: UiLang,
    pub invited_by: UserId,
    pub expires_at: Timestamp,
}

/// How many invitations a workspace may have, so that a careless script or a
/// hijacked admin account cannot turn the instance into a mass mailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvitationLimits {
    /// Pending at once.
    pub max_pending: i64,
    /// Created within the last 24 hours, revoked ones included (revoking
    /// and inviting again must not reset the count).
    pub max_per_day: i64,
}

/// What [`Invitations::create`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreatedInvitation {
    Created(Invitation),
    /// The workspace already has `max_pending` pending invitations.
    TooManyPending,
    /// The workspace created `max_per_day` invitations in the last 24 hours.
    TooManyToday,
}

/// What [`Invitations::accept`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptedInvitation {
    /// The user joined the workspace with the invitation's role.
    Joined(Invitation),
    /// The user was a member already: the invitation is used up and their
    /// role is left as it was (an invitation never lowers nor raises a role).
    AlreadyMember { invitation: Invitation, role: Role },
    /// No pending invitation has this token: unknown, used, revoked or expired.
    NotPending,
}

/// The `invitations` table.
pub struct Invitations<'s> {
    pub(crate) store: &'s Store,
}

fn invitation_from_row(row: &AnyRow) -> Result<Invitation, StoreError> {
    let role: String = row.try_get("role")?;
    let role = Role::from_str(&role).map_err(|error| StoreError::CorruptValue {
        column: "invitations.role",
        message: error.to_string(),
    })?;
    let lang: String = row.try_get("lang")?;
    let lang = UiLang::from_code(&lang).ok_or_else(|| StoreError::CorruptValue {
        column: "invitations.lang",
        message: format!("unknown language {lang:?}"),
    })?;
    let optional_time = |column: &str| -> Result<Option<Timestamp>, sqlx::Error> {
        Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp))
    };
    Ok(Invitation {
        id: InvitationId(row.try_get("id")?),
        workspace_id: WorkspaceId(row.try_get("workspace_id")?),
        email: row.try_get("email")?,
        role,
        lang,
        invited_by: row.try_get::<Option<i64>, _>("invited_by")?.map(UserId),
        invited_by_name: row.try_get("invited_by_name")?,
        created_at: Timestamp(row.try_get("created_at")?),
        expires_at: Timestamp(row.try_get("expires_at")?),
        accepted_at: optional_time("accepted_at")?,
        accepted_by: row.try_get::<Option<i64>, _>("accepted_by")?.map(UserId),
        revoked_at: optional_time("revoked_at")?,
    })
}

const DAY_MILLIS: i64 = 24 * 3600 * 1000;

impl Invitations<'_> {
    /// Creates an invitation unless the workspace is at one of `limits`. The
    /// limits are checked by the insert itself, so two admins inviting at the
    /// same moment on SQLite cannot both pass the last free place; on
    /// PostgreSQL they might (read committed), which a soft cap tolerates.
    pub async fn create(
        &self,
        new: NewInvitation<'_>,
        limits: InvitationLimits,
        now: Timestamp,
    ) -> Result<CreatedInvitation, StoreError> {
        let sql = format!(
            "INSERT INTO invitations (workspace_id, token_hash, email, role, lang, invited_by, invited_by_name, \
               created_at, expires_at) \
             SELECT $1, $2, $3, $4, $5, $6, COALESCE((SELECT display_name FROM users WHERE id = $6), ''), $7, $8 \
             WHERE (SELECT COUNT(*) FROM invitations WHERE workspace_id = $1 AND {}) < $9 \
               AND (SELECT COUNT(*) FROM invitations WHERE workspace_id = $1 AND created_at > $10) < $11 \
             RETURNING {INVITATION_COLUMNS}",
            pending!("$7")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(new.workspace.get())
            .bind(new.token_hash)
            .bind(new.email)
            .bind(new.role.as_str())
            .bind(new.lang.code())
            .bind(new.invited_by.get())
            .bind(now.millis())
            .bind(new.expires_at.millis())
            .bind(limits.max_pending)
            .bind(now.millis() - DAY_MILLIS)
            .bind(limits.max_per_day)
            .fetch_optional(self.store.pool())
            .await
            .map_err(|error| map_invitation_error(error, "workspace or inviter"))?;
        if let Some(row) = row {
            return Ok(CreatedInvitation::Created(invitation_from_row(&row)?));
        }
        // Nothing inserted: say which limit was reached.
        let pending = self.list_pending(new.workspace, now).await?.len();
        if i64::try_from(pending).unwrap_or(i64::MAX) >= limits.max_pending {
            Ok(CreatedInvitation::TooManyPending)
        } else {
            Ok(CreatedInvitation::TooManyToday)
        }
    }

    /// The invitation whose token has `token_hash`, whatever its status.
    pub async fn find_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<Invitation>, StoreError> {
        let sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(invitation_from_row).transpose()
    }

    /// Invitation `id` of `workspace`, whatever its status.
    pub async fn get(
        &self,
        workspace: WorkspaceId,
        id: InvitationId,
    ) -> Result<Option<Invitation>, StoreError> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE id = $1 AND workspace_id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.get())
            .bind(workspace.get())
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(invitation_from_row).transpose()
    }

    /// The invitations of `workspace` still pending at `now`, newest first.
    pub async fn list_pending(
        &self,
        workspace: WorkspaceId,
        now: Timestamp,
    ) -> Result<Vec<Invitation>, StoreError> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE workspace_id = $1 AND {} \
             ORDER BY created_at DESC, id DESC",
            pending!("$2")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.get())
            .bind(now.millis())
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(invitation_from_row).collect()
    }

    /// Withdraws invitation `id` of `workspace`. `NotFound` unless it is still
    /// pending at `now` (a used invitation cannot be revoked: its member stays).
    pub async fn revoke(
        &self,
        workspace: WorkspaceId,
        id: InvitationId,
        now: Timestamp,
    ) -> Result<Invitation, StoreError> {
        let sql = format!(
            "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND workspace_id = $3 AND {} \
             RETURNING {INVITATION_COLUMNS}",
            pending!("$1")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now.millis())
            .bind(id.get())
            .bind(workspace.get())
            .fetch_optional(self.store.pool())
            .await?;
        match row {
            Some(row) => invitation_from_row(&row),
            None => Err(StoreError::NotFound {
                what: "pending invitation",
            }),
        }
    }

    /// Uses the pending invitation whose token has `token_hash` for `user`, and
    /// makes them a member with its role, in one transaction. At most one call
    /// per invitation ever gets anything but [`AcceptedInvitation::NotPending`].
    pub async fn accept(
        &self,
        token_hash: &str,
        user: UserId,
        now: Timestamp,
    ) -> Result<AcceptedInvitation, StoreError> {
        let mut transaction = self.store.pool().begin().await?;
        let sql = format!(
            "UPDATE invitations SET accepted_at = $1, accepted_by = $2 WHERE token_hash = $3 AND {} \
             RETURNING {INVITATION_COLUMNS}",
            pending!("$1")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now.millis())
            .bind(user.get())
            .bind(token_hash)
            .fetch_optional(&mut *transaction)
            .await
            .map_err(|error| map_invitation_error(error, "user"))?;
        let Some(row) = row else {
            transaction.rollback().await?;
            return Ok(AcceptedInvitation::NotPending);
        };
        let invitation = invitation_from_row(&row)?;
        let current: Option<String> = sqlx::query_scalar(
            "SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2",
        )
        .bind(invitation.workspace_id.get())
        .bind(user.get())
        .fetch_optional(&mut *transaction)
        .await?;
        let outcome = match current {
            Some(role) => {
                let role = Role::from_str(&role).map_err(|error| StoreError::CorruptValue {
                    column: "memberships.role",
                    message: error.to_string(),
                })?;
                AcceptedInvitation::AlreadyMember { invitation, role }
            }
            None => {
                sqlx::query(
                    "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(invitation.workspace_id.get())
                .bind(user.get())
                .bind(invitation.role.as_str())
                .bind(now.millis())
                .execute(&mut *transaction)
                .await?;
                AcceptedInvitation::Joined(invitation)
            }
        };
        transaction.commit().await?;
        Ok(outcome)
    }

    /// Deletes invitations whose expiry passed before `before`, whatever
    /// became of them: their history is in the audit log. Returns how many.
    pub async fn prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM invitations WHERE expires_at < $1")
            .bind(before.millis())
            .execute(self.store.pool())
            .await?;
        Ok(result.rows_affected())
    }
}

/// A missing workspace or user is `NotFound`; a reused token hash a conflict.
fn map_invitation_error(error: sqlx::Error, what: &'static str) -> StoreError {
    if let sqlx::Error::Database(database_error) = &error
        && database_error.is_foreign_key_violation()
    {
        return StoreError::NotFound { what };
    }
    map_conflict(error, &["token_hash"])
}
