//! Who may do what: every route of the UI and the API against every role, plus
//! a non-member and an anonymous caller. One fresh team per cell, so that a
//! write in one cell cannot change the outcome of another.

use axum::http::Method;
use serde_json::json;

use crate::support::{Auth, Team};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Admin,
    Manager,
    Agent,
    Contributor,
    Viewer,
    Outsider,
    Anonymous,
}

const EVERYONE: [Who; 7] = [
    Who::Admin,
    Who::Manager,
    Who::Agent,
    Who::Contributor,
    Who::Viewer,
    Who::Outsider,
    Who::Anonymous,
];

#[derive(Debug, Clone, Copy)]
enum Body {
    None,
    Form(&'static [(&'static str, &'static str)]),
    Json(&'static str),
}

/// One route. `{target}` is the spare member's id; `{token}` an API token id
/// owned by the caller. Expected statuses are in the order of [`EVERYONE`].
struct Case {
    method: Method,
    path: &'static str,
    body: Body,
    expected: [u16; 7],
}

async fn check(case: &Case, who: Who, expected: u16) {
    let team = Team::new().await;
    let user = match who {
        Who::Admin => Some(&team.admin),
        Who::Manager => Some(&team.manager),
        Who::Agent => Some(&team.agent),
        Who::Contributor => Some(&team.contributor),
        Who::Viewer => Some(&team.viewer),
        Who::Outsider => Some(&team.outsider),
        Who::Anonymous => None,
    };
    let is_api = case.path.starts_with("/api/");
    let auth = match (user, is_api) {
        (Some(user), true) => team.app.bearer(user).await,
        (Some(user), false) => team.app.session(user).await,
        // Anonymous browsers hold a valid pre-session CSRF token, so that the
        // cell tests authorization rather than CSRF.
        (None, false) => Auth::visitor(),
        (None, true) => Auth::Anonymous,
    };
    let token_owner = user.unwrap_or(&team.admin);
    let token_id = if case.path.contains("{token}") {
        let info = team
            .app
            .store()
            .api_tokens()
            .create(
                token_owner.id,
                "to revoke",
                "0".repeat(64).as_str(),
                atalaya_domain::Timestamp::now(),
            )
            .await
            .unwrap();
        info.id.get()
    } else {
        0
    };
    let path = case
        .path
        .replace("{target}", &team.target.id.to_string())
        .replace("{token}", &token_id.to_string())
        // No such listening object: members allowed to act get 404 after the
        // permission check, the others 403.
        .replace("{id}", "999");
    let reply = match case.body {
        Body::None if case.method == Method::GET => team.app.get(&path, &auth).await,
        Body::None if !is_api => team.app.form(&path, &[], &auth).await,
        Body::None => team.app.json(case.method.clone(), &path, None, &auth).await,
        Body::Form(fields) => {
            // Passwords in the table are placeholders for the shared test password.
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(name, value)| {
                    (
                        *name,
                        if *value == "PASSWORD" {
                            crate::support::PASSWORD
                        } else {
                            *value
                        },
                    )
                })
                .collect();
            team.app.form(&path, &fields, &auth).await
        }
        Body::Json(body) => {
            team.app
                .json(
                    case.method.clone(),
                    &path,
                    Some(serde_json::from_str(body).unwrap()),
                    &auth,
                )
                .await
        }
    };
    assert_eq!(
        reply.status.as_u16(),
        expected,
        "{} {} as {who:?}: {}",
        case.method,
        case.path,
        reply.body.chars().take(300).collect::<String>()
    );
    if is_api && expected >= 400 {
        assert!(
            !reply.error_code().is_empty(),
            "API errors use our format: {}",
            reply.body
        );
    }
}

const FORM_NEW_MEMBER: &[(&str, &str)] = &[("username", "nuria"), ("role", "viewer")];
const FORM_ROLE: &[(&str, &str)] = &[("role", "agent")];
const FORM_INVITE: &[(&str, &str)] = &[("email", "nuria@example.org"), ("role", "viewer")];
const FORM_WORKSPACE: &[(&str, &str)] = &[("name", "Second Brand"), ("slug", "second")];
const FORM_LANG: &[(&str, &str)] = &[("ui_lang", "es")];
const FORM_PASSWORD: &[(&str, &str)] = &[
    ("current_password", "PASSWORD"),
    ("new_password", "a brand new secret"),
    ("new_password_confirm", "a brand new secret"),
];
const FORM_TOKEN: &[(&str, &str)] = &[("name", "laptop script")];
const FORM_TOPIC: &[(&str, &str)] = &[
    ("name", "Lumen"),
    ("kind", "brand"),
    ("query", "lumen"),
    ("active", "1"),
];
const FORM_MASTODON: &[(&str, &str)] = &[("instance", "social.example")];
const FORM_BLUESKY: &[(&str, &str)] = &[("handle", "lumen.test"), ("app_password", "abcd-efgh")];
const FORM_VIEW: &[(&str, &str)] = &[("name", "Angry"), ("query_string", "sentiment=negative")];

fn cases() -> Vec<Case> {
    use Body::{Form, Json, None};
    let get = Method::GET;
    let post = Method::POST;
    //                          admin manager agent contrib viewer outsider anonymous
    vec![
        // Pages. Anonymous page requests are sent to the sign-in page (303).
        Case {
            method: get.clone(),
            path: "/w/acme",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/w/acme/members",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 303],
        },
        Case {
            method: post.clone(),
            path: "/w/acme/members",
            body: Form(FORM_NEW_MEMBER),
            expected: [303, 403, 403, 403, 403, 404, 303],
        },
        Case {
            method: post.clone(),
            path: "/w/acme/members/{target}/role",
            body: Form(FORM_ROLE),
            expected: [303, 403, 403, 403, 403, 404, 303],
        },
        Case {
            method: post.clone(),
            path: "/w/acme/members/{target}/remove",
            body: None,
            expected: [303, 403, 403, 403, 403, 404, 303],
        },
        // Invitations: only admins. `{id}` names no invitation, so admins get 404.
        Case {
            method: post.clone(),
            path: "/w/acme/invitations",
            body: Form(FORM_INVITE),
            expected: [200, 403, 403, 403, 403, 404, 303],
        },
        Case {
            method: post.clone(),
            path: "/w/acme/invitations/{id}/revoke",
            body: None,
            expected: [404, 403, 403, 403, 403, 404, 303],
        },
        // The accept page is for anyone with the link; an unknown one is 404 for all,
        // and accepting needs a signed-in caller.
        Case {
            method: get.clone(),
            path: "/invite/unknown",
            body: None,
            expected: [404, 404, 404, 404, 404, 404, 404],
        },
        Case {
            method: post.clone(),
            path: "/invite/unknown",
            body: None,
            expected: [404, 404, 404, 404, 404, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/w/acme/audit",
            body: None,
            expected: [200, 200, 403, 403, 403, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/workspaces",
            body: None,
            expected: [200, 200, 200, 200, 200, 200, 303],
        },
        Case {
            method: post.clone(),
            path: "/workspaces",
            body: Form(FORM_WORKSPACE),
            expected: [303, 403, 403, 403, 403, 403, 303],
        },
        Case {
            method: get.clone(),
            path: "/account",
            body: None,
            expected: [200, 200, 200, 200, 200, 200, 303],
        },
        Case {
            method: post.clone(),
            path: "/account/language",
            body: Form(FORM_LANG),
            expected: [303, 303, 303, 303, 303, 303, 303],
        },
        Case {
            method: post.clone(),
            path: "/account/password",
            body: Form(FORM_PASSWORD),
            expected: [303, 303, 303, 303, 303, 303, 303],
        },
        Case {
            method: post.clone(),
            path: "/account/tokens",
            body: Form(FORM_TOKEN),
            expected: [200, 200, 200, 200, 200, 200, 303],
        },
        Case {
            method: post.clone(),
            path: "/account/tokens/{token}/revoke",
            body: None,
            expected: [303, 303, 303, 303, 303, 303, 303],
        },
        // API. Anonymous calls get 401 in our JSON format.
        Case {
            method: get.clone(),
            path: "/api/v1/me",
            body: None,
            expected: [200, 200, 200, 200, 200, 200, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces",
            body: None,
            expected: [200, 200, 200, 200, 200, 200, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/members",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 401],
        },
        Case {
            method: post.clone(),
            path: "/api/v1/workspaces/acme/members",
            body: Json(r#"{"username":"nuria","role":"viewer"}"#),
            expected: [201, 403, 403, 403, 403, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/invitations",
            body: None,
            expected: [200, 403, 403, 403, 403, 404, 401],
        },
        Case {
            method: post.clone(),
            path: "/api/v1/workspaces/acme/invitations",
            body: Json(r#"{"email":"nuria@example.org","role":"viewer"}"#),
            expected: [201, 403, 403, 403, 403, 404, 401],
        },
        Case {
            method: Method::DELETE,
            path: "/api/v1/workspaces/acme/invitations/{id}",
            body: None,
            expected: [404, 403, 403, 403, 403, 404, 401],
        },
        Case {
            method: Method::PATCH,
            path: "/api/v1/workspaces/acme/members/{target}",
            body: Json(r#"{"role":"agent"}"#),
            expected: [200, 403, 403, 403, 403, 404, 401],
        },
        Case {
            method: Method::DELETE,
            path: "/api/v1/workspaces/acme/members/{target}",
            body: None,
            expected: [204, 403, 403, 403, 403, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/audit",
            body: None,
            expected: [200, 200, 403, 403, 403, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/languages",
            body: None,
            expected: [200, 200, 403, 403, 403, 404, 401],
        },
        Case {
            method: Method::PUT,
            path: "/api/v1/workspaces/acme/languages",
            body: Json(r#"{"languages": ["es", "pt"]}"#),
            expected: [200, 200, 403, 403, 403, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/tokens",
            body: None,
            expected: [200, 200, 200, 200, 200, 200, 401],
        },
        Case {
            method: post.clone(),
            path: "/api/v1/tokens",
            body: Json(r#"{"name":"ci"}"#),
            expected: [201, 201, 201, 201, 201, 201, 401],
        },
        Case {
            method: get.clone(),
            path: "/w/acme/mentions",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/w/acme/topics",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 303],
        },
        Case {
            method: post.clone(),
            path: "/w/acme/topics",
            body: Form(FORM_TOPIC),
            expected: [303, 303, 403, 403, 403, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/w/acme/sources",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 303],
        },
        Case {
            method: post.clone(),
            path: "/w/acme/sources/{id}/check",
            body: None,
            expected: [404, 404, 403, 403, 403, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/w/acme/import",
            body: None,
            expected: [200, 200, 403, 403, 403, 404, 303],
        },
        Case {
            method: post.clone(),
            path: "/w/acme/views",
            body: Form(FORM_VIEW),
            expected: [303, 303, 303, 303, 303, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/topics",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 401],
        },
        Case {
            method: post.clone(),
            path: "/api/v1/workspaces/acme/topics",
            body: Json(r#"{"name":"Lumen","kind":"brand","query":"lumen"}"#),
            expected: [201, 201, 403, 403, 403, 404, 401],
        },
        Case {
            method: post.clone(),
            path: "/api/v1/workspaces/acme/topics/test",
            body: Json(r#"{"query":"lumen"}"#),
            expected: [200, 200, 403, 403, 403, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/topics/{id}",
            body: None,
            expected: [404, 404, 404, 404, 404, 404, 401],
        },
        Case {
            method: Method::PUT,
            path: "/api/v1/workspaces/acme/topics/{id}",
            body: Json(r#"{"name":"Lumen","kind":"brand","query":"lumen"}"#),
            expected: [404, 404, 403, 403, 403, 404, 401],
        },
        Case {
            method: Method::DELETE,
            path: "/api/v1/workspaces/acme/topics/{id}",
            body: None,
            expected: [404, 404, 403, 403, 403, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/sources",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 401],
        },
        Case {
            method: post.clone(),
            path: "/api/v1/workspaces/acme/sources",
            body: Json(r#"{"kind":"import","name":"Files"}"#),
            expected: [201, 201, 403, 403, 403, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/sources/{id}",
            body: None,
            expected: [404, 404, 404, 404, 404, 404, 401],
        },
        Case {
            method: Method::PATCH,
            path: "/api/v1/workspaces/acme/sources/{id}",
            body: Json(r#"{"name":"Files"}"#),
            expected: [404, 404, 403, 403, 403, 404, 401],
        },
        Case {
            method: Method::DELETE,
            path: "/api/v1/workspaces/acme/sources/{id}",
            body: None,
            expected: [404, 404, 403, 403, 403, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/mentions",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/mentions/{id}",
            body: None,
            expected: [404, 404, 404, 404, 404, 404, 401],
        },
        Case {
            method: post.clone(),
            path: "/api/v1/workspaces/acme/mentions/{id}/sentiment",
            body: Json(r#"{"sentiment":"neutral"}"#),
            expected: [404, 404, 404, 403, 403, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/views",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 401],
        },
        Case {
            method: post.clone(),
            path: "/api/v1/workspaces/acme/views",
            body: Json(r#"{"name":"Angry","query_string":"sentiment=negative"}"#),
            expected: [201, 201, 201, 201, 201, 404, 401],
        },
        Case {
            method: Method::DELETE,
            path: "/api/v1/workspaces/acme/views/{id}",
            body: None,
            expected: [404, 404, 404, 404, 404, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/stats/daily",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 401],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/stats/daily-sentiment",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 401],
        },
        // The interface's own pages.
        Case {
            method: get.clone(),
            path: "/w/acme/settings",
            body: None,
            expected: [200, 403, 403, 403, 403, 404, 303],
        },
        Case {
            method: post.clone(),
            path: "/w/acme/settings",
            body: Form(&[("name", "Acme Coffee"), ("time_zone", "Europe/Madrid")]),
            expected: [303, 403, 403, 403, 403, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/w/acme/search?q=coffee",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/w/acme/theme.css",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/w/acme/topics/new",
            body: None,
            expected: [200, 200, 403, 403, 403, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/w/acme/sources/new",
            body: None,
            expected: [200, 200, 403, 403, 403, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/styleguide",
            body: None,
            expected: [200, 200, 200, 200, 200, 200, 303],
        },
        // Connected accounts. This app has no HTTP client: connecting is
        // refused as unavailable (422) once the permission check passed.
        Case {
            method: get.clone(),
            path: "/w/acme/accounts",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 303],
        },
        Case {
            method: post.clone(),
            path: "/w/acme/accounts/bluesky",
            body: Form(FORM_BLUESKY),
            expected: [422, 422, 403, 403, 403, 404, 303],
        },
        Case {
            method: post.clone(),
            path: "/w/acme/accounts/mastodon",
            body: Form(FORM_MASTODON),
            expected: [422, 422, 403, 403, 403, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/oauth/mastodon/callback?code=abc&state=unknown",
            body: None,
            expected: [422, 422, 422, 422, 422, 422, 303],
        },
        Case {
            method: post.clone(),
            path: "/w/acme/accounts/{id}/disconnect",
            body: None,
            expected: [404, 404, 403, 403, 403, 404, 303],
        },
        Case {
            method: get.clone(),
            path: "/api/v1/workspaces/acme/accounts",
            body: None,
            expected: [200, 200, 200, 200, 200, 404, 401],
        },
        Case {
            method: post.clone(),
            path: "/api/v1/workspaces/acme/accounts/bluesky",
            body: Json(r#"{"handle":"lumen.test","app_password":"abcd-efgh"}"#),
            expected: [422, 422, 403, 403, 403, 404, 401],
        },
        Case {
            method: Method::DELETE,
            path: "/api/v1/workspaces/acme/accounts/{id}",
            body: None,
            expected: [404, 404, 403, 403, 403, 404, 401],
        },
        Case {
            method: Method::DELETE,
            path: "/api/v1/tokens/{token}",
            body: None,
            expected: [204, 204, 204, 204, 204, 204, 401],
        },
    ]
}

#[tokio::test]
async fn every_route_against_every_role() {
    let cases = cases();
    for case in &cases {
        for (who, expected) in EVERYONE.iter().zip(case.expected) {
            check(case, *who, expected).await;
        }
    }
}

#[tokio::test]
async fn the_matrix_covers_every_documented_api_operation() {
    // A new API route must get a row in the table above.
    let team = Team::new().await;
    let document = team
        .app
        .get("/api/openapi.json", &Auth::Anonymous)
        .await
        .json();
    let covered: std::collections::BTreeSet<(String, String)> = cases()
        .iter()
        .map(|case| (case.method.as_str().to_lowercase(), case.path.to_owned()))
        .collect();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let path = path
                .replace("{slug}", "acme")
                .replace("{user_id}", "{target}")
                .replace("{token_id}", "{token}");
            assert!(
                covered.contains(&(method.clone(), path.clone())),
                "{method} {path} is not in the matrix"
            );
        }
    }
}

#[tokio::test]
async fn a_viewer_trying_to_write_changes_nothing() {
    let team = Team::new().await;
    let viewer = team.app.session(&team.viewer).await;
    let reply = team
        .app
        .form(
            "/w/acme/members",
            &[("username", "nuria"), ("role", "admin")],
            &viewer,
        )
        .await;
    assert_eq!(reply.status, 403);
    assert!(reply.body.contains("<html"), "UI errors are pages");
    let reply = team
        .app
        .form(
            &format!("/w/acme/members/{}/role", team.viewer.id),
            &[("role", "admin")],
            &viewer,
        )
        .await;
    assert_eq!(reply.status, 403);
    let bearer = team.app.bearer(&team.viewer).await;
    let reply = team
        .app
        .json(
            Method::POST,
            "/api/v1/workspaces/acme/members",
            Some(json!({"username": "nuria", "role": "admin"})),
            &bearer,
        )
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (403, "forbidden")
    );
    assert_eq!(team.role_of(&team.newbie).await, None);
    assert_eq!(
        team.role_of(&team.viewer).await,
        Some(atalaya_domain::Role::Viewer)
    );
    assert!(
        team.app
            .store()
            .audit()
            .list(team.workspace.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn admin_changes_are_applied_and_audited() {
    let team = Team::new().await;
    let admin = team.app.session(&team.admin).await;
    let reply = team
        .app
        .form(
            "/w/acme/members",
            &[("username", "nuria"), ("role", "agent")],
            &admin,
        )
        .await;
    assert_eq!(reply.location(), Some("/w/acme/members?done=member_added"));
    assert_eq!(
        team.role_of(&team.newbie).await,
        Some(atalaya_domain::Role::Agent)
    );
    let page = team
        .app
        .get("/w/acme/members?done=member_added", &admin)
        .await;
    assert!(page.body.contains("Member added."), "{}", page.body);
    team.app
        .form(
            &format!("/w/acme/members/{}/remove", team.target.id),
            &[],
            &admin,
        )
        .await;
    assert_eq!(team.role_of(&team.target).await, None);
    let actions: Vec<String> = team
        .app
        .store()
        .audit()
        .list(team.workspace.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    assert_eq!(actions, ["member.removed", "member.added"]);
    let audit_page = team.app.get("/w/acme/audit", &admin).await;
    // The activity log says it in words, never as raw codes or JSON.
    assert!(
        audit_page.body.contains("removed")
            && audit_page.body.contains("from the workspace")
            && audit_page.body.contains("Test alicia"),
        "{}",
        audit_page.body
    );
    assert!(
        !audit_page.body.contains("member.removed"),
        "{}",
        audit_page.body
    );
    assert!(!audit_page.body.contains("{&quot;"), "{}", audit_page.body);
}

#[tokio::test]
async fn the_last_admin_cannot_leave_or_be_demoted() {
    let team = Team::new().await;
    let bearer = team.app.bearer(&team.admin).await;
    let path = format!("/api/v1/workspaces/acme/members/{}", team.admin.id);
    let reply = team
        .app
        .json(
            Method::PATCH,
            &path,
            Some(json!({"role": "viewer"})),
            &bearer,
        )
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (409, "conflict")
    );
    let reply = team.app.json(Method::DELETE, &path, None, &bearer).await;
    assert_eq!(reply.status, 409);
    assert_eq!(
        team.role_of(&team.admin).await,
        Some(atalaya_domain::Role::Admin)
    );
}

#[tokio::test]
async fn dashboard_sections_follow_the_role() {
    let team = Team::new().await;
    let manager = team
        .app
        .get("/w/acme", &team.app.session(&team.manager).await)
        .await;
    // The dashboard is for listening: no infrastructure (job counters) on it.
    assert!(
        !manager.body.contains("Background jobs"),
        "{}",
        manager.body
    );
    assert!(
        manager.body.contains("href=\"/w/acme/audit\""),
        "managers see the audit link"
    );
    assert!(
        !manager.body.contains("href=\"/w/acme/settings\""),
        "only administrators see the settings"
    );
    let viewer = team
        .app
        .get("/w/acme", &team.app.session(&team.viewer).await)
        .await;
    assert!(viewer.body.contains("Acme Coffee") && viewer.body.contains("Viewer"));
    assert!(!viewer.body.contains("href=\"/w/acme/audit\""));
    // Administrators find the job queue's health in the workspace settings.
    let admin = team.app.session(&team.admin).await;
    let settings = team.app.get("/w/acme/settings", &admin).await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    assert!(
        settings.body.contains("Background jobs"),
        "{}",
        settings.body
    );
    let manager_settings = team
        .app
        .get("/w/acme/settings", &team.app.session(&team.manager).await)
        .await;
    assert_eq!(manager_settings.status, 403);
}
