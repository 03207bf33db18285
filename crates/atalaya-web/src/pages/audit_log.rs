//! The audit log of a workspace (managers and admins).

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{Permission, Timestamp};
use axum::extract::State;

use super::{AuditRow, Shell};
use crate::AppState;
use crate::access::require;
use crate::error::AppError;
use crate::extract::{ApiPath, Context, CurrentUser};
use crate::formats::Formats;
use crate::i18n::Translator;

/// How many entries the page shows; the API pages further.
const PAGE_SIZE: i64 = 200;

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    t: Translator,
    shell: Shell,
    entries: Vec<AuditRow>,
}

pub async fn show(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<AuditPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let t = context.t();
    let formats = Formats::new(t, &access.workspace.time_zone, Timestamp::now());
    let entries = state
        .store()
        .audit()
        .list(access.workspace.id, PAGE_SIZE)
        .await?;
    Ok(AuditPage {
        t,
        shell: Shell::workspace(&state, &context, &access, "audit").await?,
        entries: entries
            .iter()
            .map(|entry| AuditRow::new(t, &formats, entry))
            .collect(),
    })
}
