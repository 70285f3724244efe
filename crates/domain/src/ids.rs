//! Newtypes for every identifier, so a `UserId` can never be passed where a `TenantId` is meant.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered (UUIDv7) id: inserts stay near the end of the primary-key index.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

id_type!(
    /// A tenant (one customer of the SaaS vendor). Every row of every table carries one.
    TenantId
);
id_type!(
    /// A user account within a tenant.
    UserId
);
id_type!(
    /// A group of users (participants and their coaches).
    GroupId
);
id_type!(
    /// One issued (access token, refresh token) pair.
    SessionId
);
id_type!(
    /// A chain of sessions created by refreshing one login; reuse of a spent refresh token revokes it.
    FamilyId
);
id_type!(
    /// One row of the login history.
    LoginEventId
);
id_type!(
    /// A collection: a named, typed schema for records.
    CollectionId
);
id_type!(
    /// A record: one subject's data in one collection.
    RecordId
);
id_type!(
    /// One stored version of a file attached to a record (its encryption key derives from it).
    FileId
);
id_type!(
    /// A durable job (retention steps, a tenant's destruction).
    JobId
);
id_type!(
    /// A deletion notice sent to a person ahead of a deletion.
    NoticeId
);
id_type!(
    /// An integration client (a program with scopes, OAuth 2.0 client credentials).
    ClientId
);
id_type!(
    /// A support request, and the grant it becomes once approved (they share the id).
    SupportRequestId
);

impl TenantId {
    /// The installation itself, as the tenant of its own jobs (backups, replication): the nil
    /// UUID, which no tenant has (every tenant id is a UUIDv7).
    pub const INSTALLATION: TenantId = TenantId(Uuid::nil());
}
