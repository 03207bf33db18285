//! The living style guide (signed-in people): every component of the design
//! system, drawn with the real stylesheet, in the reader's language and
//! theme. The end-to-end suite checks it for overflow and accessibility like
//! any other page, so a component that breaks shows up here first.

use askama::Template;
use askama_web::WebTemplate;
use atalaya_domain::Timestamp;
use axum::extract::State;

use super::Shell;
use super::charts::{Chart, ChartSeries, Sparkline};
use super::forms::FormErrors;
use crate::AppState;
use crate::error::{AppError, FieldError};
use crate::extract::{Context, CurrentUser};
use crate::formats::{Formats, TimeLabel};
use crate::i18n::Translator;

#[derive(Template, WebTemplate)]
#[template(path = "styleguide.html")]
pub struct StyleguidePage {
    t: Translator,
    shell: Shell,
    errors: FormErrors,
    recent: TimeLabel,
    chart: Chart,
    spark: Sparkline,
    sample_count: String,
}

pub async fn show(
    State(state): State<AppState>,
    Context(context): Context,
    CurrentUser(_caller): CurrentUser,
) -> Result<StyleguidePage, AppError> {
    let t = context.t();
    let now = Timestamp::now();
    let formats = Formats::new(t, crate::formats::DEFAULT_TIME_ZONE, now);
    let errors = FormErrors::from_error(
        t,
        AppError::InvalidInput {
            fields: vec![FieldError::new("name", "validation.empty")],
            detail: None,
        },
        |_| None,
    )?;
    let days: Vec<String> = (0..14)
        .rev()
        .map(|back| {
            formats
                .day_of(now.plus_millis(-back * 86_400_000))
                .to_string()
        })
        .collect();
    let values = [3, 5, 4, 8, 6, 9, 12, 10, 7, 11, 14, 9, 13, 16];
    let chart = Chart {
        kind: "line",
        days,
        series: vec![
            ChartSeries {
                label: t.get("chart.this_period").to_owned(),
                values: values.to_vec(),
                tone: "primary",
                color: None,
            },
            ChartSeries {
                label: t.get("chart.previous_period").to_owned(),
                values: values.iter().map(|value| value * 2 / 3).collect(),
                tone: "previous",
                color: None,
            },
        ],
        date_label: t.get("chart.day").to_owned(),
        legend: true,
    };
    Ok(StyleguidePage {
        t,
        shell: Shell::signed_in(&state, &context).await?.at("/styleguide"),
        errors,
        recent: formats.label(now.plus_millis(-5 * 60_000)),
        spark: Sparkline::new(&values),
        chart,
        sample_count: t.number(12_345),
    })
}
