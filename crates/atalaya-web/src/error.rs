//! One error type for every handler, with a stable machine-readable code per
//! variant.
//!
//! A handler returns [`AppError`]; its `IntoResponse` sets the status and attaches
//! an [`ErrorReport`] to the response. The request middleware
//! ([`crate::session`]) then renders that report in the caller's language: as
//! JSON (`{"error":{"code":..,"message":..}}`) under `/api`, as an HTML page
//! elsewhere. Server errors are logged here, once, and their details never reach
//! the client. Axum's own rejections (bad JSON, bad form, bad path) are mapped into
//! the same format by the extractors in [`crate::extract`].

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::i18n::Translator;

/// One problem with one input field. The message is a catalogue key, rendered
/// in the caller's language when the response is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message_key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message_key: &'static str) -> FieldError {
        FieldError {
            field: field.into(),
            message_key,
            args: Vec::new(),
        }
    }
}

impl From<atalaya_domain::ValidationError> for FieldError {
    fn from(error: atalaya_domain::ValidationError) -> FieldError {
        use atalaya_domain::ValidationError as V;
        let (key, args) = match &error {
            V::Empty { .. } => ("validation.empty", Vec::new()),
            V::TooLong { max, .. } => ("validation.too_long", vec![("max", max.to_string())]),
            V::TooShort { min, .. } => ("validation.too_short", vec![("min", min.to_string())]),
            V::InvalidCharacters { field, .. } => match *field {
                "username" => ("validation.username_characters", Vec::new()),
                "slug" => ("validation.slug_characters", Vec::new()),
                _ => ("validation.characters", Vec::new()),
            },
            V::InvalidEmail { .. } => ("validation.email", Vec::new()),
        };
        FieldError {
            field: error.field().to_owned(),
            message_key: key,
            args,
        }
    }
}

/// Everything that can go wrong in a request, named for what the client can do
/// about it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign-in required")]
    Unauthenticated,
    #[error("not allowed for this role")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("CSRF token missing")]
    CsrfMissing,
    #[error("CSRF token invalid")]
    CsrfInvalid,
    /// A state-changing request a browser says comes from another site
    /// (`Origin`, `Sec-Fetch-Site`), whatever token it carries.
    #[error("cross-origin request refused")]
    CrossOrigin,
    #[error("malformed request body: {detail}")]
    MalformedBody { detail: String },
    #[error("unsupported media type: {detail}")]
    UnsupportedMediaType { detail: String },
    #[error("invalid input")]
    InvalidInput {
        fields: Vec<FieldError>,
        detail: Option<String>,
    },
    #[error("body larger than {max_bytes} bytes")]
    PayloadTooLarge { max_bytes: u64 },
    #[error("too many attempts")]
    RateLimited { retry_after_secs: u64 },
    #[error("conflict: {what}")]
    Conflict { what: &'static str },
    #[error("internal error: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    /// A single invalid field.
    pub fn field(field: impl Into<String>, message_key: &'static str) -> AppError {
        AppError::InvalidInput {
            fields: vec![FieldError::new(field, message_key)],
            detail: None,
        }
    }

    /// Shorthand for wrapping any unexpected failure.
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> AppError {
        AppError::Internal(Box::new(error))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden
            | AppError::CsrfMissing
            | AppError::CsrfInvalid
            | AppError::CrossOrigin => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::MalformedBody { .. } => StatusCode::BAD_REQUEST,
            AppError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::InvalidInput { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients may match on. Never rename one.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not_found",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::CsrfMissing => "csrf_missing",
            AppError::CsrfInvalid => "csrf_invalid",
            AppError::CrossOrigin => "cross_origin",
            AppError::MalformedBody { .. } => "malformed_body",
            AppError::UnsupportedMediaType { .. } => "unsupported_media_type",
            AppError::InvalidInput { .. } => "invalid_input",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Conflict { .. } => "conflict",
            AppError::Internal(_) => "internal",
        }
    }
}

/// Every code [`AppError::code`] can return, so that tests can check each has a
/// translated message.
pub const ERROR_CODES: [&str; 14] = [
    "unauthenticated",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "csrf_missing",
    "csrf_invalid",
    "cross_origin",
    "malformed_body",
    "unsupported_media_type",
    "invalid_input",
    "payload_too_large",
    "rate_limited",
    "conflict",
    "internal",
];

impl From<atalaya_store::StoreError> for AppError {
    fn from(error: atalaya_store::StoreError) -> AppError {
        match error {
            atalaya_store::StoreError::Conflict { what } => AppError::Conflict { what },
            atalaya_store::StoreError::NotFound { .. } => AppError::NotFound,
            other => AppError::internal(other),
        }
    }
}

impl From<atalaya_domain::ValidationError> for AppError {
    fn from(error: atalaya_domain::ValidationError) -> AppError {
        AppError::InvalidInput {
            fields: vec![error.into()],
            detail: None,
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> AppError {
        let detail = rejection.body_text();
        match rejection {
            JsonRejection::JsonDataError(_) => AppError::InvalidInput {
                fields: Vec::new(),
                detail: Some(detail),
            },
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType { detail },
            _ => AppError::MalformedBody { detail },
        }
    }
}

impl From<FormRejection> for AppError {
    fn from(rejection: FormRejection) -> AppError {
        let detail = rejection.body_text();
        match rejection {
            FormRejection::InvalidFormContentType(_) => AppError::UnsupportedMediaType { detail },
            FormRejection::FailedToDeserializeForm(_)
            | FormRejection::FailedToDeserializeFormBody(_) => AppError::InvalidInput {
                fields: Vec::new(),
                detail: Some(detail),
            },
            _ => AppError::MalformedBody { detail },
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> AppError {
        AppError::InvalidInput {
            fields: Vec::new(),
            detail: Some(rejection.body_text()),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(_: PathRejection) -> AppError {
        // A path segment that does not parse (say, a non-numeric id) names no
        // resource: that is "not found", not a server error.
        AppError::NotFound
    }
}

/// What a response carries about its error until the middleware renders it in
/// the right language and format.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub status: StatusCode,
    pub code: &'static str,
    pub fields: Vec<FieldError>,
    pub detail: Option<String>,
    pub retry_after_secs: Option<u64>,
    pub conflict_what: Option<&'static str>,
}

impl ErrorReport {
    /// The translated one-line message for this error.
    pub fn message(&self, t: Translator) -> String {
        if self.code == "rate_limited" {
            let seconds = self.retry_after_secs.unwrap_or(60).max(1);
            if seconds < 60 {
                return t.count(
                    "error.rate_limited_seconds",
                    i64::try_from(seconds).unwrap_or(59),
                );
            }
            let minutes = seconds.div_ceil(60);
            return t.fill("error.rate_limited", &[("minutes", &minutes.to_string())]);
        }
        if let Some(what) = self.conflict_what
            && let Some(message) = t.lookup(&format!("conflict.{what}"))
        {
            return message.to_owned();
        }
        t.lookup(&format!("error.{}", self.code))
            .unwrap_or(self.code)
            .to_owned()
    }

    /// The JSON body of an API error.
    pub fn to_json(&self, t: Translator) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message(t),
                fields: self
                    .fields
                    .iter()
                    .map(|field| FieldErrorBody {
                        field: field.field.clone(),
                        message: translate_field(t, field),
                    })
                    .collect(),
                detail: self.detail.clone(),
            },
        }
    }

    /// A JSON response for this report.
    pub fn json_response(&self, t: Translator) -> Response {
        let mut response = (self.status, axum::Json(self.to_json(t))).into_response();
        self.add_headers(&mut response);
        response
    }

    pub(crate) fn add_headers(&self, response: &mut Response) {
        if let Some(secs) = self.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
}

/// A field error's message in the caller's language.
pub fn translate_field(t: Translator, field: &FieldError) -> String {
    let args: Vec<(&str, &str)> = field
        .args
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    t.fill(field.message_key, &args)
}

/// The error format of the JSON API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `unauthenticated`, `csrf_missing`, `invalid_input`.
    pub code: String,
    /// Human-readable message in the negotiated language.
    pub message: String,
    /// Per-field problems, for `invalid_input`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldErrorBody>,
    /// Parser detail for malformed input, when it helps the client fix the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(source) = &self {
            // The one place a server error is logged; the client sees only "internal".
            tracing::error!(error = %source, "request failed");
        }
        let (fields, detail) = match &self {
            AppError::InvalidInput { fields, detail } => (fields.clone(), detail.clone()),
            AppError::MalformedBody { detail } | AppError::UnsupportedMediaType { detail } => {
                (Vec::new(), Some(detail.clone()))
            }
            _ => (Vec::new(), None),
        };
        let report = ErrorReport {
            status: self.status(),
            code: self.code(),
            fields,
            detail,
            retry_after_secs: match &self {
                AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
                _ => None,
            },
            conflict_what: match &self {
                AppError::Conflict { what } => Some(*what),
                _ => None,
            },
        };
        // Rendered in English JSON here; the middleware re-renders it in the
        // caller's language and, outside /api, as an HTML page.
        let mut response = report.json_response(Translator::new(atalaya_domain::UiLang::En));
        response.extensions_mut().insert(report);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::needless_pass_by_value)] // Reads better in the table below.
    fn check(error: AppError, expected: (u16, &str)) {
        assert_eq!((error.status().as_u16(), error.code()), expected);
    }

    #[test]
    fn status_and_code_per_variant() {
        check(AppError::Unauthenticated, (401, "unauthenticated"));
        check(AppError::Forbidden, (403, "forbidden"));
        check(AppError::NotFound, (404, "not_found"));
        check(AppError::MethodNotAllowed, (405, "method_not_allowed"));
        check(AppError::CsrfMissing, (403, "csrf_missing"));
        check(AppError::CsrfInvalid, (403, "csrf_invalid"));
        check(AppError::CrossOrigin, (403, "cross_origin"));
        check(
            AppError::MalformedBody {
                detail: String::new(),
            },
            (400, "malformed_body"),
        );
        check(
            AppError::UnsupportedMediaType {
                detail: String::new(),
            },
            (415, "unsupported_media_type"),
        );
        check(
            AppError::field("username", "validation.empty"),
            (422, "invalid_input"),
        );
        check(
            AppError::RateLimited {
                retry_after_secs: 5,
            },
            (429, "rate_limited"),
        );
        check(AppError::Conflict { what: "username" }, (409, "conflict"));
        check(
            AppError::PayloadTooLarge { max_bytes: 10 },
            (413, "payload_too_large"),
        );
        check(
            AppError::internal(std::io::Error::other("disk")),
            (500, "internal"),
        );
    }

    #[test]
    fn internal_errors_hide_their_details() {
        let response =
            AppError::internal(std::io::Error::other("secret path /var/db")).into_response();
        let report = response.extensions().get::<ErrorReport>().cloned();
        let body = report.map(|report| report.to_json(Translator::new(atalaya_domain::UiLang::En)));
        let text = serde_json::to_string(&body.map(|body| body.error.message)).unwrap_or_default();
        assert!(!text.contains("secret"), "{text}");
    }
}
