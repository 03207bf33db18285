//! The audit-log actions this crate records. Each has a translated label
//! (`audit.<action>` in the catalogues); actions recorded by other crates are
//! shown as their raw name until they add a label.

pub const WORKSPACE_CREATED: &str = "workspace.created";
pub const MEMBER_ADDED: &str = "member.added";
pub const MEMBER_ROLE_CHANGED: &str = "member.role_changed";
pub const MEMBER_REMOVED: &str = "member.removed";
pub const INSTANCE_SET_UP: &str = "instance.set_up";
pub const PASSWORD_CHANGED: &str = "account.password_changed";
pub const LANGUAGE_CHANGED: &str = "account.language_changed";
pub const TOKEN_CREATED: &str = "token.created";
pub const TOKEN_REVOKED: &str = "token.revoked";

pub const ALL: [&str; 9] = [
    WORKSPACE_CREATED,
    MEMBER_ADDED,
    MEMBER_ROLE_CHANGED,
    MEMBER_REMOVED,
    INSTANCE_SET_UP,
    PASSWORD_CHANGED,
    LANGUAGE_CHANGED,
    TOKEN_CREATED,
    TOKEN_REVOKED,
];
