//! Invitations to a workspace: an admin names a person's e-mail and a role, and
//! whoever holds the invitation's link may join once, before it expires.
//!
//! The link carries a random token; only its digest is stored (like sessions
//! and API tokens), so a copy of the database cannot be used to join anywhere.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{InvitationId, Role, Timestamp, UiLang, UserId, WorkspaceId};

/// How long an invitation stays valid unless the configuration says otherwise.
pub const INVITATION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// An invitation as stored. The token is never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: InvitationId,
    pub workspace_id: WorkspaceId,
    /// Where the invitation was sent; the person may join with another address.
    pub email: String,
    /// The role the person gets on joining.
    pub role: Role,
    /// The language of the e-mail, and of the accept page for a visitor who
    /// has not chosen one.
    pub lang: UiLang,
    pub invited_by: Option<UserId>,
    /// The inviter's display name when the invitation was made, so the
    /// invitation still reads correctly after they are renamed or deleted.
    pub invited_by_name: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub accepted_by: Option<UserId>,
    pub revoked_at: Option<Timestamp>,
}

/// Where an invitation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    /// May still be accepted.
    Pending,
    /// Used: someone joined with it.
    Accepted,
    /// Withdrawn by an admin.
    Revoked,
    /// Not used in time.
    Expired,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Revoked => "revoked",
            InvitationStatus::Expired => "expired",
        }
    }
}

impl Invitation {
    /// The status at `now`. Accepted and revoked are final; an invitation is
    /// expired from `expires_at` on (the store's accept uses the same bound).
    pub fn status(&self, now: Timestamp) -> InvitationStatus {
        if self.accepted_at.is_some() {
            InvitationStatus::Accepted
        } else if self.revoked_at.is_some() {
            InvitationStatus::Revoked
        } else if now >= self.expires_at {
            InvitationStatus::Expired
        } else {
            InvitationStatus::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation() -> Invitation {
        Invitation {
            id: InvitationId(1),
            workspace_id: WorkspaceId(1),
            email: String::from("nuria@example.org"),
            role: Role::Viewer,
            lang: UiLang::Es,
            invited_by: Some(UserId(1)),
            invited_by_name: String::from("Alicia"),
            created_at: Timestamp(1_000),
            expires_at: Timestamp(2_000),
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
        }
    }

    fn check(invitation: &Invitation, now: i64, expected: InvitationStatus) {
        assert_eq!(invitation.status(Timestamp(now)), expected, "at {now}");
    }

    #[test]
    fn status_over_an_invitations_life() {
        let pending = invitation();
        check(&pending, 1_000, InvitationStatus::Pending);
        check(&pending, 1_999, InvitationStatus::Pending);
        check(&pending, 2_000, InvitationStatus::Expired);
        let accepted = Invitation {
            accepted_at: Some(Timestamp(1_500)),
            accepted_by: Some(UserId(2)),
            ..invitation()
        };
        // Accepted stays accepted after the expiry passes.
        check(&accepted, 5_000, InvitationStatus::Accepted);
        let revoked = Invitation {
            revoked_at: Some(Timestamp(1_200)),
            ..invitation()
        };
        check(&revoked, 1_300, InvitationStatus::Revoked);
        check(&revoked, 5_000, InvitationStatus::Revoked);
    }
}
