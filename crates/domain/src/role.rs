//! Roles a user holds in a tenant, and the role of a member within a group.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A tenant-wide role (seed 000: participant, coach, content developer, administrator).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Debug,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    ContentDeveloper,
    Coach,
    Participant,
    /// The vendor's support staff, in the reserved tenant `operator` only (seed 000's
    /// "Superusers"); no customer's user holds it.
    Superuser,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Administrator,
        Role::ContentDeveloper,
        Role::Coach,
        Role::Participant,
        Role::Superuser,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::ContentDeveloper => "content_developer",
            Role::Coach => "coach",
            Role::Participant => "participant",
            Role::Superuser => "superuser",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The set of roles of one user: ordered, without duplicates.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Roles(pub BTreeSet<Role>);

impl Roles {
    pub fn contains(&self, r: Role) -> bool {
        self.0.contains(&r)
    }

    /// The stored form: role names joined by commas (`administrator,coach`).
    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the stored form; an unknown name is an error (the store is corrupt or newer than us).
    pub fn from_stored(s: &str) -> Result<Self, String> {
        s.split(',')
            .filter(|p| !p.is_empty())
            .map(|p| Role::parse(p).ok_or_else(|| format!("unknown role {p:?} in store")))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Roles)
    }
}

impl FromIterator<Role> for Roles {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        Roles(iter.into_iter().collect())
    }
}

/// What a member is within one group.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembershipRole {
    Participant,
    Coach,
}

impl MembershipRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipRole::Participant => "participant",
            MembershipRole::Coach => "coach",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "participant" => Some(Self::Participant),
            "coach" => Some(Self::Coach),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_stored_form() {
        let r: Roles = [Role::Coach, Role::Administrator, Role::Coach]
            .into_iter()
            .collect();
        assert_eq!(r.to_stored(), "administrator,coach");
        assert_eq!(Roles::from_stored(&r.to_stored()).unwrap(), r);
        assert!(Roles::from_stored("root").is_err());
        assert_eq!(Roles::from_stored("").unwrap(), Roles::default());
    }
}
