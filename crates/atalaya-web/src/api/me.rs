//! `GET /api/v1/me`: who the credentials belong to.

use atalaya_domain::User;
use axum::Json;

use crate::error::{AppError, ErrorBody};
use crate::extract::CurrentUser;

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "account",
    responses(
        (status = 200, description = "The signed-in user", body = User),
        (status = 401, description = "No valid credentials", body = ErrorBody),
    )
)]
pub async fn me(CurrentUser(caller): CurrentUser) -> Result<Json<User>, AppError> {
    Ok(Json(caller.user))
}
