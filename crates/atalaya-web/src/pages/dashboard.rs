//! A workspace's dashboard.
//!
//! The page is a list of cards, each its own partial under
//! `templates/dashboard/`. To add a section (mention figures, sentiment...), add
//! a field here, fill it in [`show`], and include a partial from
//! `dashboard.html`; a card whose data is `None` is not shown, so a section
//! appears only for roles that may see it. The listening figures (see
//! [`super::figures`]) are for every member.

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{Permission, Timestamp};
use axum::extract::State;

use super::figures::ListeningFigures;
use super::{AuditRow, Shell, role_label};
use crate::AppState;
use crate::access::require;
use crate::error::AppError;
use crate::extract::{ApiPath, Context, CurrentUser};
use crate::i18n::Translator;

/// Background job health, instance-wide.
pub struct JobHealth {
    pub queued: i64,
    pub running: i64,
    pub succeeded: i64,
    pub dead: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    t: Translator,
    shell: Shell,
    slug: String,
    workspace_name: String,
    role: &'static str,
    member_count: usize,
    /// Mentions, sentiment, topics, share of voice and failing sources.
    listening: ListeningFigures,
    /// Recent audit entries, for roles that may read the audit log.
    activity: Option<Vec<AuditRow>>,
    /// Job queue counts, for roles that configure the workspace.
    jobs: Option<JobHealth>,
}

pub async fn show(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<DashboardPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let t = context.t();
    let store = state.store();
    let member_count = store.workspaces().members(access.workspace.id).await?.len();
    let listening = ListeningFigures::load(store, t, &access, Timestamp::now()).await?;
    let (activity, jobs) = if access.allows(Permission::Configure) {
        let entries = store.audit().list(access.workspace.id, 8).await?;
        let mut health = JobHealth {
            queued: 0,
            running: 0,
            succeeded: 0,
            dead: 0,
        };
        for (status, count) in store.jobs().counts().await? {
            match status {
                atalaya_store::JobStatus::Queued => health.queued = count,
                atalaya_store::JobStatus::Running => health.running = count,
                atalaya_store::JobStatus::Succeeded => health.succeeded = count,
                atalaya_store::JobStatus::Dead => health.dead = count,
            }
        }
        (
            Some(
                entries
                    .iter()
                    .map(|entry| AuditRow::new(t, entry))
                    .collect(),
            ),
            Some(health),
        )
    } else {
        (None, None)
    };
    Ok(DashboardPage {
        t,
        shell: Shell::from_context(&context).in_workspace(&access, "dashboard"),
        slug: access.workspace.slug.clone(),
        workspace_name: access.workspace.name.clone(),
        role: role_label(t, access.role),
        member_count,
        listening,
        activity,
        jobs,
    })
}
