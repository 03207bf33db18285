//! A workspace's listening topics: read by every member, configured by
//! managers and admins; plus the query test that powers the topic editor.
//! Every topic comes with its latest backfill (the re-matching of the stored
//! mentions that creating it, changing its query or switching it back on
//! starts), so a client can show its progress.

use atalaya_domain::{Permission, TopicId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::access::require;
use crate::error::{AppError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Context, CurrentUser};
use crate::listening::topics::{self, TestOutcome, TopicInput, TopicWithBackfill};

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/topics",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug")),
    responses(
        (status = 200, description = "Topics, by kind then name, each with its latest backfill", body = [TopicWithBackfill]),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<Json<Vec<TopicWithBackfill>>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    Ok(Json(topics::list_with_backfills(&state, &access).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/workspaces/{slug}/topics",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug")),
    request_body = TopicInput,
    responses(
        (status = 201, description = "Created; an active topic comes with the queued backfill of the stored mentions", body = TopicWithBackfill),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only managers and admins configure topics", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
        (status = 409, description = "A topic with this name exists", body = ErrorBody),
        (status = 422, description = "Invalid fields; a query that does not parse names the column and what was expected", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<TopicInput>,
) -> Result<(StatusCode, Json<TopicWithBackfill>), AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let topic = topics::create(&state, &access, &caller.user, &body, context.lang).await?;
    Ok((StatusCode::CREATED, Json(topic)))
}

#[utoipa::path(
    get,
    path = "/api/v1/workspaces/{slug}/topics/{id}",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Topic id")),
    responses(
        (status = 200, description = "The topic with its latest backfill", body = TopicWithBackfill),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such workspace or topic", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<Json<TopicWithBackfill>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let topic = state
        .store()
        .topics()
        .get(access.workspace.id, TopicId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let backfill = topics::backfill_state(&state, &access, topic.id).await?;
    Ok(Json(TopicWithBackfill { topic, backfill }))
}

#[utoipa::path(
    put,
    path = "/api/v1/workspaces/{slug}/topics/{id}",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Topic id")),
    request_body = TopicInput,
    responses(
        (status = 200, description = "Updated; a new query or a topic switched back on comes with its new backfill", body = TopicWithBackfill),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only managers and admins configure topics", body = ErrorBody),
        (status = 404, description = "No such workspace or topic", body = ErrorBody),
        (status = 409, description = "A topic with this name exists", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<TopicInput>,
) -> Result<Json<TopicWithBackfill>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let topic = topics::update(
        &state,
        &access,
        &caller.user,
        TopicId(id),
        &body,
        context.lang,
    )
    .await?;
    Ok(Json(topic))
}

#[utoipa::path(
    delete,
    path = "/api/v1/workspaces/{slug}/topics/{id}",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug"), ("id" = i64, Path, description = "Topic id")),
    responses(
        (status = 204, description = "Deleted; its mentions stay"),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only managers and admins configure topics", body = ErrorBody),
        (status = 404, description = "No such workspace or topic", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    topics::delete(&state, &access, &caller.user, TopicId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TestRequest {
    pub query: String,
    /// A text to try the query on, besides the stored mentions.
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestResponse {
    /// Whether the query parses.
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<QueryErrorView>,
    /// Newest stored mentions looked at (at most 2,000).
    pub scanned: usize,
    pub matched: usize,
    /// The newest matching mentions (at most 10), with the matched byte ranges.
    pub examples: Vec<TestExample>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleResult>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueryErrorView {
    /// In the caller's language, naming the column and what was expected.
    pub message: String,
    /// The query and a `^` under the error, on two lines.
    pub caret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestExample {
    pub mention_id: atalaya_domain::MentionId,
    pub text: String,
    pub spans: Vec<atalaya_domain::MatchSpan>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SampleResult {
    pub matched: bool,
    pub spans: Vec<atalaya_domain::MatchSpan>,
}

fn spans(ranges: &[(usize, usize)]) -> Vec<atalaya_domain::MatchSpan> {
    ranges
        .iter()
        .map(|&(start, end)| atalaya_domain::MatchSpan { start, end })
        .collect()
}

#[utoipa::path(
    post,
    path = "/api/v1/workspaces/{slug}/topics/test",
    tag = "listening",
    params(("slug" = String, Path, description = "Workspace slug")),
    request_body = TestRequest,
    responses(
        (status = 200, description = "The parse error, or how many of the newest mentions match and the first ones", body = TestResponse),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Only managers and admins configure topics", body = ErrorBody),
        (status = 404, description = "No such workspace, or not a member", body = ErrorBody),
    )
)]
pub async fn test(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<TestRequest>,
) -> Result<Json<TestResponse>, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let outcome = topics::test_query(
        &state,
        &access,
        &body.query,
        body.text.as_deref(),
        context.lang,
    )
    .await?;
    Ok(Json(match outcome {
        TestOutcome::Invalid { message, caret } => TestResponse {
            valid: false,
            error: Some(QueryErrorView { message, caret }),
            scanned: 0,
            matched: 0,
            examples: Vec::new(),
            sample: None,
        },
        TestOutcome::Valid(result) => TestResponse {
            valid: true,
            error: None,
            scanned: result.scanned,
            matched: result.matched,
            examples: result
                .examples
                .into_iter()
                .filter_map(|example| {
                    let mention = example.mention?;
                    Some(TestExample {
                        mention_id: mention.id,
                        text: mention.text,
                        spans: spans(&example.spans),
                    })
                })
                .collect(),
            sample: result.sample.map(|sample| SampleResult {
                matched: sample.matched,
                spans: spans(&sample.spans),
            }),
        },
    }))
}
