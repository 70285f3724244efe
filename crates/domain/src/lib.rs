//! Domain types shared by every layer: ids, parsed input (e-mail, slug, names), roles, statuses.
//!
//! Values are parsed once, at the edge, into types that cannot hold an invalid value
//! (`Email::parse`, `Slug::parse`). This crate does no I/O.

pub mod ids;
pub mod parse;
pub mod role;
pub mod scope;
pub mod status;

pub use ids::{
    ClientId, CollectionId, FamilyId, FileId, GroupId, JobId, LoginEventId, NoticeId, RecordId,
    SessionId, SupportRequestId, TenantId, UserId,
};
pub use parse::{Email, ParseError, PersonName, Region, Slug, TenantName, TextKind, free_text};
pub use role::{MembershipRole, Role, Roles};
pub use scope::{Scope, Scopes};
pub use status::{
    ClientKind, Decision, JobKind, JobStatus, LoginOutcome, SupportKind, SupportStatus,
    TenantStatus, TombstoneReason, UserStatus, Visibility,
};

/// A point in time, in UTC. Stored as milliseconds since the Unix epoch.
pub type Timestamp = time::OffsetDateTime;

/// Converts a timestamp to the integer milliseconds the stores keep.
pub fn to_millis(t: Timestamp) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Converts stored integer milliseconds back to a timestamp (clamped to the representable range).
pub fn from_millis(ms: i64) -> Timestamp {
    Timestamp::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}
