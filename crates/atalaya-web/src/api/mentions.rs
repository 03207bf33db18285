//! Mentions, saved views and daily counts: read by every member; sentiment
//! corrected by agents and above; views saved by anyone who reads.

use atalaya_domain::{
    Mention, MentionId, Permission, SavedViewId, SentimentLabel, TopicId, UserId,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::access::require;
use crate::audit_actions;
use crate::error::{AppError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::formats::Formats;
use crate::i18n::Translator;
use crate::listening::audit;
use crate::listening::mentions::{
    self, MentionQuery, PAGE_SIZE, cursor_of, normalize_view_query, validate_view_name,
};
use crate::listening::periods::{DayRange, bucket_width, fold_sentiment, fold_topics, range_of};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MentionPage {
    /// Newest first, each with its author and topic hits (with spans).
    pub mentions: Vec<Mention>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/mentions",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), MentionQuery),
    responses(
        (status = 200, description = "One page of mentions", body = MentionPage),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
        (status = 422, description = "Invalid filter", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<MentionQuery>,
) -> Result<Json<MentionPage>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let formats = api_formats(&access.workspace);
    let filter = query.to_filter(PAGE_SIZE, &formats)?;
    let list = state
        .store()
        .mentions()
        .list(access.workspace.id, &filter)
        .await?;
    let full = i64::try_from(list.len()).unwrap_or(i64::MAX) >= filter.limit;
    let next_cursor = list.last().filter(|_| full).map(cursor_of);
    Ok(Json(MentionPage {
        mentions: list,
        next_cursor,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/mentions/{id}",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Mention id")),
    responses(
        (status = 200, description = "The mention, with its topic hits and their spans (byte ranges of `text`)", body = Mention),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace or mention", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<Json<Mention>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    state
        .store()
        .mentions()
        .get(access.workspace.id, MentionId(id))
        .await?
        .map(Json)
        .ok_or(AppError::NotFound)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SentimentCorrection {
    pub sentiment: SentimentLabel,
}

#[utoipa::path(
    post,
    path = "/api/v1/workspaces/{slug}/mentions/{id}/sentiment",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Mention id")),
    request_body = SentimentCorrection,
    responses(
        (status = 200, description = "Corrected; the model's label is kept in `sentiment_model`", body = Mention),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Agents and above correct sentiment", body = ErrorBody),
        (status = 404, description = "No such workspace or mention", body = ErrorBody),
        (status = 422, description = "Invalid body", body = ErrorBody),
    )
)]
pub async fn correct_sentiment(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<SentimentCorrection>,
) -> Result<Json<Mention>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Engage).await?;
    let mention =
        mentions::correct(&state, &access, &caller.user, MentionId(id), body.sentiment).await?;
    Ok(Json(mention))
}

/// A saved set of mention filters.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SavedViewBody {
    pub id: SavedViewId,
    pub name: String,
    /// The mentions page's query string, e.g. `topic=3&sentiment=negative`.
    pub query_string: String,
    pub created_by: UserId,
}

impl From<atalaya_store::SavedView> for SavedViewBody {
    fn from(view: atalaya_store::SavedView) -> SavedViewBody {
        SavedViewBody {
            id: view.id,
            name: view.name,
            query_string: view.query_string,
            created_by: view.created_by,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewSavedView {
    pub name: String,
    pub query_string: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/views",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug")),
    responses(
        (status = 200, description = "Saved views", body = [SavedViewBody]),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
    )
)]
pub async fn list_views(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Vec<SavedViewBody>>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let views = state
        .store()
        .saved_views()
        .list(access.workspace.id)
        .await?;
    Ok(Json(views.into_iter().map(SavedViewBody::from).collect()))
}

#[utoipa::path(
    post,
    path = "/api/v1/workspaces/{slug}/views",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug")),
    request_body = NewSavedView,
    responses(
        (status = 201, description = "Saved", body = SavedViewBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
        (status = 409, description = "A view with this name exists", body = ErrorBody),
        (status = 422, description = "Invalid name or filters", body = ErrorBody),
    )
)]
pub async fn create_view(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<NewSavedView>,
) -> Result<(StatusCode, Json<SavedViewBody>), AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let view = save_view(
        &state,
        &access,
        &caller.user,
        &body.name,
        &body.query_string,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// Saves a view (shared by the page and the API), audited.
pub(crate) async fn save_view(
    state: &AppState,
    access: &crate::access::WorkspaceAccess,
    actor: &atalaya_domain::User,
    name: &str,
    query_string: &str,
) -> Result<atalaya_store::SavedView, AppError> {
    let name = validate_view_name(name)?;
    let query_string = normalize_view_query(query_string)?;
    let view = state
        .store()
        .saved_views()
        .create(
            access.workspace.id,
            actor.id,
            name,
            &query_string,
            atalaya_domain::Timestamp::now(),
        )
        .await?;
    audit(
        state,
        access,
        actor,
        audit_actions::VIEW_SAVED,
        &view.name,
        serde_json::json!({ "view_id": view.id, "query_string": view.query_string }),
    )
    .await?;
    Ok(view)
}

/// Deletes a view (shared by the page and the API), audited.
pub(crate) async fn delete_saved_view(
    state: &AppState,
    access: &crate::access::WorkspaceAccess,
    actor: &atalaya_domain::User,
    id: SavedViewId,
) -> Result<(), AppError> {
    let views = state
        .store()
        .saved_views()
        .list(access.workspace.id)
        .await?;
    let view = views
        .into_iter()
        .find(|view| view.id == id)
        .ok_or(AppError::NotFound)?;
    // Anyone may delete their own views; others' only with configuration rights.
    if view.created_by != actor.id && !access.allows(Permission::Configure) {
        return Err(AppError::Forbidden);
    }
    state
        .store()
        .saved_views()
        .delete(access.workspace.id, id)
        .await?;
    audit(
        state,
        access,
        actor,
        audit_actions::VIEW_DELETED,
        &view.name,
        serde_json::json!({ "view_id": id }),
    )
    .await
}

#[utoipa::path(
    delete,
    path = "/api/v1/workspaces/{slug}/views/{id}",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Saved view id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only its author or a manager may delete a view", body = ErrorBody),
        (status = 404, description = "No such workspace or view", body = ErrorBody),
    )
)]
pub async fn delete_view(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    delete_saved_view(&state, &access, &caller.user, SavedViewId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DailyCountBody {
    /// `YYYY-MM-DD`, a day of the workspace's time zone.
    pub day: String,
    pub topic_id: TopicId,
    /// The topic's name, so a chart can label its series.
    pub topic_name: String,
    /// The topic's `#rrggbb` colour, so every chart draws a topic alike.
    pub topic_color: String,
    pub count: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DailySentimentBody {
    /// `YYYY-MM-DD`, a day of the workspace's time zone.
    pub day: String,
    pub sentiment: atalaya_domain::SentimentLabel,
    pub count: i64,
}

/// The grey of a series whose topic no longer exists.
const DELETED_TOPIC_COLOR: &str = "#6e7781";

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/stats/daily",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), MentionQuery),
    responses(
        (status = 200, description = "Mentions per day (of the workspace's time zone) and topic, for the mentions the filters select; `from`/`to` default to the 30 days ending today. Days without mentions are absent.", body = [DailyCountBody]),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
        (status = 422, description = "Invalid filter or dates (at most 366 days)", body = ErrorBody),
    )
)]
pub async fn daily(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<MentionQuery>,
) -> Result<Json<Vec<DailyCountBody>>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let formats = api_formats(&access.workspace);
    let (range, filter) = stats_filter(&query, &formats)?;
    let buckets = state
        .store()
        .mentions()
        .topic_histogram(access.workspace.id, &filter, bucket_width(&formats, range))
        .await?;
    let topics = state.store().topics().list(access.workspace.id).await?;
    let days = range.days();
    let mut rows = Vec::new();
    for (topic_id, counts) in fold_topics(&formats, range, &buckets) {
        // A topic deleted between the two reads keeps a readable label and a
        // neutral colour rather than failing the chart.
        let topic = topics.iter().find(|topic| topic.id == topic_id);
        for (day, count) in days.iter().zip(counts) {
            if count == 0 {
                continue;
            }
            rows.push(DailyCountBody {
                day: day.clone(),
                topic_id,
                topic_name: topic
                    .map_or_else(|| format!("#{topic_id}"), |topic| topic.name.clone()),
                topic_color: topic.map_or_else(
                    || DELETED_TOPIC_COLOR.to_owned(),
                    |topic| topic.color.clone(),
                ),
                count,
            });
        }
    }
    rows.sort_by(|left, right| {
        left.day
            .cmp(&right.day)
            .then(left.topic_id.cmp(&right.topic_id))
    });
    Ok(Json(rows))
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/stats/daily-sentiment",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), MentionQuery),
    responses(
        (status = 200, description = "Mentions per day (of the workspace's time zone) and effective sentiment, for the mentions the filters select; `from`/`to` default to the 30 days ending today. Days without mentions are absent.", body = [DailySentimentBody]),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
        (status = 422, description = "Invalid filter or dates (at most 366 days)", body = ErrorBody),
    )
)]
pub async fn daily_sentiment(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<MentionQuery>,
) -> Result<Json<Vec<DailySentimentBody>>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let formats = api_formats(&access.workspace);
    let (range, filter) = stats_filter(&query, &formats)?;
    let buckets = state
        .store()
        .mentions()
        .sentiment_histogram(access.workspace.id, &filter, bucket_width(&formats, range))
        .await?;
    let per_label = fold_sentiment(&formats, range, &buckets);
    let mut rows = Vec::new();
    for (index, day) in range.days().into_iter().enumerate() {
        for (label, counts) in atalaya_domain::SentimentLabel::ALL
            .into_iter()
            .zip(&per_label)
        {
            if counts[index] > 0 {
                rows.push(DailySentimentBody {
                    day: day.clone(),
                    sentiment: label,
                    count: counts[index],
                });
            }
        }
    }
    Ok(Json(rows))
}

/// Days and dates as the API reads and counts them: the workspace's time
/// zone, now. (The API speaks no language; English is only the formatter's.)
fn api_formats(workspace: &atalaya_domain::Workspace) -> Formats {
    Formats::new(
        Translator::new(atalaya_domain::UiLang::En),
        &workspace.time_zone,
        atalaya_domain::Timestamp::now(),
    )
}

/// The days and the store filter of a per-day query: the mention filters,
/// bounded by the days the query names (30 ending today by default).
pub(crate) fn stats_filter(
    query: &MentionQuery,
    formats: &Formats,
) -> Result<(DayRange, atalaya_store::MentionFilter), AppError> {
    let range = range_of(query.from.as_deref(), query.to.as_deref(), formats, 30)?;
    let mut filter = query.to_filter(PAGE_SIZE, formats)?;
    let (from, to) = range.bounds(formats);
    filter.from = Some(from);
    filter.to = Some(to);
    filter.before = None;
    Ok((range, filter))
}
