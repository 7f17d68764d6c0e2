use std::fmt;

use serde::{Deserialize, Serialize};

/// A participant's role in a Giunta session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The presiding member (the Sindaco): a member who also presides.
    Presiding,
    /// A member of the Giunta (an assessore).
    Member,
    /// The Segretario comunale: assists and writes the minutes; never votes.
    Segretario,
    /// An invited official: attends, never counts, never votes.
    Guest,
    /// The chamber as one endpoint (room PC or AV encoder): shows and hears the
    /// chamber, counts for no one, never votes.
    Room,
}

impl Role {
    /// The role as written in tokens and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Presiding => "presiding",
            Role::Member => "member",
            Role::Segretario => "segretario",
            Role::Guest => "guest",
            Role::Room => "room",
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "presiding" => Some(Role::Presiding),
            "member" => Some(Role::Member),
            "segretario" => Some(Role::Segretario),
            "guest" => Some(Role::Guest),
            "room" => Some(Role::Room),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
