//! Invitations: only the token's digest is stored, one use even under
//! concurrency, expiry, revocation, the per-workspace limits, and pruning.

use atalaya_domain::{
    InvitationId, InvitationStatus, Role, Timestamp, UiLang, User, UserId, Workspace,
};
use atalaya_store::{
    AcceptedInvitation, CreatedInvitation, InvitationLimits, NewInvitation, NewUser, Store,
    StoreError,
};

on_both_backends!(
    only_the_token_digest_is_stored,
    accepting_joins_once_with_the_invited_role,
    one_use_under_concurrency,
    an_expired_invitation_cannot_be_accepted,
    revoked_invitations_cannot_be_accepted_or_revoked_again,
    an_invitation_never_changes_an_existing_members_role,
    pending_and_daily_limits,
    invitations_of_another_workspace_are_not_found,
    pruning_removes_invitations_long_expired,
);

const LIMITS: InvitationLimits = InvitationLimits {
    max_pending: 50,
    max_per_day: 100,
};
const NOW: Timestamp = Timestamp(1_800_000_000_000);
const WEEK: i64 = 7 * 24 * 3600 * 1000;

async fn user(store: &Store, username: &str) -> User {
    store
        .users()
        .create(NewUser {
            username,
            email: &format!("{username}@example.org"),
            display_name: &format!("{username} display"),
            password_hash: "$argon2id$fake-hash",
            is_instance_admin: false,
        })
        .await
        .unwrap()
}

struct Setup {
    store: Store,
    workspace: Workspace,
    admin: User,
}

async fn setup(store: Store) -> Setup {
    let workspace = store
        .workspaces()
        .create("acme", "Acme", false)
        .await
        .unwrap();
    let admin = user(&store, "alicia").await;
    store
        .workspaces()
        .set_member(workspace.id, admin.id, Role::Admin)
        .await
        .unwrap();
    Setup {
        store,
        workspace,
        admin,
    }
}

impl Setup {
    fn new_invitation<'a>(&self, token_hash: &'a str, role: Role) -> NewInvitation<'a> {
        NewInvitation {
            workspace: self.workspace.id,
            token_hash,
            email: "nuria@example.org",
            role,
            lang: UiLang::Es,
            invited_by: self.admin.id,
            expires_at: NOW.plus_millis(WEEK),
        }
    }

    async fn invite(&self, token_hash: &str, role: Role) -> atalaya_domain::Invitation {
        match self
            .store
            .invitations()
            .create(self.new_invitation(token_hash, role), LIMITS, NOW)
            .await
            .unwrap()
        {
            CreatedInvitation::Created(invitation) => invitation,
            other => panic!("expected an invitation, got {other:?}"),
        }
    }
}

async fn only_the_token_digest_is_stored(store: Store) {
    let setup = setup(store).await;
    let digest = "a".repeat(64);
    let invitation = setup.invite(&digest, Role::Manager).await;
    assert_eq!(invitation.email, "nuria@example.org");
    assert_eq!(invitation.role, Role::Manager);
    assert_eq!(invitation.lang, UiLang::Es);
    assert_eq!(invitation.invited_by, Some(setup.admin.id));
    assert_eq!(invitation.invited_by_name, "alicia display");
    assert_eq!(invitation.created_at, NOW);
    assert_eq!(invitation.status(NOW), InvitationStatus::Pending);

    let found = setup.store.invitations();
    assert_eq!(
        found.find_by_token_hash(&digest).await.unwrap(),
        Some(invitation.clone())
    );
    assert_eq!(found.find_by_token_hash("unknown").await.unwrap(), None);
    let stored = atalaya_store::testing::text_column_for_test(
        &setup.store,
        "SELECT token_hash FROM invitations",
    )
    .await
    .unwrap();
    assert_eq!(stored, vec![digest.clone()]);
    // The same digest twice would make two invitations answer one link.
    assert!(matches!(
        setup
            .store
            .invitations()
            .create(setup.new_invitation(&digest, Role::Viewer), LIMITS, NOW)
            .await,
        Err(StoreError::Conflict { what: "token_hash" })
    ));
}

async fn accepting_joins_once_with_the_invited_role(store: Store) {
    let setup = setup(store).await;
    let nuria = user(&setup.store, "nuria").await;
    let otto = user(&setup.store, "otto").await;
    let invitation = setup.invite("hash-1", Role::Agent).await;
    let later = NOW.plus_millis(60_000);

    let outcome = setup
        .store
        .invitations()
        .accept("hash-1", nuria.id, later)
        .await
        .unwrap();
    let AcceptedInvitation::Joined(accepted) = outcome else {
        panic!("expected to join, got {outcome:?}");
    };
    assert_eq!(accepted.id, invitation.id);
    assert_eq!(accepted.accepted_at, Some(later));
    assert_eq!(accepted.accepted_by, Some(nuria.id));
    assert_eq!(accepted.status(later), InvitationStatus::Accepted);
    assert_eq!(
        setup
            .store
            .workspaces()
            .role_of(setup.workspace.id, nuria.id)
            .await
            .unwrap(),
        Some(Role::Agent)
    );

    // Used: neither the same person nor anyone else gets in with it again.
    for user in [&nuria, &otto] {
        assert_eq!(
            setup
                .store
                .invitations()
                .accept("hash-1", user.id, later)
                .await
                .unwrap(),
            AcceptedInvitation::NotPending
        );
    }
    assert_eq!(
        setup
            .store
            .workspaces()
            .role_of(setup.workspace.id, otto.id)
            .await
            .unwrap(),
        None
    );
    assert!(
        setup
            .store
            .invitations()
            .list_pending(setup.workspace.id, later)
            .await
            .unwrap()
            .is_empty()
    );
    // An unknown token and a missing user change nothing.
    assert_eq!(
        setup
            .store
            .invitations()
            .accept("no-such-hash", otto.id, later)
            .await
            .unwrap(),
        AcceptedInvitation::NotPending
    );
    setup.invite("hash-2", Role::Viewer).await;
    assert!(matches!(
        setup
            .store
            .invitations()
            .accept("hash-2", UserId(9999), later)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        setup
            .store
            .invitations()
            .list_pending(setup.workspace.id, later)
            .await
            .unwrap()
            .len(),
        1,
        "the failed acceptance was rolled back"
    );
}

/// Eight people race with one link, each on their own connection where the
/// backend has several: exactly one joins.
async fn one_use_under_concurrency(store: Store) {
    let setup = setup(store).await;
    setup.invite("shared-link", Role::Contributor).await;
    let mut people = Vec::new();
    for index in 0..8 {
        people.push(user(&setup.store, &format!("racer{index}")).await);
    }
    let mut racers = tokio::task::JoinSet::new();
    for person in &people {
        let store = setup.store.clone();
        let id = person.id;
        racers.spawn(async move {
            store
                .invitations()
                .accept("shared-link", id, NOW.plus_millis(1_000))
                .await
                .unwrap()
        });
    }
    let mut joined = 0;
    while let Some(outcome) = racers.join_next().await {
        match outcome.unwrap() {
            AcceptedInvitation::Joined(_) => joined += 1,
            AcceptedInvitation::NotPending => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(joined, 1);
    let members = setup
        .store
        .workspaces()
        .members(setup.workspace.id)
        .await
        .unwrap();
    assert_eq!(
        members.len(),
        2,
        "the admin and the one winner: {members:?}"
    );
}

async fn an_expired_invitation_cannot_be_accepted(store: Store) {
    let setup = setup(store).await;
    let nuria = user(&setup.store, "nuria").await;
    let invitation = setup.invite("hash-1", Role::Viewer).await;
    let expiry = invitation.expires_at;
    assert_eq!(
        invitation.status(expiry.plus_millis(-1)),
        InvitationStatus::Pending
    );
    assert_eq!(invitation.status(expiry), InvitationStatus::Expired);
    // The store's bound is the domain's: at `expires_at` it is over.
    assert_eq!(
        setup
            .store
            .invitations()
            .accept("hash-1", nuria.id, expiry)
            .await
            .unwrap(),
        AcceptedInvitation::NotPending
    );
    assert!(
        setup
            .store
            .invitations()
            .list_pending(setup.workspace.id, expiry)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        setup
            .store
            .invitations()
            .list_pending(setup.workspace.id, expiry.plus_millis(-1))
            .await
            .unwrap()
            .len(),
        1
    );
    // Just before the end it still works.
    assert!(matches!(
        setup
            .store
            .invitations()
            .accept("hash-1", nuria.id, expiry.plus_millis(-1))
            .await
            .unwrap(),
        AcceptedInvitation::Joined(_)
    ));
}

async fn revoked_invitations_cannot_be_accepted_or_revoked_again(store: Store) {
    let setup = setup(store).await;
    let nuria = user(&setup.store, "nuria").await;
    let first = setup.invite("hash-1", Role::Viewer).await;
    let second = setup.invite("hash-2", Role::Manager).await;
    let pending = setup
        .store
        .invitations()
        .list_pending(setup.workspace.id, NOW)
        .await
        .unwrap();
    let ids: Vec<InvitationId> = pending.iter().map(|invitation| invitation.id).collect();
    assert_eq!(ids, [second.id, first.id], "newest first");

    let later = NOW.plus_millis(5_000);
    let revoked = setup
        .store
        .invitations()
        .revoke(setup.workspace.id, first.id, later)
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(later));
    assert_eq!(revoked.status(later), InvitationStatus::Revoked);
    assert_eq!(
        setup
            .store
            .invitations()
            .accept("hash-1", nuria.id, later)
            .await
            .unwrap(),
        AcceptedInvitation::NotPending
    );
    assert!(matches!(
        setup
            .store
            .invitations()
            .revoke(setup.workspace.id, first.id, later)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    // A used invitation cannot be revoked either: its member stays.
    setup
        .store
        .invitations()
        .accept("hash-2", nuria.id, later)
        .await
        .unwrap();
    assert!(matches!(
        setup
            .store
            .invitations()
            .revoke(setup.workspace.id, second.id, later)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        setup
            .store
            .workspaces()
            .role_of(setup.workspace.id, nuria.id)
            .await
            .unwrap(),
        Some(Role::Manager)
    );
    let stored = setup
        .store
        .invitations()
        .get(setup.workspace.id, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status(later), InvitationStatus::Revoked);
}

async fn an_invitation_never_changes_an_existing_members_role(store: Store) {
    let setup = setup(store).await;
    // The only admin follows an invitation for a viewer: they must stay admin.
    setup.invite("hash-1", Role::Viewer).await;
    let outcome = setup
        .store
        .invitations()
        .accept("hash-1", setup.admin.id, NOW)
        .await
        .unwrap();
    let AcceptedInvitation::AlreadyMember { invitation, role } = outcome else {
        panic!("expected AlreadyMember, got {outcome:?}");
    };
    assert_eq!(role, Role::Admin);
    assert_eq!(invitation.status(NOW), InvitationStatus::Accepted);
    assert_eq!(
        setup
            .store
            .workspaces()
            .role_of(setup.workspace.id, setup.admin.id)
            .await
            .unwrap(),
        Some(Role::Admin)
    );
}

async fn pending_and_daily_limits(store: Store) {
    let setup = setup(store).await;
    let limits = InvitationLimits {
        max_pending: 2,
        max_per_day: 3,
    };
    let create = async |hash: &str, now: Timestamp| {
        setup
            .store
            .invitations()
            .create(setup.new_invitation(hash, Role::Viewer), limits, now)
            .await
            .unwrap()
    };
    let first = create("h1", NOW).await;
    assert!(matches!(
        create("h2", NOW).await,
        CreatedInvitation::Created(_)
    ));
    assert_eq!(create("h3", NOW).await, CreatedInvitation::TooManyPending);
    // Revoking frees a pending place, but today's count goes on.
    let CreatedInvitation::Created(first) = first else {
        panic!("expected the first invitation")
    };
    setup
        .store
        .invitations()
        .revoke(setup.workspace.id, first.id, NOW)
        .await
        .unwrap();
    assert!(matches!(
        create("h4", NOW).await,
        CreatedInvitation::Created(_)
    ));
    setup
        .store
        .invitations()
        .revoke(
            setup.workspace.id,
            setup
                .store
                .invitations()
                .list_pending(setup.workspace.id, NOW)
                .await
                .unwrap()[0]
                .id,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(create("h5", NOW).await, CreatedInvitation::TooManyToday);
    // A day later the daily count starts again.
    let tomorrow = NOW.plus_millis(24 * 3600 * 1000 + 1);
    assert!(matches!(
        create("h6", tomorrow).await,
        CreatedInvitation::Created(_)
    ));
    // Another workspace has its own limits.
    let other = setup
        .store
        .workspaces()
        .create("other", "Other", false)
        .await
        .unwrap();
    let created = setup
        .store
        .invitations()
        .create(
            NewInvitation {
                workspace: other.id,
                ..setup.new_invitation("h7", Role::Viewer)
            },
            limits,
            NOW,
        )
        .await
        .unwrap();
    assert!(matches!(created, CreatedInvitation::Created(_)));
}

async fn invitations_of_another_workspace_are_not_found(store: Store) {
    let setup = setup(store).await;
    let invitation = setup.invite("hash-1", Role::Viewer).await;
    let other = setup
        .store
        .workspaces()
        .create("other", "Other", false)
        .await
        .unwrap();
    assert_eq!(
        setup
            .store
            .invitations()
            .get(other.id, invitation.id)
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        setup
            .store
            .invitations()
            .revoke(other.id, invitation.id, NOW)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        setup
            .store
            .invitations()
            .list_pending(other.id, NOW)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn pruning_removes_invitations_long_expired(store: Store) {
    let setup = setup(store).await;
    let old = setup.invite("old", Role::Viewer).await;
    let recent = setup
        .store
        .invitations()
        .create(
            NewInvitation {
                expires_at: NOW.plus_millis(3 * WEEK),
                ..setup.new_invitation("recent", Role::Viewer)
            },
            LIMITS,
            NOW,
        )
        .await
        .unwrap();
    let CreatedInvitation::Created(recent) = recent else {
        panic!("expected an invitation")
    };
    let pruned = setup
        .store
        .invitations()
        .prune(old.expires_at.plus_millis(1))
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    let invitations = setup.store.invitations();
    assert_eq!(invitations.find_by_token_hash("old").await.unwrap(), None);
    assert_eq!(
        invitations.find_by_token_hash("recent").await.unwrap(),
        Some(recent)
    );
}

/// The same race on a SQLite file, where the pool has several connections.
#[tokio::test]
async fn one_use_under_concurrency_on_a_sqlite_file() {
    let (store, _directory) = atalaya_store::testing::fresh_sqlite_file().await;
    one_use_under_concurrency(store).await;
}
