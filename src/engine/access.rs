//! The engine's door: every change names its [`Actor`], and is refused with
//! [`Forbidden`] unless the actor's role holds the right it needs (the table
//! is `Principal::may`). The dashboard, the API and the CLI all come through
//! here, so none of them can forget a check the others make.

use thiserror::Error;

use crate::model::{Principal, Right};

/// Who asks for a change, and why (shown in the records it leaves).
#[derive(Clone, Debug)]
pub struct Actor {
    by: Principal,
    reason: Option<String>,
    /// `by` as the records name it.
    who: String,
}

/// A change refused for want of a right: answered 403 with this text.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("forbidden: {who} may not {right} (that takes the {needs} role{agents})", right = right.as_str(), needs = right.least_role())]
pub struct Forbidden {
    pub who: String,
    pub right: Right,
    /// Set when an agent is refused: agents never hold this right.
    agents: &'static str,
}

impl Actor {
    pub fn new(by: Principal) -> Actor {
        Actor { who: by.label(), by, reason: None }
    }

    /// AOL itself (start-up, maintenance, tests): it may do anything.
    pub fn system(name: &str) -> Actor {
        Actor::new(Principal::system(name))
    }

    /// With a reason as typed in a form or a request: trimmed, and none if blank.
    pub fn because(mut self, reason: Option<&str>) -> Actor {
        self.reason = reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_string);
        self
    }

    pub fn by(&self) -> &Principal {
        &self.by
    }

    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// As the records name the actor.
    pub fn who(&self) -> &str {
        &self.who
    }

    /// Ok when the actor may do what `right` covers.
    pub fn require(&self, right: Right) -> Result<(), Forbidden> {
        require(&self.by, right)
    }

    /// What storage writes down about the actor.
    pub(crate) fn recorded(&self) -> crate::storage::Actor<'_> {
        crate::storage::Actor { who: &self.who, reason: self.reason.as_deref() }
    }
}

/// Ok when `by` may do what `right` covers.
pub fn require(by: &Principal, right: Right) -> Result<(), Forbidden> {
    if by.may(right) {
        return Ok(());
    }
    let agents = if by.agent().is_some() { "; agents never do" } else { "" };
    Err(Forbidden { who: by.label(), right, agents })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    #[test]
    fn a_refusal_says_who_what_and_which_role() {
        let vera = Principal::person("vera", Role::Viewer);
        let e = Actor::new(vera).require(Right::Decide).unwrap_err();
        assert_eq!(e.to_string(), "forbidden: vera may not decide (that takes the approver role)");
        let bot = Principal::Agent { name: "bot".into() };
        let e = require(&bot, Right::Decide).unwrap_err();
        assert_eq!(
            e.to_string(),
            "forbidden: agent:bot may not decide (that takes the approver role; agents never do)"
        );
        assert!(require(&bot, Right::Enqueue).is_ok());
    }
}
