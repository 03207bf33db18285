//! The audit-log actions this crate records. Each has a translated label
//! (`audit.<action>` in the catalogues); actions recorded by other crates are
//! shown as their raw name until they add a label.

pub const WORKSPACE_CREATED: &str = "workspace.created";
pub const WORKSPACE_LANGUAGES_CHANGED: &str = "workspace.languages_changed";
pub const MEMBER_ADDED: &str = "member.added";
pub const MEMBER_ROLE_CHANGED: &str = "member.role_changed";
pub const MEMBER_REMOVED: &str = "member.removed";
pub const INSTANCE_SET_UP: &str = "instance.set_up";
pub const PASSWORD_CHANGED: &str = "account.password_changed";
pub const LANGUAGE_CHANGED: &str = "account.language_changed";
pub const TOKEN_CREATED: &str = "token.created";
pub const TOKEN_REVOKED: &str = "token.revoked";
pub const TOPIC_CREATED: &str = "topic.created";
pub const TOPIC_UPDATED: &str = "topic.updated";
pub const TOPIC_DELETED: &str = "topic.deleted";
pub const SOURCE_CREATED: &str = "source.created";
pub const SOURCE_UPDATED: &str = "source.updated";
pub const SOURCE_ARCHIVED: &str = "source.archived";
pub const SENTIMENT_CORRECTED: &str = "mention.sentiment_corrected";
pub const VIEW_SAVED: &str = "view.saved";
pub const VIEW_DELETED: &str = "view.deleted";
pub const IMPORT_STARTED: &str = "import.started";
pub const ACCOUNT_CONNECTED: &str = "account.connect";
pub const ACCOUNT_DISCONNECTED: &str = "account.disconnect";
pub const WORKSPACE_SETTINGS_CHANGED: &str = "workspace.settings_changed";
pub const INVITATION_CREATED: &str = "invitation.created";
pub const INVITATION_REVOKED: &str = "invitation.revoked";
pub const INVITATION_ACCEPTED: &str = "invitation.accepted";

pub const ALL: [&str; 26] = [
    WORKSPACE_CREATED,
    WORKSPACE_LANGUAGES_CHANGED,
    MEMBER_ADDED,
    MEMBER_ROLE_CHANGED,
    MEMBER_REMOVED,
    INSTANCE_SET_UP,
    PASSWORD_CHANGED,
    LANGUAGE_CHANGED,
    TOKEN_CREATED,
    TOKEN_REVOKED,
    TOPIC_CREATED,
    TOPIC_UPDATED,
    TOPIC_DELETED,
    SOURCE_CREATED,
    SOURCE_UPDATED,
    SOURCE_ARCHIVED,
    SENTIMENT_CORRECTED,
    VIEW_SAVED,
    VIEW_DELETED,
    IMPORT_STARTED,
    ACCOUNT_CONNECTED,
    ACCOUNT_DISCONNECTED,
    WORKSPACE_SETTINGS_CHANGED,
    INVITATION_CREATED,
    INVITATION_REVOKED,
    INVITATION_ACCEPTED,
];
