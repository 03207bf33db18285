//! A workspace's dashboard: what a community manager checks first — how much
//! is being said and how it feels against the period before, the trend per
//! day, the topics that move, share of voice against competitors, the newest
//! negative mentions, and anything that is not working. Figures come from
//! [`super::figures`]; this module picks the period and renders.

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{Permission, Timestamp};
use axum::extract::State;
use serde::Deserialize;

use super::Shell;
use super::figures::{ListeningFigures, PERIODS};
use crate::AppState;
use crate::access::require;
use crate::error::AppError;
use crate::extract::{ApiPath, ApiQuery, Context, CurrentUser};
use crate::formats::Formats;
use crate::i18n::Translator;

/// A period the reader can switch to.
pub struct PeriodOption {
    pub days: i64,
    pub label: String,
    pub current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    t: Translator,
    shell: Shell,
    slug: String,
    workspace_name: String,
    periods: Vec<PeriodOption>,
    figures: ListeningFigures,
}

#[derive(Debug, Deserialize)]
pub struct DashboardQuery {
    #[serde(default)]
    days: Option<i64>,
    #[serde(default)]
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<DashboardQuery>,
) -> Result<DashboardPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let t = context.t();
    let formats = Formats::new(t, &access.workspace.time_zone, Timestamp::now());
    let days = query
        .days
        .filter(|days| PERIODS.contains(days))
        .unwrap_or(PERIODS[0]);
    let figures = ListeningFigures::load(state.store(), &formats, &access, days).await?;
    let mut periods: Vec<PeriodOption> = PERIODS
        .iter()
        .map(|&option| PeriodOption {
            days: option,
            label: t.count("dashboard.period_days", option),
            current: option == days,
        })
        .collect();
    periods.sort_by_key(|option| option.days);
    Ok(DashboardPage {
        t,
        shell: Shell::workspace(&state, &context, &access, "dashboard")
            .await?
            .with_toast(t, query.done.as_deref()),
        slug: access.workspace.slug.clone(),
        workspace_name: access.workspace.name.clone(),
        periods,
        figures,
    })
}
