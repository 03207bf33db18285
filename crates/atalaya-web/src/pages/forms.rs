//! Forms that keep what the person typed when something is wrong: the page is
//! drawn again with their values and each problem under its field, instead of
//! an error page that loses the input.

use crate::error::{AppError, translate_field};
use crate::i18n::Translator;

/// Each field's problem, translated, plus an optional message for the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors {
    fields: Vec<(String, String)>,
    /// A problem that belongs to no single field.
    pub summary: Option<String>,
}

impl FormErrors {
    pub fn none() -> FormErrors {
        FormErrors::default()
    }

    /// The message under `field`, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, message)| message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.summary.is_none()
    }

    /// The fields with a problem, in order, for the summary at the top.
    pub fn messages(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(_, message)| message.as_str())
    }

    /// Turns an error the person can fix (invalid input, a taken name) into
    /// messages for the form; any other error is handed back unchanged, to be
    /// answered as usual. A conflict is put under the field `conflict_field`
    /// names for it (`slug` for a taken slug…).
    pub fn from_error(
        t: Translator,
        error: AppError,
        conflict_field: impl Fn(&'static str) -> Option<&'static str>,
    ) -> Result<FormErrors, AppError> {
        match error {
            AppError::InvalidInput { fields, .. } => {
                let summary = fields
                    .is_empty()
                    .then(|| t.get("error.invalid_input").to_owned());
                Ok(FormErrors {
                    fields: fields
                        .iter()
                        .map(|field| (field.field.clone(), translate_field(t, field)))
                        .collect(),
                    summary,
                })
            }
            AppError::Conflict { what } => {
                let message = t
                    .lookup(&format!("conflict.{what}"))
                    .unwrap_or(t.get("error.conflict"))
                    .to_owned();
                Ok(match conflict_field(what) {
                    Some(field) => FormErrors {
                        fields: vec![(field.to_owned(), message)],
                        summary: None,
                    },
                    None => FormErrors {
                        fields: Vec::new(),
                        summary: Some(message),
                    },
                })
            }
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atalaya_domain::UiLang;

    #[test]
    fn invalid_fields_are_kept_per_field_and_other_errors_pass_through() {
        let t = Translator::new(UiLang::Es);
        let errors =
            FormErrors::from_error(t, AppError::field("name", "validation.empty"), |_| None)
                .expect("invalid input becomes form errors");
        assert!(
            errors
                .get("name")
                .is_some_and(|message| !message.is_empty())
        );
        assert_eq!(errors.get("query"), None);
        let taken = FormErrors::from_error(t, AppError::Conflict { what: "slug" }, |what| {
            (what == "slug").then_some("slug")
        })
        .expect("a conflict becomes a form error");
        assert!(taken.get("slug").is_some());
        assert!(matches!(
            FormErrors::from_error(t, AppError::Forbidden, |_| None),
            Err(AppError::Forbidden)
        ));
    }
}
