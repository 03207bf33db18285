//! Atalaya's domain: the nouns every other crate speaks in.
//!
//! Ids are newtypes so a `UserId` can never be passed where a `WorkspaceId` is
//! expected; roles carry their permissions; validation lives next to the type
//! it protects. Nothing here does I/O, so every other crate may depend on it.

mod ids;
mod invitations;
mod listening;
pub mod mail;
mod network;
mod roles;
mod validation;

pub use ids::*;
pub use invitations::{INVITATION_TTL, Invitation, InvitationStatus};
pub use listening::*;
pub use network::*;
pub use roles::{Permission, Role, UnknownRole};
pub use validation::{
    ValidationError, validate_display_name, validate_email, validate_password, validate_slug,
    validate_username,
};

use serde::{Deserialize, Serialize};

/// A language the interface is offered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UiLang {
    Es,
    En,
}

impl UiLang {
    pub const ALL: [UiLang; 2] = [UiLang::Es, UiLang::En];

    pub fn code(self) -> &'static str {
        match self {
            UiLang::Es => "es",
            UiLang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<UiLang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "es" => Some(UiLang::Es),
            "en" => Some(UiLang::En),
            _ => None,
        }
    }
}

/// A colour theme of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn from_code(code: &str) -> Option<Theme> {
        match code.trim() {
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }
}

/// Milliseconds since the Unix epoch, UTC. Stored as a 64-bit integer on every
/// backend so that SQLite and PostgreSQL compare and sort times identically.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time from the system clock.
    pub fn now() -> Timestamp {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    #[must_use]
    pub fn plus_millis(self, millis: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(millis))
    }
}

/// A workspace: one brand or organisation. An agency runs several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub is_demo: bool,
    /// The IANA time zone (`Europe/Madrid`) every time in the interface is shown
    /// and entered in; `UTC` until someone chooses.
    pub time_zone: String,
    pub created_at: Timestamp,
    /// The languages its mentions are mostly written in (ISO 639-1 codes, in
    /// order of preference): a text too short to identify is taken to be in one
    /// of them rather than guessed confidently into another.
    pub languages: Vec<String>,
}

/// The languages of a new workspace.
pub const DEFAULT_WORKSPACE_LANGUAGES: [&str; 2] = ["es", "en"];

/// A person who can sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub display_name: String,
    /// The interface language chosen by the user; `None` follows the browser.
    pub ui_lang: Option<UiLang>,
    /// The colour theme chosen by the user; `None` follows the operating system.
    pub theme: Option<Theme>,
    /// Instance administrators can create workspaces and manage every user.
    pub is_instance_admin: bool,
    pub created_at: Timestamp,
}

/// A user's role in one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Membership {
    pub workspace: Workspace,
    pub role: Role,
}
