//! What an integration client may do: OAuth 2.0 scopes (`records:read:readings`, `users:read`),
//! parsed once into a closed set of kinds. The access policies see them as sets per kind
//! (`strongroom-core::access`), so a scope decides in Cedar, never beside it.

use std::collections::BTreeSet;
use std::fmt;

/// One scope. Collection names follow the collections' own rule (lowercase letter first,
/// then lowercase letters, digits and `_`, at most 63).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Scope {
    RecordsRead(String),
    RecordsWrite(String),
    FilesRead(String),
    FilesWrite(String),
    UsersRead,
    PrivacyLogRead,
}

/// Largest number of scopes one client may hold.
pub const MAX_SCOPES: usize = 64;

impl Scope {
    /// Parses one scope; `Err` says what is wrong with it.
    pub fn parse(s: &str) -> Result<Scope, String> {
        match s {
            "users:read" => return Ok(Scope::UsersRead),
            "privacy-log:read" => return Ok(Scope::PrivacyLogRead),
            _ => {}
        }
        let mut parts = s.splitn(3, ':');
        let (Some(kind), Some(mode), Some(collection)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("unknown scope {s:?}"));
        };
        if !collection_name(collection) {
            return Err(format!(
                "scope {s:?}: {collection:?} is not a collection name"
            ));
        }
        let c = collection.to_owned();
        match (kind, mode) {
            ("records", "read") => Ok(Scope::RecordsRead(c)),
            ("records", "write") => Ok(Scope::RecordsWrite(c)),
            ("files", "read") => Ok(Scope::FilesRead(c)),
            ("files", "write") => Ok(Scope::FilesWrite(c)),
            _ => Err(format!("unknown scope {s:?}")),
        }
    }

    /// The collection a scope names, if it names one.
    pub fn collection(&self) -> Option<&str> {
        match self {
            Scope::RecordsRead(c)
            | Scope::RecordsWrite(c)
            | Scope::FilesRead(c)
            | Scope::FilesWrite(c) => Some(c),
            Scope::UsersRead | Scope::PrivacyLogRead => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::RecordsRead(c) => write!(f, "records:read:{c}"),
            Scope::RecordsWrite(c) => write!(f, "records:write:{c}"),
            Scope::FilesRead(c) => write!(f, "files:read:{c}"),
            Scope::FilesWrite(c) => write!(f, "files:write:{c}"),
            Scope::UsersRead => f.write_str("users:read"),
            Scope::PrivacyLogRead => f.write_str("privacy-log:read"),
        }
    }
}

fn collection_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A set of scopes, ordered, without duplicates. Stored and sent as OAuth does: separated by
/// single spaces (RFC 6749 §3.3).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Scopes(pub BTreeSet<Scope>);

impl Scopes {
    /// Parses a space-separated list (the `scope` parameter, the stored form).
    pub fn parse(s: &str) -> Result<Scopes, String> {
        Self::from_list(s.split(' ').filter(|p| !p.is_empty()))
    }

    /// Parses a list of scope strings (a JSON array).
    pub fn from_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Scopes, String> {
        let set = items
            .into_iter()
            .map(Scope::parse)
            .collect::<Result<BTreeSet<_>, _>>()?;
        if set.len() > MAX_SCOPES {
            return Err(format!("at most {MAX_SCOPES} scopes"));
        }
        Ok(Scopes(set))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, s: &Scope) -> bool {
        self.0.contains(s)
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The scopes as strings, in order.
    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// The collections the scopes of one kind name (`Scope::RecordsRead` → its collections).
    pub fn collections(&self, kind: fn(&Scope) -> bool) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |s| kind(s))
            .filter_map(Scope::collection)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(" "))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scopes_round_trip_and_refuse_what_is_not_a_scope() {
        let s = Scopes::parse("records:read:readings  users:read records:read:readings").unwrap();
        assert_eq!(s.to_string(), "records:read:readings users:read");
        assert_eq!(Scopes::parse(&s.to_string()).unwrap(), s);
        assert_eq!(
            s.collections(|s| matches!(s, Scope::RecordsRead(_)))
                .collect::<Vec<_>>(),
            ["readings"]
        );
        for bad in [
            "records:read",
            "records:delete:readings",
            "records:read:Readings",
            "records:read:",
            "records:read:a:b",
            "users:write",
            "admin",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
        let many: Vec<String> = (0..=MAX_SCOPES)
            .map(|i| format!("records:read:c{i}"))
            .collect();
        assert!(Scopes::from_list(many.iter().map(String::as_str)).is_err());
    }
}
