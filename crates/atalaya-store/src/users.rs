//! People who can sign in. Password hashes (argon2id, computed by the caller) are
//! stored as opaque strings and only read back through [`Users::password_hash`], so
//! a `User` never carries one around.

use atalaya_domain::{Theme, Timestamp, UiLang, User, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::dialect::get_bool;
use crate::{Store, StoreError, map_conflict};

/// The columns [`user_from_row`] reads, in `SELECT` order.
macro_rules! user_columns {
    () => {
        "users.id, users.username, users.email, users.display_name, users.ui_lang, users.theme, users.is_instance_admin, users.created_at"
    };
}
pub(crate) use user_columns;

/// A user to create. `username` should already be validated (lower case).
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub is_instance_admin: bool,
}

/// The `users` table.
pub struct Users<'s> {
    pub(crate) store: &'s Store,
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    let ui_lang: Option<String> = row.try_get("ui_lang")?;
    let ui_lang = match ui_lang {
        None => None,
        Some(code) => Some(
            UiLang::from_code(&code).ok_or_else(|| StoreError::CorruptValue {
                column: "users.ui_lang",
                message: format!("unknown language {code:?}"),
            })?,
        ),
    };
    let theme: Option<String> = row.try_get("theme")?;
    let theme = match theme {
        None => None,
        Some(code) => Some(
            Theme::from_code(&code).ok_or_else(|| StoreError::CorruptValue {
                column: "users.theme",
                message: format!("unknown theme {code:?}"),
            })?,
        ),
    };
    Ok(User {
        id: UserId(row.try_get("id")?),
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        ui_lang,
        theme,
        is_instance_admin: get_bool(row, "is_instance_admin")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

impl Users<'_> {
    /// Creates a user. A taken username or email is `Conflict { what: "username" | "email" }`.
    pub async fn create(&self, new: NewUser<'_>) -> Result<User, StoreError> {
        let row = sqlx::query(concat!(
            "INSERT INTO users (username, email, display_name, password_hash, is_instance_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            user_columns!()
        ))
        .bind(new.username)
        .bind(new.email)
        .bind(new.display_name)
        .bind(new.password_hash)
        .bind(new.is_instance_admin)
        .bind(Timestamp::now().millis())
        .fetch_one(self.store.pool())
        .await
        .map_err(|error| map_conflict(error, &["username", "email"]))?;
        user_from_row(&row)
    }

    pub async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(id.get())
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Finds a user by username. Usernames are stored lower case, so the lookup is
    /// case-insensitive for ASCII input.
    pub async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE username = $1"
        ))
        .bind(username.trim().to_lowercase())
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn password_hash(&self, id: UserId) -> Result<Option<String>, StoreError> {
        let hash = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(id.get())
            .fetch_optional(self.store.pool())
            .await?;
        Ok(hash)
    }

    /// Every user, by username.
    pub async fn list(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users ORDER BY username"
        ))
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn count(&self) -> Result<i64, StoreError> {
        let count = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.store.pool())
            .await?;
        Ok(count)
    }

    pub async fn set_password_hash(
        &self,
        id: UserId,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id.get())
            .execute(self.store.pool())
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        Ok(())
    }

    /// Sets the interface language; `None` follows the browser again.
    pub async fn set_ui_lang(&self, id: UserId, ui_lang: Option<UiLang>) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE users SET ui_lang = $1 WHERE id = $2")
            .bind(ui_lang.map(UiLang::code))
            .bind(id.get())
            .execute(self.store.pool())
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        Ok(())
    }

    /// Sets the colour theme; `None` follows the operating system again.
    pub async fn set_theme(&self, id: UserId, theme: Option<Theme>) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE users SET theme = $1 WHERE id = $2")
            .bind(theme.map(Theme::as_str))
            .bind(id.get())
            .execute(self.store.pool())
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        Ok(())
    }
}
