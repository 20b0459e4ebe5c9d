//! Who is acting, and what each kind of actor may do. The engine checks every
//! change against [`Principal::may`]; the pages use the same table to show
//! only the buttons a person may press.

use serde::{Deserialize, Serialize};

/// A person's role (`aol operator add NAME --role …`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees everything, changes nothing.
    Viewer,
    /// Also writes, edits and decides on posts.
    Approver,
    /// Also flags, channels, policies, limits, people and agents.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Approver, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| format!("unknown role {s:?}: viewer, approver or admin"))
    }
}

/// What an actor may be allowed to do; each engine entry point needs one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    /// Read the queue, the actions, the channels and the history.
    View,
    /// Read the audit trail: every event, everyone's (people only).
    Audit,
    /// Add an action (a post) to the queue.
    Enqueue,
    /// Change a post's content before it is sent.
    Edit,
    /// Approve, reject, settle UNCONFIRMED, re-queue, cancel.
    Decide,
    /// The flags: PROOF/REAL, pause, kill.
    Control,
    /// Channels, policies, limits.
    Configure,
    /// People and agents.
    Manage,
}

impl Right {
    pub const ALL: [Right; 8] = [
        Right::View,
        Right::Audit,
        Right::Enqueue,
        Right::Edit,
        Right::Decide,
        Right::Control,
        Right::Configure,
        Right::Manage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Right::View => "view",
            Right::Audit => "read the audit trail",
            Right::Enqueue => "enqueue",
            Right::Edit => "edit",
            Right::Decide => "decide",
            Right::Control => "control the flags",
            Right::Configure => "configure channels and policies",
            Right::Manage => "manage people and agents",
        }
    }

    /// The least role that holds this right.
    pub fn least_role(self) -> Role {
        match self {
            Right::View | Right::Audit => Role::Viewer,
            Right::Enqueue | Right::Edit | Right::Decide => Role::Approver,
            Right::Control | Right::Configure | Right::Manage => Role::Admin,
        }
    }
}

/// Who is acting: named in every record it leaves, and checked by the engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    /// A named person (`aol operator add`), with their role.
    Person { name: String, role: Role },
    /// The break-glass administrator: whoever holds AOL_OPERATOR_TOKEN (or
    /// the token generated at first start).
    OperatorToken,
    /// The command line without a person's token (AOL_TOKEN): it holds the
    /// database's address, so it may do anything; named by the OS user.
    Console { user: String },
    /// An agent (`aol token agent-add`): enqueues, and sees and edits only
    /// its own actions.
    Agent { name: String },
    /// AOL itself: start-up, the daemon, maintenance, tests.
    System { name: String },
}

impl Principal {
    pub fn system(name: &str) -> Principal {
        Principal::System { name: name.to_string() }
    }

    pub fn person(name: &str, role: Role) -> Principal {
        Principal::Person { name: name.to_string(), role }
    }

    /// As it is recorded (`decided_by`, `changed_by`, `updated_by`): a
    /// person by their name (names hold no ':'), anyone else with a prefix.
    pub fn label(&self) -> String {
        match self {
            Principal::Person { name, .. } => name.clone(),
            Principal::OperatorToken => "operator-token".to_string(),
            Principal::Console { user } => format!("cli:{user}"),
            Principal::Agent { name } => format!("agent:{name}"),
            Principal::System { name } => format!("aol:{name}"),
        }
    }

    /// The role this actor acts with (agents have none: see [`Principal::may`]).
    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Person { role, .. } => Some(*role),
            Principal::OperatorToken | Principal::Console { .. } | Principal::System { .. } => Some(Role::Admin),
            Principal::Agent { .. } => None,
        }
    }

    /// The agent's name, when an agent acts: what scopes it to its own actions.
    pub fn agent(&self) -> Option<&str> {
        match self {
            Principal::Agent { name } => Some(name),
            _ => None,
        }
    }

    /// The role table. An agent may view, enqueue and edit (the engine then
    /// limits it to its own actions and channels); never decide.
    pub fn may(&self, right: Right) -> bool {
        match self.role() {
            Some(role) => role >= right.least_role(),
            None => matches!(right, Right::View | Right::Enqueue | Right::Edit),
        }
    }
}

/// What a page knows of its viewer: who, with which role, and whether AOL
/// lets anyone look (AOL_PUBLIC_READ) without signing in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// As the records name them; `None`: not signed in.
    pub who: Option<String>,
    pub role: Option<Role>,
    pub public_read: bool,
}

impl Me {
    pub fn of(principal: Option<&Principal>, public_read: bool) -> Me {
        Me { who: principal.map(Principal::label), role: principal.and_then(Principal::role), public_read }
    }

    pub fn signed_in(&self) -> bool {
        self.who.is_some()
    }

    /// Whether the pages offer what `right` covers (the server decides).
    pub fn may(&self, right: Right) -> bool {
        match self.role {
            Some(role) => role >= right.least_role(),
            None => right == Right::View && self.public_read,
        }
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_table() {
        let viewer = Principal::person("vera", Role::Viewer);
        let approver = Principal::person("abe", Role::Approver);
        let admin = Principal::person("ada", Role::Admin);
        let agent = Principal::Agent { name: "bot".into() };
        let allowed = |p: &Principal| Right::ALL.into_iter().filter(|r| p.may(*r)).collect::<Vec<_>>();
        assert_eq!(allowed(&viewer), [Right::View, Right::Audit]);
        assert_eq!(allowed(&approver), [Right::View, Right::Audit, Right::Enqueue, Right::Edit, Right::Decide]);
        assert_eq!(allowed(&admin), Right::ALL);
        assert_eq!(allowed(&Principal::OperatorToken), Right::ALL);
        assert_eq!(allowed(&agent), [Right::View, Right::Enqueue, Right::Edit]);
        assert_eq!(admin.label(), "ada");
        assert_eq!(agent.label(), "agent:bot");
        assert_eq!("approver".parse::<Role>(), Ok(Role::Approver));
        assert!("root".parse::<Role>().unwrap_err().contains("viewer, approver or admin"));
    }
}
