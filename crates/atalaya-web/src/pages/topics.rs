//! The topics pages: the list, the editor (new and existing) with its live
//! query test (htmx posts the query as the person types and swaps in the parse
//! error with a caret, or the count and first matches, highlighted).

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::{Permission, Topic, TopicId, TopicKind};
use axum::extract::State;
use axum::response::Redirect;
use serde::Deserialize;

use super::{DoneQuery, Shell, done_notice};
use crate::AppState;
use crate::access::require;
use crate::error::AppError;
use crate::extract::{ApiPath, ApiQuery, Context, CurrentUser, WebForm};
use crate::i18n::Translator;
use crate::listening::topics::{self, TestOutcome, TestResult, TopicInput};

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

pub struct TopicRow {
    topic: Topic,
    kind_label: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "topics.html")]
pub struct TopicsPage {
    t: Translator,
    shell: Shell,
    slug: String,
    topics: Vec<TopicRow>,
    can_configure: bool,
    kinds: Vec<KindOption>,
    /// The topic being edited; `None` for the "new topic" form.
    editing: Option<Topic>,
    notice: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<DoneQuery>,
) -> Result<TopicsPage, AppError> {
    render(
        &state,
        &context,
        &caller.user,
        &slug,
        None,
        query.done.as_deref(),
    )
    .await
}

pub async fn edit(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
) -> Result<TopicsPage, AppError> {
    render(
        &state,
        &context,
        &caller.user,
        &slug,
        Some(TopicId(id)),
        None,
    )
    .await
}

async fn render(
    state: &AppState,
    context: &crate::session::RequestContext,
    user: &atalaya_domain::User,
    slug: &str,
    editing: Option<TopicId>,
    done: Option<&str>,
) -> Result<TopicsPage, AppError> {
    let permission = if editing.is_some() {
        Permission::Configure
    } else {
        Permission::Read
    };
    let access = require(state, user, slug, permission).await?;
    let t = context.t();
    let list = state.store().topics().list(access.workspace.id).await?;
    let editing = match editing {
        Some(id) => Some(
            list.iter()
                .find(|topic| topic.id == id)
                .cloned()
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    Ok(TopicsPage {
        t,
        shell: Shell::from_context(context).in_workspace(&access, "topics"),
        slug: access.workspace.slug.clone(),
        topics: list
            .into_iter()
            .map(|topic| TopicRow {
                kind_label: kind_label(t, topic.kind),
                topic,
            })
            .collect(),
        can_configure: access.allows(Permission::Configure),
        kinds: kind_options(t),
        editing,
        notice: done_notice(t, done),
    })
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
    fn input(self) -> Result<TopicInput, AppError> {
        let kind = TopicKind::from_code(self.kind.trim())
            .ok_or_else(|| AppError::field("kind", "validation.topic_kind"))?;
        Ok(TopicInput {
            name: self.name,
            kind,
            query: self.query,
            color: self.color,
            active: self.active.is_some(),
        })
    }
}

pub async fn create(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath(slug): ApiPath<String>,
    WebForm(form): WebForm<TopicForm>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    topics::create(&state, &access, &caller.user, &form.input()?, context.lang).await?;
    Ok(Redirect::to(&format!(
        "/w/{slug}/topics?done=topic_created"
    )))
}

pub async fn update(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(caller): CurrentUser,
    ApiPath((slug, id)): ApiPath<(String, i64)>,
    WebForm(form): WebForm<TopicForm>,
) -> Result<Redirect, AppError> {
    let access = require(&state, &caller.user, &slug, Permission::Configure).await?;
    topics::update(
        &state,
        &access,
        &caller.user,
        TopicId(id),
        &form.input()?,
        context.lang,
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/w/{slug}/topics?done=topic_updated"
    )))
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
