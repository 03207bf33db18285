//! The topics pages: a card per topic (colour, kind, query, mentions in the
//! last 30 days with their daily trend, active or paused), and the editor on
//! its own page (new and existing) with the live query test beside it: htmx
//! posts the query as the person types and swaps in the parse error with a
//! caret, or the count and the newest matches, highlighted. A form with a
//! problem comes back with everything the person typed and the problem under
//! its field.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{
    BackfillState, Permission, Timestamp, Topic, TopicBackfill, TopicId, TopicKind,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Shell;
use super::charts::Sparkline;
use super::forms::FormErrors;
use crate::AppState;
use crate::access::{WorkspaceAccess, require};
use crate::error::AppError;
use crate::extract::{ApiPath, ApiQuery, Context, CurrentUser, WebForm};
use crate::formats::Formats;
use crate::i18n::Translator;
use crate::listening::periods::{DayRange, bucket_width, fold_topics};
use crate::listening::topics::{self, TestOutcome, TestResult, TopicInput};
use crate::session::RequestContext;

/// Days the topic cards count and draw.
const CARD_DAYS: i64 = 30;

pub struct KindOption {
    value: &'static str,
    label: &'static str,
}

fn kind_label(t: Translator, kind: TopicKind) -> &'static str {
    t.lookup(&format!("topic_kind.{}", kind.as_str()))
        .unwrap_or(kind.as_str())
}

fn kind_options(t: Translator) -> Vec<KindOption> {
    TopicKind::ALL
        .into_iter()
        .map(|kind| KindOption {
            value: kind.as_str(),
            label: kind_label(t, kind),
        })
        .collect()
}

pub struct TopicCard {
    topic: Topic,
    kind_label: &'static str,
    count: String,
    spark: Sparkline,
    link: String,
    backfill: Option<BackfillView>,
}

/// How long after it finished a backfill's result stays on its topic's card.
const BACKFILL_SHOWN_MILLIS: i64 = 24 * 3_600_000;

/// A topic's re-matching of its stored mentions, as its card says it.
pub struct BackfillView {
    /// `queued`, `running`, `done` or `failed`: the card's tone.
    state: &'static str,
    text: String,
    /// Scanned of total while it runs, for the progress bar.
    progress: Option<(i64, i64)>,
}

impl BackfillView {
    /// What the card says about `backfill`, if anything: nothing for one
    /// superseded by a newer change or finished more than a day ago.
    fn of(formats: &Formats, backfill: &TopicBackfill, days: i64) -> Option<BackfillView> {
        let t = formats.t();
        let period = t.count("topics.last_days", days);
        let (state, text, progress) = match backfill.state {
            BackfillState::Superseded => return None,
            BackfillState::Queued => (
                "queued",
                t.fill("topics.backfill_queued", &[("period", period.as_str())]),
                None,
            ),
            BackfillState::Running => (
                "running",
                t.count_with(
                    "topics.backfill_running",
                    backfill.total,
                    &[("scanned", t.number(backfill.scanned).as_str())],
                ),
                Some((backfill.scanned.min(backfill.total), backfill.total.max(1))),
            ),
            BackfillState::Done => {
                let finished = backfill.finished_at.unwrap_or(backfill.created_at);
                if formats.now().0 - finished.0 > BACKFILL_SHOWN_MILLIS {
                    return None;
                }
                (
                    "done",
                    t.count_with(
                        "topics.backfill_done",
                        backfill.matched,
                        &[
                            ("period", period.as_str()),
                            ("scanned", t.number(backfill.scanned).as_str()),
                        ],
                    ),
                    None,
                )
            }
            BackfillState::Failed => ("failed", t.get("topics.backfill_failed").to_owned(), None),
        };
        Some(BackfillView {
            state,
            text,
            progress,
        })
    }

    fn in_progress(&self) -> bool {
        matches!(self.state, "queued" | "running")
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "topics.html")]
pub struct TopicsPage {
    t: Translator,
    shell: Shell,
    slug: String,
    cards: Vec<TopicCard>,
    can_configure: bool,
    period: String,
    /// Some backfill is queued or running: the cards refresh themselves.
    refreshing: bool,
}

pub async fn list(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<super::DoneQuery>,
) -> Result<TopicsPage, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Read).await?;
    let t = context.t();
    let formats = Formats::new(t, &access.workspace.time_zone, Timestamp::now());
    let store = state.store();
    let range = DayRange::last(&formats, CARD_DAYS);
    let per_day: BTreeMap<TopicId, Vec<i64>> = fold_topics(
        &formats,
        range,
        &store
            .mentions()
            .topic_histogram(
                access.workspace.id,
                &range.filter(&formats),
                bucket_width(&formats, range),
            )
            .await?,
    );
    let empty = vec![0; usize::try_from(range.days_count()).unwrap_or(0)];
    let mut backfills = topics::backfill_states(&state, &access).await?;
    let backfill_days = i64::from(state.listening().backfill_days);
    let cards: Vec<TopicCard> = store
        .topics()
        .list(access.workspace.id)
        .await?
        .into_iter()
        .map(|topic| {
            let days = per_day.get(&topic.id).unwrap_or(&empty);
            TopicCard {
                kind_label: kind_label(t, topic.kind),
                count: t.count("topics.mentions_count", days.iter().sum::<i64>()),
                spark: Sparkline::new(days),
                link: format!("/w/{slug}/mentions?topic={}&{}", topic.id, range.query()),
                backfill: backfills.remove(&topic.id).and_then(|backfill| {
                    BackfillView::of(&formats, &backfill, days_of(&backfill, backfill_days))
                }),
                topic,
            }
        })
        .collect();
    Ok(TopicsPage {
        t,
        shell: Shell::workspace(&state, &context, &access, "topics")
            .await?
            .with_toast(t, query.done.as_deref()),
        slug: access.workspace.slug.clone(),
        can_configure: access.allows(Permission::Configure),
        period: t.count("topics.last_days", CARD_DAYS),
        refreshing: cards.iter().any(|card| {
            card.backfill
                .as_ref()
                .is_some_and(BackfillView::in_progress)
        }),
        cards,
    })
}

/// The look-back of a backfill in whole days (its window, not today's setting,
/// which may have changed since).
fn days_of(backfill: &TopicBackfill, configured: i64) -> i64 {
    let millis = backfill.created_at.0 - backfill.window_from.0;
    match millis / 86_400_000 {
        days if days > 0 => days,
        _ => configured,
    }
}

/// What the editor's fields hold: a stored topic, or what the person typed.
pub struct TopicFields {
    name: String,
    kind: String,
    query: String,
    color: String,
    active: bool,
}

impl TopicFields {
    fn blank() -> TopicFields {
        TopicFields {
            name: String::new(),
            kind: TopicKind::Brand.as_str().to_owned(),
            query: String::new(),
            color: String::from("#1f6feb"),
            active: true,
        }
    }

    fn of(topic: &Topic) -> TopicFields {
        TopicFields {
            name: topic.name.clone(),
            kind: topic.kind.as_str().to_owned(),
            query: topic.query.clone(),
            color: topic.color.clone(),
            active: topic.active,
        }
    }

    fn typed(form: &TopicForm) -> TopicFields {
        TopicFields {
            name: form.name.clone(),
            kind: form.kind.clone(),
            query: form.query.clone(),
            color: form
                .color
                .clone()
                .filter(|color| !color.trim().is_empty())
                .unwrap_or_else(|| String::from("#1f6feb")),
            active: form.active.is_some(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "topic_editor.html")]
pub struct TopicEditor {
    t: Translator,
    shell: Shell,
    slug: String,
    kinds: Vec<KindOption>,
    /// The topic being edited; `None` for a new one.
    editing: Option<Topic>,
    fields: TopicFields,
    errors: FormErrors,
    /// "the last 90 days": how far back saving re-matches stored mentions.
    backfill_period: String,
}

async fn editor(
    state: &AppState,
    context: &RequestContext,
    access: &WorkspaceAccess,
    editing: Option<Topic>,
    fields: TopicFields,
    errors: FormErrors,
) -> Result<TopicEditor, AppError> {
    let t = context.t();
    Ok(TopicEditor {
        t,
        shell: Shell::workspace(state, context, access, "topics").await?,
        slug: access.workspace.slug.clone(),
        kinds: kind_options(t),
        editing,
        fields,
        errors,
        backfill_period: t.count(
            "topics.last_days",
            i64::from(state.listening().backfill_days),
        ),
    })
}

pub async fn new(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<TopicEditor, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    editor(
        &state,
        &context,
        &access,
        None,
        TopicFields::blank(),
        FormErrors::none(),
    )
    .await
}

pub async fn edit(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<TopicEditor, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let topic = state
        .store()
        .topics()
        .get(access.workspace.id, TopicId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let fields = TopicFields::of(&topic);
    editor(
        &state,
        &context,
        &access,
        Some(topic),
        fields,
        FormErrors::none(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct TopicForm {
    name: String,
    kind: String,
    query: String,
    #[serde(default)]
    color: Option<String>,
    #[serde(default)]
    active: Option<String>,
}

impl TopicForm {
    fn input(&self) -> Result<TopicInput, AppError> {
        let kind = TopicKind::from_code(self.kind.trim())
            .ok_or_else(|| AppError::field("kind", "validation.topic_kind"))?;
        Ok(TopicInput {
            name: self.name.clone(),
            kind,
            query: self.query.clone(),
            color: self.color.clone(),
            active: self.active.is_some(),
        })
    }
}

/// Where a taken name goes: under the name field.
fn conflict_field(what: &'static str) -> Option<&'static str> {
    matches!(what, "topic_name" | "name").then_some("name")
}

/// The editor again, with what was typed and why it was refused (422), or the
/// error itself when the person cannot fix it in the form.
async fn refused(
    state: &AppState,
    context: &RequestContext,
    access: &WorkspaceAccess,
    editing: Option<Topic>,
    form: &TopicForm,
    error: AppError,
) -> Result<Response, AppError> {
    let errors = FormErrors::from_error(context.t(), error, conflict_field)?;
    let page = editor(
        state,
        context,
        access,
        editing,
        TopicFields::typed(form),
        errors,
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    WebForm(form): WebForm<TopicForm>,
) -> Result<Response, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let created = match form.input() {
        Ok(input) => topics::create(&state, &access, &caller.user, &input, context.lang).await,
        Err(error) => Err(error),
    };
    match created {
        Ok(_) => Ok(Redirect::to(&format!("/w/{slug}/topics?done=topic_created")).into_response()),
        Err(error) => refused(&state, &context, &access, None, &form, error).await,
    }
}

pub async fn update(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
    WebForm(form): WebForm<TopicForm>,
) -> Result<Response, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let topic = state
        .store()
        .topics()
        .get(access.workspace.id, TopicId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let updated = match form.input() {
        Ok(input) => {
            topics::update(
                &state,
                &access,
                &caller.user,
                TopicId(id),
                &input,
                context.lang,
            )
            .await
        }
        Err(error) => Err(error),
    };
    match updated {
        Ok(_) => Ok(Redirect::to(&format!("/w/{slug}/topics?done=topic_updated")).into_response()),
        Err(error) => refused(&state, &context, &access, Some(topic), &form, error).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    active: String,
}

/// Pauses or resumes a topic from its card, keeping everything else.
pub async fn set_active(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
    WebForm(form): WebForm<ActiveForm>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let topic = state
        .store()
        .topics()
        .get(access.workspace.id, TopicId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let active = form.active == "true";
    let input = TopicInput {
        name: topic.name.clone(),
        kind: topic.kind,
        query: topic.query.clone(),
        color: Some(topic.color.clone()),
        active,
    };
    topics::update(
        &state,
        &access,
        &caller.user,
        topic.id,
        &input,
        context.lang,
    )
    .await?;
    let done = if active {
        "topic_resumed"
    } else {
        "topic_paused"
    };
    Ok(Redirect::to(&format!("/w/{slug}/topics?done={done}")))
}

pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    topics::delete(&state, &access, &caller.user, TopicId(id)).await?;
    Ok(Redirect::to(&format!(
        "/w/{slug}/topics?done=topic_deleted"
    )))
}

#[derive(Debug, Deserialize)]
pub struct TestForm {
    #[serde(default)]
    query: String,
    #[serde(default)]
    text: Option<String>,
}

/// The live test's fragment (`_topic_test.html`), swapped in by htmx.
#[derive(Template, WebTemplate)]
#[template(path = "_topic_test.html")]
pub struct TestFragment {
    t: Translator,
    error: Option<(String, String)>,
    result: Option<TestResult>,
}

pub async fn test(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    WebForm(form): WebForm<TestForm>,
) -> Result<TestFragment, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    let t = context.t();
    if form.query.trim().is_empty() {
        return Ok(TestFragment {
            t,
            error: None,
            result: None,
        });
    }
    let outcome = topics::test_query(
        &state,
        &access,
        &form.query,
        form.text.as_deref(),
        context.lang,
    )
    .await?;
    Ok(match outcome {
        TestOutcome::Invalid { message, caret } => TestFragment {
            t,
            error: Some((message, caret)),
            result: None,
        },
        TestOutcome::Valid(result) => TestFragment {
            t,
            error: None,
            result: Some(*result),
        },
    })
}
