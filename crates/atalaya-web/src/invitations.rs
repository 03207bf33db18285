//! Inviting people to a workspace by e-mail link: the rules the members page,
//! the accept page and the API share.
//!
//! ```text
//!  admin: create ─▶ random token ─▶ store.invitations().create(digest, capped) ─▶ audit
//!                        │                 └─ mail configured: render (invitee's language)
//!                        │                    ─▶ jobs.enqueue(mail.send) ─▶ workers send it
//!                        └─▶ the link, shown once to the admin to copy
//!  invitee: /invite/{token} ─▶ lookup(digest): valid | used | expired | invalid
//!           ─▶ sign in or create an account ─▶ accept (one use, in one transaction) ─▶ audit
//! ```
//!
//! Unknown and revoked tokens are one state, [`LinkState::Invalid`], so the
//! accept page cannot be used to learn whether a link ever existed. Callers of
//! [`create`] and [`revoke`] must already hold `Permission::Administer`.

use askama::Template;
use atalaya_domain::mail::{OutgoingMail, SEND_MAIL_JOB};
use atalaya_domain::{
    Invitation, InvitationId, InvitationStatus, Role, Timestamp, UiLang, User, Workspace,
    validate_email,
};
use atalaya_store::{AcceptedInvitation, CreatedInvitation, NewAuditEntry, NewInvitation, NewJob};
use serde_json::json;

use crate::AppState;
use crate::access::WorkspaceAccess;
use crate::audit_actions;
use crate::auth;
use crate::error::AppError;
use crate::formats::Formats;
use crate::i18n::Translator;
use crate::pages::role_label;

/// Where the accept page lives; the token follows.
pub const INVITE_PATH: &str = "/invite/";

/// Delivery attempts of an invitation e-mail: with the runner's backoff (5 s
/// doubling, capped at an hour) the last one is about 40 minutes after the first.
const MAIL_ATTEMPTS: i32 = 10;

/// An invitation just created, with what the admin needs to pass it on.
#[derive(Debug, Clone)]
pub struct CreatedLink {
    pub invitation: Invitation,
    /// The accept link with its token: shown once, never stored.
    pub link: String,
    /// Whether an e-mail with the link was queued for the invitee.
    pub emailed: bool,
}

/// What a token on the accept page leads to.
// One lives for one request, on the stack of its handler: boxing the valid
// case would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum LinkState {
    Valid {
        invitation: Invitation,
        workspace: Workspace,
    },
    Used,
    Expired,
    /// Unknown or revoked: deliberately the same answer.
    Invalid,
}

/// What accepting did.
#[derive(Debug, Clone)]
pub struct Joined {
    pub workspace: Workspace,
    pub role: Role,
    /// The user was already a member; their role did not change.
    pub was_member: bool,
}

/// A token as it appears in a link: the 43 characters of [`auth::random_token`].
/// Anything else is not looked up at all.
fn plausible_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// Invites `email` to the workspace with `role`; the e-mail (when mail is
/// configured) is written in `lang`. `base_url` prefixes the link
/// (`https://cm.example.org`), or is empty for a link relative to this site.
pub async fn create(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    email: &str,
    role: Role,
    lang: UiLang,
    base_url: &str,
) -> Result<CreatedLink, AppError> {
    let email = validate_email(email)?;
    let settings = state.settings();
    let now = Timestamp::now();
    let ttl = i64::try_from(settings.invitation_ttl.as_millis()).unwrap_or(i64::MAX);
    let token = auth::random_token();
    let created = state
        .store()
        .invitations()
        .create(
            NewInvitation {
                workspace: access.workspace.id,
                token_hash: &auth::token_digest(&token),
                email: &email,
                role,
                lang,
                invited_by: actor.id,
                expires_at: now.plus_millis(ttl),
            },
            settings.invitation_limits,
            now,
        )
        .await?;
    let invitation = match created {
        CreatedInvitation::Created(invitation) => invitation,
        CreatedInvitation::TooManyPending => {
            return Err(AppError::Conflict {
                what: "invitations_pending",
            });
        }
        CreatedInvitation::TooManyToday => {
            return Err(AppError::Conflict {
                what: "invitations_today",
            });
        }
    };
    let link = format!("{}{INVITE_PATH}{token}", base_url.trim_end_matches('/'));
    // E-mail only with a configured public address: a link built from the
    // request's Host header could be made to point anywhere.
    let mail_link = settings
        .public_url
        .as_deref()
        .filter(|_| settings.mail_enabled)
        .map(|public| format!("{}{INVITE_PATH}{token}", public.trim_end_matches('/')));
    let emailed = match mail_link {
        Some(mail_link) => {
            let mail = render_mail(&invitation, &access.workspace, actor, &mail_link)?;
            let key = mail.idempotency_key.clone();
            state
                .store()
                .jobs()
                .enqueue(
                    NewJob {
                        kind: SEND_MAIL_JOB,
                        payload: serde_json::to_value(&mail).map_err(AppError::internal)?,
                        run_after: now,
                        unique_key: Some(&key),
                        max_attempts: MAIL_ATTEMPTS,
                    },
                    now,
                )
                .await?;
            true
        }
        None => false,
    };
    record(
        state,
        access.workspace.id,
        actor,
        audit_actions::INVITATION_CREATED,
        &invitation.email,
        json!({
            "invitation_id": invitation.id,
            "role": role,
            "lang": lang,
            "emailed": emailed,
            "expires_at": invitation.expires_at,
        }),
        now,
    )
    .await?;
    Ok(CreatedLink {
        invitation,
        link,
        emailed,
    })
}

/// The invitation e-mail's parts, in the invitation's language.
#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
    t: Translator,
    fields: &'a MailFields,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    t: Translator,
    fields: &'a MailFields,
}

struct MailFields {
    intro: String,
    link: String,
    expires: String,
    sent_to: String,
}

/// Renders the invitation e-mail for `invitation`, sent by `inviter`.
pub fn render_mail(
    invitation: &Invitation,
    workspace: &Workspace,
    inviter: &User,
    link: &str,
) -> Result<OutgoingMail, AppError> {
    let t = Translator::new(invitation.lang);
    // Times in the workspace's zone, which the invitee will see once inside.
    let formats = Formats::new(t, &workspace.time_zone, Timestamp::now());
    let role = role_label(t, invitation.role);
    let fields = MailFields {
        intro: t.fill(
            "invite_mail.intro",
            &[
                ("inviter", &inviter.display_name),
                ("workspace", &workspace.name),
                ("role", role),
            ],
        ),
        link: link.to_owned(),
        expires: t.fill(
            "invite_mail.expires",
            &[(
                "when",
                &format!(
                    "{} ({})",
                    formats.date_time(invitation.expires_at),
                    formats.time_zone_name()
                ),
            )],
        ),
        sent_to: t.fill("invite_mail.sent_to", &[("email", &invitation.email)]),
    };
    let text = InvitationText { t, fields: &fields }
        .render()
        .map_err(AppError::internal)?;
    let html = InvitationHtml { t, fields: &fields }
        .render()
        .map_err(AppError::internal)?;
    Ok(OutgoingMail {
        to: invitation.email.clone(),
        subject: t.fill("invite_mail.subject", &[("workspace", &workspace.name)]),
        text,
        html,
        idempotency_key: format!("invitation-{}-{}", invitation.id, auth::random_token()),
    })
}

/// Withdraws pending invitation `id`; "not found" if it is not pending.
pub async fn revoke(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    id: InvitationId,
) -> Result<Invitation, AppError> {
    let now = Timestamp::now();
    let invitation = state
        .store()
        .invitations()
        .revoke(access.workspace.id, id, now)
        .await?;
    record(
        state,
        access.workspace.id,
        actor,
        audit_actions::INVITATION_REVOKED,
        &invitation.email,
        json!({ "invitation_id": invitation.id, "role": invitation.role }),
        now,
    )
    .await?;
    Ok(invitation)
}

/// What `token` leads to right now.
pub async fn lookup(state: &AppState, token: &str) -> Result<LinkState, AppError> {
    if !plausible_token(token) {
        return Ok(LinkState::Invalid);
    }
    let store = state.store();
    let Some(invitation) = store
        .invitations()
        .find_by_token_hash(&auth::token_digest(token))
        .await?
    else {
        return Ok(LinkState::Invalid);
    };
    Ok(match invitation.status(Timestamp::now()) {
        InvitationStatus::Revoked => LinkState::Invalid,
        InvitationStatus::Accepted => LinkState::Used,
        InvitationStatus::Expired => LinkState::Expired,
        InvitationStatus::Pending => {
            match store.workspaces().get(invitation.workspace_id).await? {
                Some(workspace) => LinkState::Valid {
                    invitation,
                    workspace,
                },
                // The workspace's deletion cascades to its invitations, so
                // this is a race with that deletion: nothing to join.
                None => LinkState::Invalid,
            }
        }
    })
}

/// Uses `token` for `user`: they join with the invitation's role, or stay as
/// they are if already a member. `Err(state)` says why the link no longer works.
pub async fn accept(
    state: &AppState,
    token: &str,
    user: &User,
) -> Result<Result<Joined, LinkState>, AppError> {
    if !plausible_token(token) {
        return Ok(Err(LinkState::Invalid));
    }
    let store = state.store();
    let now = Timestamp::now();
    let outcome = store
        .invitations()
        .accept(&auth::token_digest(token), user.id, now)
        .await?;
    let (invitation, role, was_member) = match outcome {
        AcceptedInvitation::Joined(invitation) => {
            let role = invitation.role;
            (invitation, role, false)
        }
        AcceptedInvitation::AlreadyMember { invitation, role } => (invitation, role, true),
        AcceptedInvitation::NotPending => {
            return Ok(Err(match lookup(state, token).await? {
                // Pending a moment ago, used by someone else since.
                LinkState::Valid { .. } => LinkState::Used,
                other => other,
            }));
        }
    };
    let workspace = store
        .workspaces()
        .get(invitation.workspace_id)
        .await?
        .ok_or(AppError::NotFound)?;
    record(
        state,
        workspace.id,
        user,
        audit_actions::INVITATION_ACCEPTED,
        &user.username,
        json!({
            "invitation_id": invitation.id,
            "invited_email": invitation.email,
            "role": role,
            "was_member": was_member,
        }),
        now,
    )
    .await?;
    tracing::info!(user = %user.username, workspace = %workspace.slug, %role, was_member, "invitation accepted");
    Ok(Ok(Joined {
        workspace,
        role,
        was_member,
    }))
}

async fn record(
    state: &AppState,
    workspace: atalaya_domain::WorkspaceId,
    actor: &User,
    action: &str,
    target: &str,
    detail: serde_json::Value,
    now: Timestamp,
) -> Result<(), AppError> {
    let entry = NewAuditEntry {
        workspace: Some(workspace),
        actor: Some(actor.id),
        action,
        target,
        detail,
    };
    state.store().audit().record(entry, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_token_shaped_strings_are_looked_up() {
        assert!(plausible_token(&auth::random_token()));
        assert!(!plausible_token("short"));
        assert!(!plausible_token(&"a".repeat(44)));
        assert!(!plausible_token(&format!("{}%", "a".repeat(42))));
    }
}
