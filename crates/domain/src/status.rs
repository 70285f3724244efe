//! Life-cycle states of tenants and users, outcomes of login attempts, and a record's visibility.

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

string_enum!(
    /// A tenant is `active` until it is suspended by the operator.
    TenantStatus { Active => "active", Suspended => "suspended" }
);

string_enum!(
    /// `blocked`: too many wrong passwords; only a password reset reopens the account.
    /// `deleted`: the person was forgotten; the row stays only as a pseudonymous anchor.
    /// `disabled`: a removed superuser; the account no longer works, its name stays readable
    /// (accountability: the logs they appear in still name them).
    UserStatus {
        Active => "active",
        Blocked => "blocked",
        Deleted => "deleted",
        Disabled => "disabled",
    }
);

string_enum!(
    /// What happened at one login attempt, as kept in the login history.
    LoginOutcome {
        Success => "success",
        WrongPassword => "wrong_password",
        UnknownAccount => "unknown_account",
        Blocked => "blocked",
        Throttled => "throttled",
    }
);

string_enum!(
    /// A durable job's state: waiting to run (`pending`), claimed under a lease (`running`),
    /// finished (`done`), or given up after its last attempt (`failed`, kept for inspection).
    JobStatus { Pending => "pending", Running => "running", Done => "done", Failed => "failed" }
);

string_enum!(
    /// What a privacy-log entry records: access given (`allow`) or refused (`deny`).
    Decision { Allow => "allow", Deny => "deny" }
);

string_enum!(
    /// Who may see a record besides those the policies name by role: only them (`private`), or
    /// also the record's group (`group`).
    Visibility { Private => "private", Group => "group" }
);

/// What a durable job does, stored by its name (`retention.hide`, …). `Purge` is no stored
/// job (due records are found in the records table on every run) but is planned and reported
/// like one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub enum JobKind {
    /// Hides a person's records when their licence expires.
    #[serde(rename = "retention.hide")]
    Hide,
    /// Tells a person ahead of the deletion of their recordings.
    #[serde(rename = "retention.notice")]
    Notice,
    /// Deletes a person's recordings some time after their licence expired.
    #[serde(rename = "retention.delete_recordings")]
    DeleteRecordings,
    /// Shows a person's records again after a renewed licence.
    #[serde(rename = "retention.unhide")]
    Unhide,
    /// Destroys a tenant 45 days after its agreement ended.
    #[serde(rename = "retention.destroy_tenant")]
    DestroyTenant,
    #[serde(rename = "retention.purge")]
    Purge,
    /// Rewrites the backup target's key snapshot and erasure ledger after a forget.
    #[serde(rename = "backup.keys")]
    BackupKeys,
    /// A scheduled snapshot (`backup.interval_secs`), then a prune.
    #[serde(rename = "backup.run")]
    BackupRun,
    /// Tells the operator that no backup succeeded for too long.
    #[serde(rename = "backup.overdue")]
    BackupOverdue,
    /// Brings one blob of the replica (`blobs.replica_url`) in line with the blob store:
    /// copied after an upload, deleted after a deletion.
    #[serde(rename = "replica.sync")]
    ReplicaSync,
    /// Reminds a tenant's administrators that a breach's authority is not notified yet (48 h
    /// and 70 h after awareness; the deadline is 72 h).
    #[serde(rename = "breach.remind")]
    BreachRemind,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Hide => "retention.hide",
            JobKind::Notice => "retention.notice",
            JobKind::DeleteRecordings => "retention.delete_recordings",
            JobKind::Unhide => "retention.unhide",
            JobKind::DestroyTenant => "retention.destroy_tenant",
            JobKind::Purge => "retention.purge",
            JobKind::BackupKeys => "backup.keys",
            JobKind::BackupRun => "backup.run",
            JobKind::BackupOverdue => "backup.overdue",
            JobKind::ReplicaSync => "replica.sync",
            JobKind::BreachRemind => "breach.remind",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            JobKind::Hide,
            JobKind::Notice,
            JobKind::DeleteRecordings,
            JobKind::Unhide,
            JobKind::DestroyTenant,
            JobKind::Purge,
            JobKind::BackupKeys,
            JobKind::BackupRun,
            JobKind::BackupOverdue,
            JobKind::ReplicaSync,
            JobKind::BreachRemind,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

string_enum!(
    /// Why a record or a file was deleted for good, as its tombstone keeps it.
    TombstoneReason {
        Deleted => "deleted",
        LegalRetention => "legal_retention",
        Forgotten => "forgotten",
        RecordingsExpired => "recordings_expired",
    }
);

impl TombstoneReason {
    /// The reason in words, for the 410 that answers a request for the thing.
    pub fn explain(self) -> &'static str {
        match self {
            TombstoneReason::Deleted => "it was deleted",
            TombstoneReason::LegalRetention => "its legal retention period ended",
            TombstoneReason::Forgotten => "its data subject was forgotten",
            TombstoneReason::RecordingsExpired => {
                "recordings are deleted 45 days after the licence expired"
            }
        }
    }
}

string_enum!(
    /// What a support grant lets a superuser do: see the tenant's data as an administrator
    /// would and change nothing (`read`), or act as one named user (`act_as`).
    SupportKind { Read => "read", ActAs => "act_as" }
);

string_enum!(
    /// An OAuth client: `confidential` (an integration client: a secret and scopes, the
    /// client credentials grant) or `public` (an app with registered redirect URIs that acts
    /// as the person who signs in: the authorization code grant with PKCE).
    ClientKind { Confidential => "confidential", Public => "public" }
);

string_enum!(
    /// A support request's state: `pending` until an administrator approves or denies it (or
    /// it expires unanswered); an approved grant ends as `expired` or `revoked`.
    SupportStatus {
        Pending => "pending",
        Approved => "approved",
        Denied => "denied",
        Expired => "expired",
        Revoked => "revoked",
    }
);
