//! A workspace's languages: the languages its mentions are mostly written in.
//! The ingest pipeline places a text too short to identify among them instead
//! of guessing it confidently into another language. Managers and admins read
//! and change them; a change is audited and reaches the pipeline within a
//! minute (it reloads a workspace's model that often).

use atalaya_domain::{Permission, User};
use atalaya_text::Lang;

use super::audit;
use crate::AppState;
use crate::access::WorkspaceAccess;
use crate::audit_actions;
use crate::error::{AppError, FieldError};

/// Every code the language model knows, as the settings page offers them.
pub fn known() -> Vec<&'static str> {
    Lang::KNOWN.iter().map(|lang| lang.code()).collect()
}

/// The codes, lower-cased and in the order given, if they are one or more
/// distinct languages the model knows.
pub fn validate(codes: &[String]) -> Result<Vec<String>, AppError> {
    let mut languages: Vec<String> = Vec::with_capacity(codes.len());
    let mut valid = !codes.is_empty();
    for code in codes {
        let lang = Lang::from_code(code);
        if lang == Lang::Unknown || languages.iter().any(|known| known == lang.code()) {
            valid = false;
            break;
        }
        languages.push(lang.code().to_owned());
    }
    if valid {
        return Ok(languages);
    }
    let mut error = FieldError::new("languages", "validation.languages");
    error.args.push(("known", known().join(", ")));
    Err(AppError::InvalidInput {
        fields: vec![error],
        detail: None,
    })
}

pub fn get(access: &WorkspaceAccess) -> Result<Vec<String>, AppError> {
    access.ensure(Permission::Configure)?;
    Ok(access.workspace.languages.clone())
}

pub async fn update(
    state: &AppState,
    access: &WorkspaceAccess,
    actor: &User,
    codes: &[String],
) -> Result<Vec<String>, AppError> {
    access.ensure(Permission::Configure)?;
    let languages = validate(codes)?;
    let workspace = state
        .store()
        .workspaces()
        .set_languages(access.workspace.id, &languages)
        .await?;
    audit(
        state,
        access,
        actor,
        audit_actions::WORKSPACE_LANGUAGES_CHANGED,
        &workspace.slug,
        serde_json::json!({ "from": access.workspace.languages, "to": workspace.languages }),
    )
    .await?;
    Ok(workspace.languages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(codes: &[&str], expected: Option<&[&str]>) {
        let codes: Vec<String> = codes.iter().map(|code| (*code).to_owned()).collect();
        let got = validate(&codes).ok();
        let expected = expected.map(|codes| codes.iter().map(|code| (*code).to_owned()).collect());
        assert_eq!(got, expected, "{codes:?}");
    }

    #[test]
    fn languages_are_known_distinct_codes() {
        check(&["es", "en"], Some(&["es", "en"]));
        check(&[" PT ", "es"], Some(&["pt", "es"]));
        check(&["ca"], Some(&["ca"]));
        check(&[], None);
        check(&["es", "es"], None);
        check(&["es", "ES"], None);
        check(&["xx"], None);
        check(&["und"], None);
        check(&["es-ES"], None);
    }
}
