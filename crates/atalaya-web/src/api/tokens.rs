//! The caller's personal API tokens. Creating one needs an existing credential
//! (a session or another token); the new token is in the response once.

use atalaya_domain::{ApiTokenId, Timestamp};
use atalaya_store::ApiTokenInfo;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::{AppError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, CurrentUser};

/// What is kept about a token: never the token itself.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: ApiTokenId,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl From<ApiTokenInfo> for TokenView {
    fn from(info: ApiTokenInfo) -> TokenView {
        TokenView {
            id: info.id,
            name: info.name,
            created_at: info.created_at,
            last_used_at: info.last_used_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    /// A name to recognise the token by, e.g. "reporting script".
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The token (`atl_...`). Shown only in this response; store it now.
    pub token: String,
    #[serde(flatten)]
    pub info: TokenView,
}

#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "account",
    responses(
        (status = 200, description = "The caller's tokens", body = [TokenView]),
        (status = 401, description = "No valid credentials", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
) -> Result<Json<Vec<TokenView>>, AppError> {
    let tokens = state
        .store()
        .api_tokens()
        .list_for_user(caller.user.id)
        .await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "account",
    request_body = NewToken,
    responses(
        (status = 201, description = "Created; the token is shown once", body = CreatedToken),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 422, description = "Invalid name", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), AppError> {
    let (token, info) = crate::tokens::create(&state, &caller.user, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token,
            info: info.into(),
        }),
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{token_id}",
    tag = "account",
    params(("token_id" = i64, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such token of the caller's", body = ErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(token_id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    crate::tokens::revoke(&state, &caller.user, ApiTokenId(token_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
