//! Invitations by e-mail link: creating them (with and without mail), the
//! link shown once, the e-mail queued in the invitee's language, the accept
//! page in every token state, the accept flow for new and existing users,
//! revocation, limits, CSRF and the API.

use atalaya_domain::mail::{OutgoingMail, SEND_MAIL_JOB};
use atalaya_domain::{Role, UiLang};
use atalaya_store::InvitationLimits;
use atalaya_web::WebSettings;
use atalaya_web::auth::token_digest;
use axum::http::Method;
use serde_json::json;

use crate::support::{Auth, Db, Team, TestApp, encode_form};

on_both_databases!(
    a_new_person_creates_an_account_and_joins,
    an_existing_user_signs_in_and_joins,
);

const PUBLIC_URL: &str = "https://cm.example.org";

fn mail_settings() -> WebSettings {
    WebSettings {
        mail_enabled: true,
        public_url: Some(PUBLIC_URL.to_owned()),
        ..WebSettings::default()
    }
}

/// A team whose app has `settings`.
async fn team_with(db: Db, settings: WebSettings) -> Team {
    let mut team = Team::on(db).await;
    team.app = TestApp::from_state(atalaya_web::AppState::new(
        team.app.store().clone(),
        settings,
    ));
    team
}

/// The token in the first invitation link of `body`.
fn token_in(body: &str) -> String {
    let start = body.find("/invite/").expect("an invitation link") + "/invite/".len();
    body[start..start + 43].to_owned()
}

/// The admin invites `email` as `role` through the members page; returns the token.
async fn invite(team: &Team, email: &str, role: &str, lang: Option<&str>) -> String {
    let admin = team.app.session(&team.admin).await;
    let mut fields = vec![("email", email), ("role", role)];
    if let Some(lang) = lang {
        fields.push(("lang", lang));
    }
    let reply = team.app.form("/w/acme/invitations", &fields, &admin).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    token_in(&reply.body)
}

async fn mail_jobs(app: &TestApp) -> Vec<OutgoingMail> {
    app.store()
        .jobs()
        .list(None, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|job| job.kind == SEND_MAIL_JOB)
        .map(|job| serde_json::from_value(job.payload).unwrap())
        .collect()
}

async fn audit_actions(team: &Team) -> Vec<String> {
    team.app
        .store()
        .audit()
        .list(team.workspace.id, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.action)
        .collect()
}

#[tokio::test]
async fn without_mail_the_admin_gets_the_link_once_to_copy() {
    let team = Team::new().await;
    let admin = team.app.session(&team.admin).await;
    let reply = team
        .app
        .form(
            "/w/acme/invitations",
            &[("email", "nuria@example.org"), ("role", "agent")],
            &admin,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply
            .body
            .contains("Copy this link and send it to nuria@example.org now"),
        "{}",
        reply.body
    );
    let token = token_in(&reply.body);
    // No public URL configured: the link uses the address the admin reached us at.
    assert!(reply.body.contains(&format!("/invite/{token}\"")));
    assert!(mail_jobs(&team.app).await.is_empty(), "no mail configured");

    // Only the digest is stored.
    let stored = atalaya_store::testing::text_column_for_test(
        team.app.store(),
        "SELECT token_hash FROM invitations",
    )
    .await
    .unwrap();
    assert_eq!(stored, vec![token_digest(&token)]);

    // The members page lists it as pending, with who invited, and never the link again.
    let page = team.app.get("/w/acme/members", &admin).await;
    assert!(page.body.contains("nuria@example.org"), "{}", page.body);
    assert!(page.body.contains("Test alicia"));
    assert!(!page.body.contains(&token));
    assert!(page.body.contains("This instance does not send e-mail"));
    // Members who are not admins do not see invitations (they name addresses).
    let viewer = team.app.session(&team.viewer).await;
    let page = team.app.get("/w/acme/members", &viewer).await;
    assert!(!page.body.contains("nuria@example.org"));
    assert!(!page.body.contains("/invitations\""));
    assert_eq!(audit_actions(&team).await, ["invitation.created"]);
}

#[tokio::test]
async fn with_mail_the_invitation_is_emailed_in_the_invitees_language() {
    let team = team_with(Db::Sqlite, mail_settings()).await;
    let token_es = invite(&team, "nuria@example.org", "manager", Some("es")).await;
    let token_en = invite(&team, "otto@example.org", "viewer", Some("en")).await;
    // Without a choice, the admin's own interface language.
    team.app
        .store()
        .users()
        .set_ui_lang(team.admin.id, Some(UiLang::Es))
        .await
        .unwrap();
    let token_default = invite(&team, "vera2@example.org", "viewer", None).await;

    let mails = mail_jobs(&team.app).await;
    assert_eq!(mails.len(), 3);
    let mail_to = |to: &str| mails.iter().find(|mail| mail.to == to).unwrap().clone();

    let spanish = mail_to("nuria@example.org");
    assert_eq!(spanish.subject, "Invitación a Acme Coffee en Atalaya");
    let link = format!("{PUBLIC_URL}/invite/{token_es}");
    assert!(spanish.text.contains(&link), "{}", spanish.text);
    assert!(spanish.text.contains("te invita a unirte a Acme Coffee"));
    assert!(spanish.text.contains("Test alicia"));
    assert!(
        spanish.html.contains(&format!("href=\"{link}\"")),
        "{}",
        spanish.html
    );
    assert!(spanish.html.starts_with("<!doctype html>"));
    assert!(OutgoingMail::is_valid_key(&spanish.idempotency_key));

    let english = mail_to("otto@example.org");
    assert_eq!(english.subject, "Invitation to Acme Coffee on Atalaya");
    assert!(
        english
            .text
            .contains(&format!("{PUBLIC_URL}/invite/{token_en}"))
    );
    assert!(english.text.contains("invites you to join Acme Coffee"));

    let default = mail_to("vera2@example.org");
    assert_eq!(default.subject, "Invitación a Acme Coffee en Atalaya");
    assert!(default.text.contains(&token_default));

    // Each message is its own job, keyed so it is never queued twice.
    let keys: std::collections::HashSet<String> = mails
        .iter()
        .map(|mail| mail.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 3);
    let page = team
        .app
        .get("/w/acme/members", &team.app.session(&team.admin).await)
        .await;
    assert!(
        page.body.contains("Le enviamos un enlace por correo"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_admins_page_says_when_the_invitation_was_emailed() {
    let team = team_with(Db::Sqlite, mail_settings()).await;
    let admin = team.app.session(&team.admin).await;
    let reply = team
        .app
        .form(
            "/w/acme/invitations",
            &[("email", "nuria@example.org"), ("role", "viewer")],
            &admin,
        )
        .await;
    assert!(
        reply.body.contains("Invitation e-mailed."),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("on its way to nuria@example.org"));
    // The copyable link is the public one too.
    let token = token_in(&reply.body);
    assert!(reply.body.contains(&format!("{PUBLIC_URL}/invite/{token}")));
}

#[tokio::test]
async fn mail_without_a_public_address_is_not_sent() {
    let team = team_with(
        Db::Sqlite,
        WebSettings {
            mail_enabled: true,
            ..WebSettings::default()
        },
    )
    .await;
    invite(&team, "nuria@example.org", "viewer", None).await;
    assert!(
        mail_jobs(&team.app).await.is_empty(),
        "a link from the Host header must never be e-mailed"
    );
}

#[tokio::test]
async fn invalid_invitations_are_refused_and_change_nothing() {
    let team = Team::new().await;
    let admin = team.app.session(&team.admin).await;
    for fields in [
        vec![("email", "not-an-address"), ("role", "viewer")],
        vec![("email", "nuria@example.org"), ("role", "owner")],
        vec![
            ("email", "nuria@example.org"),
            ("role", "viewer"),
            ("lang", "fr"),
        ],
    ] {
        let reply = team.app.form("/w/acme/invitations", &fields, &admin).await;
        assert_eq!(reply.status, 422, "{fields:?}: {}", reply.body);
        // The form keeps what was typed, with the problem under its field.
        assert!(
            reply.body.contains(&format!("value=\"{}\"", fields[0].1)),
            "{}",
            reply.body
        );
        assert!(reply.body.contains("class=\"field-error\""));
    }
    assert!(audit_actions(&team).await.is_empty());
}

async fn a_new_person_creates_an_account_and_joins(db: Db) {
    let team = Team::on(db).await;
    let token = invite(&team, "nuria.nueva@example.org", "agent", Some("es")).await;
    let path = format!("/invite/{token}");
    let visitor = Auth::visitor();

    // A visitor without a language of their own reads the inviter's choice.
    let page = team.app.get(&path, &visitor).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<html lang=\"es\">"), "{}", page.body);
    assert!(page.body.contains("Tienes una invitación"));
    assert!(
        page.body
            .contains("Test alicia te invita a unirte a Acme Coffee")
    );
    assert!(page.body.contains("value=\"nuria.nueva@example.org\""));
    assert!(page.body.contains("/login?next=%2Finvite%2F"));

    let reply = team
        .app
        .form(
            &format!("{path}/register"),
            &[
                ("username", "Nuria.N"),
                ("display_name", "Nuria Núñez"),
                ("email", "nuria.nueva@example.org"),
                ("password", "a long enough secret"),
                ("password_confirm", "a long enough secret"),
            ],
            &visitor,
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(reply.location(), Some("/w/acme"));
    let session = reply
        .cookie_value("atalaya_session")
        .expect("signed in straight away");

    let user = team
        .app
        .store()
        .users()
        .find_by_username("nuria.n")
        .await
        .unwrap()
        .unwrap();
    assert!(!user.is_instance_admin);
    assert_eq!(user.display_name, "Nuria Núñez");
    assert_eq!(team.role_of(&user).await, Some(Role::Agent));
    let signed_in = Auth::Session {
        token: session,
        csrf: String::new(),
    };
    assert_eq!(team.app.get("/w/acme", &signed_in).await.status, 200);
    assert_eq!(
        audit_actions(&team).await,
        ["invitation.accepted", "invitation.created"]
    );

    // One use: the link is spent, for the next visitor as for anyone.
    let again = team.app.get(&path, &Auth::visitor()).await;
    assert_eq!(again.status, 410);
    assert!(again.body.contains("already been used"), "{}", again.body);
    let reply = team
        .app
        .form(
            &format!("{path}/register"),
            &[
                ("username", "intruder"),
                ("display_name", "Intruder"),
                ("email", "intruder@example.org"),
                ("password", "a long enough secret"),
                ("password_confirm", "a long enough secret"),
            ],
            &Auth::visitor(),
        )
        .await;
    assert_eq!(reply.status, 410);
    assert_eq!(
        team.app
            .store()
            .users()
            .find_by_username("intruder")
            .await
            .unwrap(),
        None,
        "no account is made for a spent link"
    );
}

#[tokio::test]
async fn registration_validates_like_setup_and_keeps_what_was_typed() {
    let team = Team::new().await;
    let token = invite(&team, "nuria@example.org", "viewer", Some("en")).await;
    let path = format!("/invite/{token}/register");
    let visitor = Auth::visitor();
    let users_before = team.app.store().users().count().await.unwrap();

    let reply = team
        .app
        .form(
            &path,
            &[
                ("username", "n"),
                ("display_name", "Núria <b>Q</b>"),
                ("email", "nuria@example"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
            &visitor,
        )
        .await;
    assert_eq!(reply.status, 422);
    for expected in [
        "is too short (at least 2 characters)",
        "is not a valid e-mail address",
        "is too short (at least 10 characters)",
        // What was typed comes back, escaped.
        "value=\"Núria &#60;b&#62;Q&#60;/b&#62;\"",
        "value=\"nuria@example\"",
    ] {
        assert!(reply.body.contains(expected), "{expected}: {}", reply.body);
    }
    let reply = team
        .app
        .form(
            &path,
            &[
                ("username", "nuria"),
                ("display_name", "Nuria"),
                ("email", "nuria@example.org"),
                ("password", "a long enough secret"),
                ("password_confirm", "another long secret"),
            ],
            &visitor,
        )
        .await;
    assert_eq!(reply.status, 422);
    assert!(reply.body.contains("the two passwords differ"));
    // A taken username is said so, under the form.
    let reply = team
        .app
        .form(
            &path,
            &[
                ("username", "otto"),
                ("display_name", "Nuria"),
                ("email", "nuria-new@example.org"),
                ("password", "a long enough secret"),
                ("password_confirm", "a long enough secret"),
            ],
            &visitor,
        )
        .await;
    assert_eq!(reply.status, 409);
    assert!(reply.body.contains("is already used by another account"));
    assert_eq!(
        team.app.store().users().count().await.unwrap(),
        users_before
    );
    // The invitation is still good.
    assert_eq!(
        team.app
            .get(&format!("/invite/{token}"), &visitor)
            .await
            .status,
        200
    );
}

async fn an_existing_user_signs_in_and_joins(db: Db) {
    let team = Team::on(db).await;
    let token = invite(&team, "nuria@example.org", "contributor", Some("en")).await;
    let path = format!("/invite/{token}");
    let visitor = Auth::visitor();
    let page = team.app.get(&path, &visitor).await;
    let next = format!("/login?next=%2Finvite%2F{token}");
    assert!(page.body.contains(&next), "{}", page.body);

    // Sign in as the page links to, and come back.
    let reply = team
        .app
        .form(
            "/login",
            &[
                ("username", "nuria"),
                ("password", crate::support::PASSWORD),
                ("next", &path),
            ],
            &visitor,
        )
        .await;
    assert_eq!(reply.location(), Some(path.as_str()), "{}", reply.body);
    let nuria = team.app.session(&team.newbie).await;
    let page = team.app.get(&path, &nuria).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("You are signed in as nuria."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("an e-mail address other than"));
    assert!(page.body.contains("Join the workspace"));

    let reply = team.app.form(&path, &[], &nuria).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(reply.location(), Some("/w/acme"));
    assert_eq!(team.role_of(&team.newbie).await, Some(Role::Contributor));
    assert_eq!(team.app.get(&path, &nuria).await.status, 410);
}

#[tokio::test]
async fn a_signed_in_user_sees_whom_it_is_for_and_may_accept_anyway() {
    let team = Team::new().await;
    let token = invite(&team, "someone.else@example.org", "viewer", None).await;
    let path = format!("/invite/{token}");
    let otto = team.app.session(&team.outsider).await;
    let page = team.app.get(&path, &otto).await;
    assert!(
        page.body.contains("someone.else@example.org"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("an e-mail address other than your account")
    );
    assert!(page.body.contains("You are signed in as otto."));
    let reply = team.app.form(&path, &[], &otto).await;
    assert_eq!(reply.status, 303);
    assert_eq!(team.role_of(&team.outsider).await, Some(Role::Viewer));
    // A signed-in visitor posting the new-account form is sent back to the page.
    let reply = team.app.form(&format!("{path}/register"), &[], &otto).await;
    assert_eq!(reply.location(), Some(path.as_str()));
}

#[tokio::test]
async fn an_invitation_never_changes_a_members_role() {
    let team = Team::new().await;
    let token = invite(&team, "alicia@example.org", "viewer", None).await;
    let admin = team.app.session(&team.admin).await;
    let path = format!("/invite/{token}");
    let page = team.app.get(&path, &admin).await;
    assert!(
        page.body
            .contains("You are already a member of this workspace as Admin"),
        "{}",
        page.body
    );
    let reply = team.app.form(&path, &[], &admin).await;
    assert_eq!(reply.location(), Some("/w/acme"));
    assert_eq!(team.role_of(&team.admin).await, Some(Role::Admin));
}

/// The page body with what differs between two links of the same state (the
/// token in the language switch and form actions) taken out.
fn without(body: &str, token: &str) -> String {
    body.replace(token, "TOKEN")
}

#[tokio::test]
async fn each_token_state_gets_a_clear_page_and_revoked_looks_unknown() {
    let team = Team::new().await;
    let admin = team.app.session(&team.admin).await;
    let used = invite(&team, "a@example.org", "viewer", Some("en")).await;
    let expired = invite(&team, "b@example.org", "viewer", Some("en")).await;
    let revoked = invite(&team, "c@example.org", "viewer", Some("en")).await;
    let unknown = atalaya_web::auth::random_token();

    let otto = team.app.session(&team.outsider).await;
    team.app.form(&format!("/invite/{used}"), &[], &otto).await;
    atalaya_store::testing::execute_for_test(
        team.app.store(),
        "UPDATE invitations SET expires_at = 1 WHERE email = 'b@example.org'",
    )
    .await
    .unwrap();
    let id = team
        .app
        .store()
        .invitations()
        .find_by_token_hash(&token_digest(&revoked))
        .await
        .unwrap()
        .unwrap()
        .id;
    let reply = team
        .app
        .form(&format!("/w/acme/invitations/{id}/revoke"), &[], &admin)
        .await;
    assert_eq!(
        reply.location(),
        Some("/w/acme/members?done=invitation_revoked")
    );

    let visitor = Auth::visitor();
    let page = async |token: &str| team.app.get(&format!("/invite/{token}"), &visitor).await;
    let used_page = page(&used).await;
    assert_eq!(used_page.status, 410);
    assert!(used_page.body.contains("already been used"));
    let expired_page = page(&expired).await;
    assert_eq!(expired_page.status, 410);
    assert!(
        expired_page.body.contains("has expired"),
        "{}",
        expired_page.body
    );
    let revoked_page = page(&revoked).await;
    let unknown_page = page(&unknown).await;
    assert_eq!(revoked_page.status, 404);
    assert_eq!(unknown_page.status, 404);
    assert!(
        unknown_page
            .body
            .contains("This invitation link is not valid")
    );
    assert_eq!(
        without(&revoked_page.body, &revoked),
        without(&unknown_page.body, &unknown),
        "a revoked link must not be told apart from one that never existed"
    );
    // Nothing about the workspace leaks from a dead link.
    for body in [&used_page.body, &expired_page.body, &revoked_page.body] {
        assert!(!body.contains("Acme Coffee") && !body.contains("Test alicia"));
    }
    // Malformed tokens are just unknown.
    assert_eq!(page("x").await.status, 404);

    // None of them can be used, signed in or not.
    let nuria = team.app.session(&team.newbie).await;
    for token in [&expired, &revoked, &unknown] {
        let reply = team
            .app
            .form(&format!("/invite/{token}"), &[], &nuria)
            .await;
        assert!(
            matches!(reply.status.as_u16(), 404 | 410),
            "{}",
            reply.status
        );
    }
    assert_eq!(team.role_of(&team.newbie).await, None);
    let actions = audit_actions(&team).await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "invitation.revoked")
            .count(),
        1
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "invitation.accepted")
            .count(),
        1
    );
}

#[tokio::test]
async fn invitation_forms_need_their_csrf_token() {
    let team = Team::new().await;
    let admin = team.app.session(&team.admin).await;
    let body = encode_form(&[("email", "nuria@example.org"), ("role", "viewer")]);
    let reply = team
        .app
        .raw_form("/w/acme/invitations", &body, &admin)
        .await;
    assert_eq!(reply.status, 403);
    assert!(
        team.app
            .store()
            .invitations()
            .list_pending(team.workspace.id, atalaya_domain::Timestamp::now())
            .await
            .unwrap()
            .is_empty()
    );

    let token = invite(&team, "nuria@example.org", "viewer", None).await;
    let path = format!("/invite/{token}");
    // A cross-site form: no pre-session cookie, or a field that does not match it.
    let register = encode_form(&[
        ("username", "mallory"),
        ("display_name", "Mallory"),
        ("email", "mallory@example.org"),
        ("password", "a long enough secret"),
        ("password_confirm", "a long enough secret"),
        ("_csrf", "forged-token-forged-token-forged-token"),
    ]);
    for auth in [Auth::Anonymous, Auth::visitor()] {
        let reply = team
            .app
            .raw_form(&format!("{path}/register"), &register, &auth)
            .await;
        assert_eq!(reply.status, 403);
    }
    // A signed-in user tricked into accepting from another site.
    let nuria = team.app.session(&team.newbie).await;
    let reply = team.app.raw_form(&path, "", &nuria).await;
    assert_eq!(reply.status, 403);
    let reply = team
        .app
        .raw_form(&format!("{path}/register"), "", &nuria)
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(team.role_of(&team.newbie).await, None);
    assert_eq!(
        team.app
            .store()
            .users()
            .find_by_username("mallory")
            .await
            .unwrap(),
        None
    );
    assert_eq!(team.app.get(&path, &Auth::visitor()).await.status, 200);
}

#[tokio::test]
async fn a_workspace_cannot_pile_up_invitations() {
    let team = team_with(
        Db::Sqlite,
        WebSettings {
            invitation_limits: InvitationLimits {
                max_pending: 1,
                max_per_day: 2,
            },
            ..WebSettings::default()
        },
    )
    .await;
    let admin = team.app.session(&team.admin).await;
    invite(&team, "a@example.org", "viewer", None).await;
    let reply = team
        .app
        .form(
            "/w/acme/invitations",
            &[("email", "b@example.org"), ("role", "viewer")],
            &admin,
        )
        .await;
    assert_eq!(reply.status, 409);
    assert!(
        reply.body.contains("too many pending invitations"),
        "{}",
        reply.body
    );
    let bearer = team.app.bearer(&team.admin).await;
    let pending = team
        .app
        .json(
            Method::GET,
            "/api/v1/workspaces/acme/invitations",
            None,
            &bearer,
        )
        .await;
    let id = pending.json()[0]["id"].as_i64().unwrap();
    let reply = team
        .app
        .json(
            Method::DELETE,
            &format!("/api/v1/workspaces/acme/invitations/{id}"),
            None,
            &bearer,
        )
        .await;
    assert_eq!(reply.status, 204);
    invite(&team, "b@example.org", "viewer", None).await;
    team.app
        .store()
        .invitations()
        .revoke(
            team.workspace.id,
            atalaya_domain::InvitationId(id + 1),
            atalaya_domain::Timestamp::now(),
        )
        .await
        .unwrap();
    let reply = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/invitations",
            Some(json!({"email": "c@example.org", "role": "viewer"})),
            &bearer,
        )
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (409, "conflict")
    );
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("last 24 hours")
    );
}

#[tokio::test]
async fn the_api_creates_lists_and_revokes_invitations() {
    let team = team_with(Db::Sqlite, mail_settings()).await;
    let bearer = team.app.bearer(&team.admin).await;
    let reply = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/invitations",
            Some(json!({"email": "nuria@example.org", "role": "manager", "lang": "es"})),
            &bearer,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let created = reply.json();
    let link = created["link"].as_str().unwrap();
    assert!(link.starts_with(&format!("{PUBLIC_URL}/invite/")), "{link}");
    assert_eq!(created["emailed"], true);
    assert_eq!(created["invitation"]["role"], "manager");
    assert_eq!(created["invitation"]["lang"], "es");
    assert_eq!(created["invitation"]["status"], "pending");
    assert_eq!(created["invitation"]["invited_by_name"], "Test alicia");
    assert_eq!(mail_jobs(&team.app).await.len(), 1);

    let listed = team
        .app
        .json(
            Method::GET,
            "/api/v1/workspaces/acme/invitations",
            None,
            &bearer,
        )
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["email"], "nuria@example.org");
    assert!(listed[0].get("link").is_none() && listed[0].get("token_hash").is_none());

    let id = created["invitation"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/workspaces/acme/invitations/{id}");
    let reply = team.app.json(Method::DELETE, &path, None, &bearer).await;
    assert_eq!(reply.status, 204);
    let reply = team.app.json(Method::DELETE, &path, None, &bearer).await;
    assert_eq!(reply.status, 404);
    let token = &link[link.len() - 43..];
    assert_eq!(
        team.app
            .get(&format!("/invite/{token}"), &Auth::visitor())
            .await
            .status,
        404
    );
    let reply = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/invitations",
            Some(json!({"email": "nope", "role": "viewer"})),
            &bearer,
        )
        .await;
    assert_eq!(reply.status, 422);
}

#[tokio::test]
async fn anyone_may_create_workspaces_when_the_instance_allows_it() {
    let team = team_with(
        Db::Sqlite,
        WebSettings {
            anyone_can_create_workspaces: true,
            ..WebSettings::default()
        },
    )
    .await;
    let viewer = team.app.session(&team.viewer).await;
    let page = team.app.get("/workspaces", &viewer).await;
    assert!(
        page.body.contains("action=\"/workspaces\""),
        "{}",
        page.body
    );
    let reply = team
        .app
        .form(
            "/workspaces",
            &[("name", "Vera's Brand"), ("slug", "vera")],
            &viewer,
        )
        .await;
    assert_eq!(reply.location(), Some("/w/vera"));
    let workspace = team
        .app
        .store()
        .workspaces()
        .get_by_slug("vera")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        team.app
            .store()
            .workspaces()
            .role_of(workspace.id, team.viewer.id)
            .await
            .unwrap(),
        Some(Role::Admin)
    );

    // By default only instance administrators see the form.
    let default = Team::new().await;
    let viewer = default.app.session(&default.viewer).await;
    let page = default.app.get("/workspaces", &viewer).await;
    assert!(!page.body.contains("action=\"/workspaces\""));
    let admin = default.app.session(&default.admin).await;
    let page = default.app.get("/workspaces", &admin).await;
    assert!(page.body.contains("action=\"/workspaces\""));
}
