//! Workspace roles and what each may do.
//!
//! The server checks a [`Permission`] on every route; the role → permission table
//! below is the single place that decides who may do what.

use serde::{Deserialize, Serialize};

/// A user's role within one workspace, from most to least powerful.
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
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including members, roles and workspace settings.
    Admin,
    /// Configures listening, sources, strategy; approves content.
    Manager,
    /// Works the inbox: answers, assigns, tags, corrects labels.
    Agent,
    /// Proposes content and notes; cannot publish or configure.
    Contributor,
    /// Reads dashboards and mentions.
    Viewer,
}

/// Something a route may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See the workspace's dashboards, mentions and reports.
    Read,
    /// Add notes, propose drafts.
    Contribute,
    /// Handle conversations, correct sentiment, tag mentions.
    Engage,
    /// Configure topics, sources, strategy, routing; approve content.
    Configure,
    /// Manage members and roles, workspace settings, destructive actions.
    Administer,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected admin, manager, agent, contributor or viewer")]
pub struct UnknownRole(pub String);

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Manager,
        Role::Agent,
        Role::Contributor,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Agent => "agent",
            Role::Contributor => "contributor",
            Role::Viewer => "viewer",
        }
    }

    /// Whether this role grants `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        let needed = match permission {
            Permission::Read => Role::Viewer,
            Permission::Contribute => Role::Contributor,
            Permission::Engage => Role::Agent,
            Permission::Configure => Role::Manager,
            Permission::Administer => Role::Admin,
        };
        // Roles are declared from most to least powerful.
        self <= needed
    }
}

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_permission_table() {
        use Permission::*;
        let table: [(Role, [bool; 5]); 5] = [
            (Role::Admin, [true, true, true, true, true]),
            (Role::Manager, [true, true, true, true, false]),
            (Role::Agent, [true, true, true, false, false]),
            (Role::Contributor, [true, true, false, false, false]),
            (Role::Viewer, [true, false, false, false, false]),
        ];
        for (role, expected) in table {
            let got = [Read, Contribute, Engage, Configure, Administer].map(|p| role.allows(p));
            assert_eq!(got, expected, "{role}");
        }
    }

    #[test]
    fn roles_parse_case_insensitively_and_reject_unknown() {
        assert_eq!("Manager".parse::<Role>(), Ok(Role::Manager));
        assert!("owner".parse::<Role>().is_err());
    }
}
