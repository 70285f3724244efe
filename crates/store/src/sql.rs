//! SQL text shared by both backends.
//!
//! SQLite reads `$1`, `$2`… as named parameters numbered by first appearance, so a statement
//! whose placeholders first appear in ascending order binds positionally on both backends.
//! Keep that order when editing; `placeholders_ascend` below checks it.

pub const INSERT_TENANT: &str = "INSERT INTO tenants (tenant_id, slug, name, region, status, lockout_threshold, agreement_ends_at, created_at, require_totp_roles, break_glass) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

macro_rules! tenant_cols {
    () => {
        "tenant_id, slug, name, region, status, lockout_threshold, agreement_ends_at, created_at, require_totp_roles, break_glass"
    };
}
pub const TENANT_BY_SLUG: &str =
    concat!("SELECT ", tenant_cols!(), " FROM tenants WHERE slug = $1");
pub const TENANT_BY_ID: &str = concat!(
    "SELECT ",
    tenant_cols!(),
    " FROM tenants WHERE tenant_id = $1"
);

pub const SET_TENANT_SETTINGS: &str = "UPDATE tenants SET lockout_threshold = $1, require_totp_roles = $2, break_glass = $3 WHERE tenant_id = $4";
pub const SET_AGREEMENT_END: &str =
    "UPDATE tenants SET agreement_ends_at = $1 WHERE tenant_id = $2";

pub const INSERT_USER: &str = "INSERT INTO users (tenant_id, user_id, email_index, email_sealed, name_sealed, roles, status, password_hash, must_change_password, failed_logins, license_expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, 0, $9, $10, $10)";

/// A user row with its subject key (wrapped; absent once destroyed).
macro_rules! user_select {
    () => {
        "SELECT u.tenant_id, u.user_id, u.email_sealed, u.name_sealed, u.roles, u.status, u.password_hash, u.must_change_password, u.failed_logins, u.license_expires_at, u.created_at, u.updated_at, k.key_id, k.kek_version, k.wrapped FROM users u LEFT JOIN subject_keys k ON k.tenant_id = u.tenant_id AND k.subject_id = u.user_id AND k.wrapped IS NOT NULL"
    };
}
pub const USER_BY_EMAIL_INDEX: &str = concat!(
    user_select!(),
    " WHERE u.tenant_id = $1 AND u.email_index = $2"
);
pub const USER_BY_ID: &str = concat!(user_select!(), " WHERE u.tenant_id = $1 AND u.user_id = $2");
pub const LIST_USERS: &str = concat!(
    user_select!(),
    " WHERE u.tenant_id = $1 AND u.status <> 'deleted' ORDER BY u.created_at, u.user_id"
);
/// A page of the tenant's users that are not deleted, newest first (ids are UUIDv7), before a
/// cursor.
pub const USERS_PAGE: &str = concat!(
    user_select!(),
    " WHERE u.tenant_id = $1 AND u.status <> 'deleted' AND u.user_id < $2 ORDER BY u.user_id DESC LIMIT $3"
);

/// `$1` name, `$2` roles, `$3` whether to touch the licence, `$4` the new licence expiry.
pub const UPDATE_USER: &str = "UPDATE users SET name_sealed = COALESCE($1, name_sealed), roles = COALESCE($2, roles), license_expires_at = CASE WHEN $3 THEN $4 ELSE license_expires_at END, updated_at = $5 WHERE tenant_id = $6 AND user_id = $7 AND status <> 'deleted'";

pub const SET_PASSWORD: &str = "UPDATE users SET password_hash = $1, must_change_password = $2, failed_logins = 0, status = 'active', updated_at = $3 WHERE tenant_id = $4 AND user_id = $5 AND status <> 'deleted'";
/// A removed superuser: the account stops (sessions too), the row and its sealed name stay.
pub const DISABLE_USER: &str = "UPDATE users SET status = 'disabled', updated_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND status IN ('active', 'blocked')";
pub const REVOKE_USER_SESSIONS: &str = "UPDATE sessions SET revoked_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND revoked_at IS NULL";

pub const RECORD_FAILURE: &str = "UPDATE users SET failed_logins = failed_logins + 1, status = CASE WHEN failed_logins + 1 >= $1 THEN 'blocked' ELSE status END, updated_at = $2 WHERE tenant_id = $3 AND user_id = $4 AND status <> 'deleted' RETURNING failed_logins";
pub const CLEAR_FAILURES: &str = "UPDATE users SET failed_logins = 0 WHERE tenant_id = $1 AND user_id = $2 AND failed_logins <> 0";

pub const RECORD_UNKNOWN_FAILURE: &str = "INSERT INTO unknown_login_failures (tenant_id, email_index, failed_logins, updated_at) VALUES ($1, $2, 1, $3) ON CONFLICT (tenant_id, email_index) DO UPDATE SET failed_logins = unknown_login_failures.failed_logins + 1, updated_at = excluded.updated_at RETURNING failed_logins";
pub const UNKNOWN_FAILURES: &str =
    "SELECT failed_logins FROM unknown_login_failures WHERE tenant_id = $1 AND email_index = $2";

// ── The second factor (TOTP) ────────────────────────────────────────────────────────────
pub const USER_TOTP: &str =
    "SELECT sealed, confirmed_at, last_step FROM user_totp WHERE tenant_id = $1 AND user_id = $2";
/// A new secret, pending until confirmed; never over an active factor.
pub const PUT_PENDING_TOTP: &str = "INSERT INTO user_totp (tenant_id, user_id, sealed, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, user_id) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at, last_step = NULL WHERE user_totp.confirmed_at IS NULL";
pub const CONFIRM_TOTP: &str = "UPDATE user_totp SET confirmed_at = $1, last_step = $2 WHERE tenant_id = $3 AND user_id = $4 AND confirmed_at IS NULL";
/// A code's time step, accepted once: only a later step than the last moves it, so two server
/// instances can never both accept one code.
pub const ACCEPT_TOTP_STEP: &str = "UPDATE user_totp SET last_step = $1 WHERE tenant_id = $2 AND user_id = $3 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)";
pub const DELETE_USER_TOTP: &str = "DELETE FROM user_totp WHERE tenant_id = $1 AND user_id = $2";
pub const DELETE_RECOVERY_CODES: &str =
    "DELETE FROM totp_recovery_codes WHERE tenant_id = $1 AND user_id = $2";
pub const INSERT_RECOVERY_CODE: &str =
    "INSERT INTO totp_recovery_codes (tenant_id, user_id, digest) VALUES ($1, $2, $3)";
pub const USE_RECOVERY_CODE: &str = "UPDATE totp_recovery_codes SET used_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND digest = $4 AND used_at IS NULL";
pub const RECOVERY_CODES_LEFT: &str = "SELECT COUNT(*) FROM totp_recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL";

pub const FORGET_USER: &str = "UPDATE users SET email_index = NULL, email_sealed = NULL, name_sealed = NULL, password_hash = NULL, status = 'deleted', updated_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND status <> 'deleted'";
pub const DELETE_USER_MEMBERSHIPS: &str =
    "DELETE FROM group_members WHERE tenant_id = $1 AND user_id = $2";
pub const DELETE_USER_RESETS: &str =
    "DELETE FROM password_resets WHERE tenant_id = $1 AND user_id = $2";

pub const INSERT_TENANT_KEY: &str = "INSERT INTO tenant_keys (tenant_id, purpose, version, root_key_id, wrapped, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, purpose, version, root_key_id) DO NOTHING";
pub const TENANT_KEYS: &str = "SELECT purpose, version, root_key_id, wrapped, created_at FROM tenant_keys WHERE tenant_id = $1 ORDER BY purpose, version";
/// Operator enumeration for key rotation (the one listing across tenants).
pub const LIST_TENANTS: &str = concat!(
    "SELECT ",
    tenant_cols!(),
    " FROM tenants ORDER BY created_at, tenant_id"
);
pub const DELETE_OTHER_ROOT_WRAPPINGS: &str =
    "DELETE FROM tenant_keys WHERE tenant_id = $1 AND root_key_id <> $2";
pub const SUBJECT_KEYS_BELOW: &str = "SELECT subject_id, key_id, kek_version, wrapped FROM subject_keys WHERE tenant_id = $1 AND kek_version < $2 AND wrapped IS NOT NULL ORDER BY subject_id LIMIT $3";
pub const REWRAP_SUBJECT_KEY: &str = "UPDATE subject_keys SET kek_version = $1, wrapped = $2 WHERE tenant_id = $3 AND subject_id = $4 AND kek_version = $5 AND wrapped IS NOT NULL";
/// Retires key-encryption keys older than `$2` once no live subject key needs them.
pub const RETIRE_OLD_KEKS: &str = "DELETE FROM tenant_keys WHERE tenant_id = $1 AND purpose = 'kek' AND version < $2 AND NOT EXISTS (SELECT 1 FROM subject_keys s WHERE s.tenant_id = $1 AND s.kek_version < $2 AND s.wrapped IS NOT NULL)";
pub const INSERT_SUBJECT_KEY: &str = "INSERT INTO subject_keys (tenant_id, subject_id, key_id, kek_version, wrapped, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
/// Crypto-shredding: the wrapped key is gone, so nothing sealed under it opens again.
pub const SUBJECT_KEY: &str = "SELECT key_id, kek_version, wrapped FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2 AND wrapped IS NOT NULL";
pub const INSERT_SUBJECT_KEY_IF_ABSENT: &str = "INSERT INTO subject_keys (tenant_id, subject_id, key_id, kek_version, wrapped, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, subject_id) DO NOTHING";
/// Crypto-shredding a subject, unless a record about them is on legal hold (then the key stays
/// until the last hold is released, and forgetting finishes then).
pub const DESTROY_SUBJECT_KEY: &str = "UPDATE subject_keys SET wrapped = NULL, destroyed_at = $1 WHERE tenant_id = $2 AND subject_id = $3 AND wrapped IS NOT NULL AND NOT EXISTS (SELECT 1 FROM records h WHERE h.tenant_id = $2 AND h.subject_id = $3 AND h.held_at IS NOT NULL)";

pub const ENSURE_PRIVACY_HEAD: &str = "INSERT INTO privacy_log_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (tenant_id) DO NOTHING";
pub const PRIVACY_HEAD: &str = "SELECT seq, hash FROM privacy_log_heads WHERE tenant_id = $1";
pub const LOCK_PRIVACY_HEAD: &str =
    "SELECT seq, hash FROM privacy_log_heads WHERE tenant_id = $1 FOR UPDATE";
pub const SET_PRIVACY_HEAD: &str =
    "UPDATE privacy_log_heads SET seq = $1, hash = $2 WHERE tenant_id = $3";
pub const INSERT_PRIVACY: &str = "INSERT INTO privacy_log (tenant_id, seq, at, actor_id, via, subject_id, object_type, object_id, action, fields, decision, client_sealed, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
macro_rules! privacy_cols {
    () => {
        "seq, at, actor_id, via, subject_id, object_type, object_id, action, fields, decision, client_sealed, hash"
    };
}
pub const PRIVACY_PAGE: &str = concat!(
    "SELECT ",
    privacy_cols!(),
    " FROM privacy_log WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
);
/// `$2`/`$4` say "no subject / actor filter"; times are inclusive from, exclusive to.
pub const PRIVACY_QUERY: &str = concat!(
    "SELECT ",
    privacy_cols!(),
    " FROM privacy_log WHERE tenant_id = $1 AND ($2 OR subject_id = $3) AND ($4 OR actor_id = $5) AND at >= $6 AND at < $7 AND seq < $8 ORDER BY seq DESC LIMIT $9"
);

pub const INSERT_CHECKPOINT: &str = "INSERT INTO privacy_checkpoints (tenant_id, seq, hash, at, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, seq) DO NOTHING";
pub const CHECKPOINTS: &str =
    "SELECT seq, hash, at, signature FROM privacy_checkpoints WHERE tenant_id = $1 ORDER BY seq";

pub const INSERT_GROUP: &str =
    "INSERT INTO groups (tenant_id, group_id, name, created_at) VALUES ($1, $2, $3, $4)";
pub const GROUP_BY_ID: &str = "SELECT tenant_id, group_id, name, created_at FROM groups WHERE tenant_id = $1 AND group_id = $2";
pub const USER_IS_LIVE: &str =
    "SELECT 1 FROM users WHERE tenant_id = $1 AND user_id = $2 AND status <> 'deleted'";
pub const PUT_MEMBER: &str = "INSERT INTO group_members (tenant_id, group_id, user_id, role) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, group_id, user_id) DO UPDATE SET role = excluded.role";
/// A page of the tenant's groups, newest first (ids are UUIDv7), before a cursor.
pub const GROUPS_PAGE: &str = "SELECT tenant_id, group_id, name, created_at FROM groups WHERE tenant_id = $1 AND group_id < $2 ORDER BY group_id DESC LIMIT $3";
pub const MEMBERS: &str = "SELECT user_id, role FROM group_members WHERE tenant_id = $1 AND group_id = $2 ORDER BY user_id";

pub const INSERT_LOGIN: &str = "INSERT INTO login_history (tenant_id, event_id, user_id, at, ip_sealed, outcome) VALUES ($1, $2, $3, $4, $5, $6)";
/// A user's login attempts, newest first (event ids are UUIDv7), before a cursor.
pub const LOGIN_HISTORY: &str = "SELECT tenant_id, event_id, user_id, at, ip_sealed, outcome FROM login_history WHERE tenant_id = $1 AND user_id = $2 AND event_id < $3 ORDER BY event_id DESC LIMIT $4";

pub const INSERT_SESSION: &str = "INSERT INTO sessions (tenant_id, session_id, family_id, user_id, access_digest, access_expires_at, refresh_digest, refresh_expires_at, created_at, client_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
pub const PRINCIPAL_BY_ACCESS: &str = "SELECT s.session_id, s.family_id, u.user_id, u.roles, u.must_change_password, COALESCE(p.version, 0), t.require_totp_roles, EXISTS (SELECT 1 FROM user_totp f WHERE f.tenant_id = s.tenant_id AND f.user_id = s.user_id AND f.confirmed_at IS NOT NULL) FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.user_id = s.user_id JOIN tenants t ON t.tenant_id = s.tenant_id LEFT JOIN tenant_policies p ON p.tenant_id = s.tenant_id WHERE s.tenant_id = $1 AND s.access_digest = $2 AND s.revoked_at IS NULL AND s.access_expires_at > $3 AND u.status = 'active' AND t.status = 'active'";
/// Spends a live refresh token; returns its family and user. Zero rows: not live.
pub const SPEND_REFRESH: &str = "UPDATE sessions SET refreshed_at = $1, revoked_at = $1 WHERE tenant_id = $2 AND refresh_digest = $3 AND refreshed_at IS NULL AND revoked_at IS NULL AND refresh_expires_at > $1 AND EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = sessions.tenant_id AND u.user_id = sessions.user_id AND u.status = 'active') RETURNING family_id, user_id, client_id";
/// Whether a refresh token exists and was already spent (reuse), and its family.
pub const REFRESH_STATE: &str =
    "SELECT family_id, refreshed_at FROM sessions WHERE tenant_id = $1 AND refresh_digest = $2";
/// A console session's idle end moves on, never past its absolute end (`refresh_expires_at`).
pub const EXTEND_SESSION: &str = "UPDATE sessions SET access_expires_at = CASE WHEN $1 < refresh_expires_at THEN $1 ELSE refresh_expires_at END WHERE tenant_id = $2 AND session_id = $3 AND revoked_at IS NULL";
pub const REVOKE_FAMILY: &str = "UPDATE sessions SET revoked_at = $1 WHERE tenant_id = $2 AND family_id = $3 AND revoked_at IS NULL";

pub const DELETE_OPEN_RESETS: &str =
    "DELETE FROM password_resets WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL";
pub const INSERT_RESET: &str = "INSERT INTO password_resets (tenant_id, token_digest, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)";
pub const SPEND_RESET: &str = "UPDATE password_resets SET used_at = $1 WHERE tenant_id = $2 AND token_digest = $3 AND used_at IS NULL AND expires_at > $1 RETURNING user_id";

/// The columns of a record view (`raw::RawRecordView`, in order): the record, its collection
/// and its subject's live key (absent once the subject is forgotten).
macro_rules! record_view {
    ($where:literal) => {
        concat!(
            "SELECT r.record_id, r.collection_id, r.subject_id, r.group_id, r.parent_id, r.visibility, r.hidden, r.data, r.version, r.created_by, r.created_at, r.updated_at, c.name, c.fields, c.created_by, c.created_at, k.key_id, k.kek_version, k.wrapped, r.deleted_at, r.held_at, c.retention, r.ends_on FROM records r JOIN collections c ON c.tenant_id = r.tenant_id AND c.collection_id = r.collection_id LEFT JOIN subject_keys k ON k.tenant_id = r.tenant_id AND k.subject_id = r.subject_id AND k.wrapped IS NOT NULL WHERE ",
            $where
        )
    };
}

pub const INSERT_COLLECTION: &str = "INSERT INTO collections (tenant_id, collection_id, name, fields, created_by, created_at, retention) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub const COLLECTION_BY_NAME: &str = "SELECT collection_id, name, fields, created_by, created_at, retention FROM collections WHERE tenant_id = $1 AND name = $2";
/// A page of the tenant's collections, newest first (ids are UUIDv7), before a cursor.
pub const COLLECTIONS_PAGE: &str = "SELECT collection_id, name, fields, created_by, created_at, retention FROM collections WHERE tenant_id = $1 AND collection_id < $2 ORDER BY collection_id DESC LIMIT $3";
pub const LIST_COLLECTIONS: &str = "SELECT collection_id, name, fields, created_by, created_at, retention FROM collections WHERE tenant_id = $1 ORDER BY name";

pub const INSERT_RECORD: &str = "INSERT INTO records (tenant_id, record_id, collection_id, subject_id, group_id, parent_id, visibility, hidden, data, version, created_by, created_at, updated_at, ends_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
/// Replaces a record's contents if it is still at version `$9` (optimistic concurrency).
pub const UPDATE_RECORD: &str = "UPDATE records SET group_id = $1, visibility = $2, hidden = $3, data = $4, version = $5, updated_at = $6, ends_on = $7 WHERE tenant_id = $8 AND record_id = $9 AND version = $10";
/// A record with its collection and its subject's live key (absent once the subject is forgotten).
pub const RECORD_VIEW: &str = record_view!("r.tenant_id = $1 AND r.record_id = $2");
/// Records of a collection whose searchable field has this blind index, oldest first, after
/// a cursor.
pub const SEARCH_RECORDS: &str = record_view!(
    "r.tenant_id = $1 AND r.collection_id = $2 AND r.record_id IN (SELECT i.record_id FROM record_index i WHERE i.tenant_id = $1 AND i.collection_id = $2 AND i.field = $3 AND i.digest = $4) AND r.deleted_at IS NULL AND r.record_id > $5 ORDER BY r.record_id LIMIT $6"
);
pub const INSERT_INDEX: &str = "INSERT INTO record_index (tenant_id, collection_id, field, digest, record_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
pub const DELETE_INDEX: &str = "DELETE FROM record_index WHERE tenant_id = $1 AND record_id = $2";
pub const INSERT_HISTORY: &str = "INSERT INTO record_history (tenant_id, record_id, version, at, actor_id, action, fields, data_before) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// A page of a record's changes, oldest first, after a version.
pub const RECORD_HISTORY_PAGE: &str = "SELECT record_id, version, at, actor_id, action, fields, data_before FROM record_history WHERE tenant_id = $1 AND record_id = $2 AND version > $3 ORDER BY version LIMIT $4";
pub const RECORD_HISTORY: &str = "SELECT record_id, version, at, actor_id, action, fields, data_before FROM record_history WHERE tenant_id = $1 AND record_id = $2 ORDER BY version";
/// Takes the next version of a record for a change that is not a content update (a file).
pub const BUMP_RECORD_VERSION: &str = "UPDATE records SET version = version + 1, updated_at = $1 WHERE tenant_id = $2 AND record_id = $3 RETURNING version";

pub const FILE_BY_NAME: &str = "SELECT record_id, name, file_id, blob_key, content_type, size, created_by, created_at FROM record_files WHERE tenant_id = $1 AND record_id = $2 AND name = $3";
pub const FILES_OF_RECORD: &str = "SELECT record_id, name, file_id, blob_key, content_type, size, created_by, created_at FROM record_files WHERE tenant_id = $1 AND record_id = $2 ORDER BY name";
pub const DELETE_FILE: &str =
    "DELETE FROM record_files WHERE tenant_id = $1 AND record_id = $2 AND name = $3";
pub const INSERT_FILE: &str = "INSERT INTO record_files (tenant_id, record_id, name, file_id, blob_key, content_type, size, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub const MEMBERSHIPS_OF_USER: &str = "SELECT group_id, role FROM group_members WHERE tenant_id = $1 AND user_id = $2 ORDER BY group_id";

pub const POLICIES: &str = "SELECT template, policies, version, updated_by, updated_at FROM tenant_policies WHERE tenant_id = $1";
pub const INSERT_POLICIES: &str = "INSERT INTO tenant_policies (tenant_id, template, policies, version, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id) DO NOTHING";
pub const UPDATE_POLICIES: &str = "UPDATE tenant_policies SET template = $1, policies = $2, version = $3, updated_by = $4, updated_at = $5 WHERE tenant_id = $6 AND version = $7";

/// Every record about a subject (for the export), oldest first. (Ordered by time, not id:
/// ordering by the primary key made SQLite scan the tenant instead of using the subject index.)
pub const RECORDS_OF_SUBJECT: &str =
    record_view!("r.tenant_id = $1 AND r.subject_id = $2 ORDER BY r.created_at, r.record_id");
/// Every record a user created (the objects they own), oldest first.
pub const RECORDS_BY_AUTHOR: &str =
    record_view!("r.tenant_id = $1 AND r.created_by = $2 ORDER BY r.created_at, r.record_id");
/// Every change a user made to any record, oldest first.
pub const HISTORY_BY_ACTOR: &str = "SELECT record_id, version, at, actor_id, action, fields, data_before FROM record_history WHERE tenant_id = $1 AND actor_id = $2 ORDER BY at, record_id, version";

/// Every file of every record about a subject (what forgetting them deletes).
pub const FILES_OF_SUBJECT: &str = "SELECT f.record_id, f.name, f.file_id, f.blob_key, f.content_type, f.size, f.created_by, f.created_at FROM record_files f WHERE f.tenant_id = $1 AND f.record_id IN (SELECT r.record_id FROM records r WHERE r.tenant_id = $1 AND r.subject_id = $2) ORDER BY f.record_id, f.name";
/// Removes one stored version of a file (not a newer one that replaced it meanwhile).
pub const DELETE_FILE_VERSION: &str = "DELETE FROM record_files WHERE tenant_id = $1 AND record_id = $2 AND name = $3 AND file_id = $4";
pub const SCRUB_RECORD: &str =
    "UPDATE records SET data = $1 WHERE tenant_id = $2 AND record_id = $3";
pub const DELETE_INDEX_FIELD: &str =
    "DELETE FROM record_index WHERE tenant_id = $1 AND record_id = $2 AND field = $3";
pub const SCRUB_HISTORY: &str =
    "UPDATE record_history SET data_before = NULL WHERE tenant_id = $1 AND record_id = $2";

// ── Deletion, legal holds, legal retention, tombstones ──────────────────────────────────────
/// Soft deletion: not while the record is on legal hold.
pub const SOFT_DELETE_RECORD: &str = "UPDATE records SET deleted_at = $1, deleted_by = $2 WHERE tenant_id = $3 AND record_id = $4 AND deleted_at IS NULL AND held_at IS NULL";
pub const RESTORE_RECORD: &str = "UPDATE records SET deleted_at = NULL, deleted_by = NULL WHERE tenant_id = $1 AND record_id = $2 AND deleted_at IS NOT NULL";
pub const HOLD_RECORD: &str = "UPDATE records SET held_at = $1, held_by = $2 WHERE tenant_id = $3 AND record_id = $4 AND held_at IS NULL";
pub const RELEASE_RECORD: &str = "UPDATE records SET held_at = NULL, held_by = NULL WHERE tenant_id = $1 AND record_id = $2 AND held_at IS NOT NULL";
/// Records soft-deleted before `$2`, not on hold (oldest first).
pub const DELETED_BEFORE: &str = "SELECT record_id FROM records WHERE tenant_id = $1 AND deleted_at < $2 AND held_at IS NULL ORDER BY deleted_at, record_id LIMIT $3";
/// Records of a collection whose end date is before `$3`, not on hold.
pub const ENDED_BEFORE: &str = "SELECT record_id FROM records WHERE tenant_id = $1 AND collection_id = $2 AND ends_on < $3 AND held_at IS NULL ORDER BY ends_on, record_id LIMIT $4";
/// A record's direct replies (purged with it).
pub const REPLIES_OF: &str =
    "SELECT record_id FROM records WHERE tenant_id = $1 AND parent_id = $2 ORDER BY record_id";
pub const HELD_IN_TENANT: &str =
    "SELECT COUNT(*) FROM records WHERE tenant_id = $1 AND held_at IS NOT NULL";
/// Purging a record for good (files' blobs are deleted before): children first, the record
/// last and only if it is not on hold (zero rows: held, or gone already).
pub const PURGE_RECORD_CHILDREN: [&str; 3] = [
    "DELETE FROM record_files WHERE tenant_id = $1 AND record_id = $2",
    "DELETE FROM record_history WHERE tenant_id = $1 AND record_id = $2",
    "DELETE FROM record_index WHERE tenant_id = $1 AND record_id = $2",
];
pub const PURGE_RECORD: &str =
    "DELETE FROM records WHERE tenant_id = $1 AND record_id = $2 AND held_at IS NULL";
/// Locks the record against a concurrent hold while it is purged (PostgreSQL; SQLite's write
/// transaction is exclusive already).
pub const RECORD_HELD_PG: &str = "SELECT held_at IS NOT NULL, subject_id FROM records WHERE tenant_id = $1 AND record_id = $2 FOR UPDATE";
pub const RECORD_HELD_SQLITE: &str =
    "SELECT held_at IS NOT NULL, subject_id FROM records WHERE tenant_id = $1 AND record_id = $2";
/// Every record's end date from the collection's end field (a `date` field, so a JSON string);
/// SQLite takes a JSON path (`$.field`), PostgreSQL the field name.
pub const BACKFILL_ENDS_ON_SQLITE: &str = "UPDATE records SET ends_on = json_extract(data, $1) WHERE tenant_id = $2 AND collection_id = $3";
pub const BACKFILL_ENDS_ON_PG: &str =
    "UPDATE records SET ends_on = (data::jsonb ->> $1) WHERE tenant_id = $2 AND collection_id = $3";
pub const CLEAR_ENDS_ON: &str =
    "UPDATE records SET ends_on = NULL WHERE tenant_id = $1 AND collection_id = $2";
/// PostgreSQL: a purge holds its tenant's row, so a destruction waits for it (see
/// `DESTROY_TENANT_ROWS`); none: the tenant is gone.
pub const LOCK_TENANT_SHARED: &str = "SELECT 1 FROM tenants WHERE tenant_id = $1 FOR SHARE";
pub const INSERT_TOMBSTONE: &str = "INSERT INTO tombstones (tenant_id, object_id, name, subject_id, reason, deleted_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, object_id, name) DO NOTHING";
pub const TOMBSTONE: &str = "SELECT subject_id, reason, deleted_at FROM tombstones WHERE tenant_id = $1 AND object_id = $2 AND name = $3";
pub const SET_COLLECTION_RETENTION: &str =
    "UPDATE collections SET retention = $1 WHERE tenant_id = $2 AND collection_id = $3";
pub const RETENTION_RULES: &str = "SELECT rules FROM retention_rules WHERE tenant_id = $1";
pub const PUT_RETENTION_RULES: &str = "INSERT INTO retention_rules (tenant_id, rules, updated_by, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO UPDATE SET rules = excluded.rules, updated_by = excluded.updated_by, updated_at = excluded.updated_at";

// ── Jobs (the one cross-tenant table: claimed by due time, across tenants) ─────────────────
/// One job per intent. A job not yet run moves when the tenant's rules change its time (the
/// planner computes it afresh on every run); one that ran (deferred, or failed and waiting to
/// retry) keeps the time its handler chose.
pub const ENQUEUE_JOB: &str = "INSERT INTO jobs (job_id, tenant_id, kind, subject_id, dedupe_key, param, run_at, status, created_at, updated_at, object) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8, $9) ON CONFLICT (dedupe_key) DO UPDATE SET run_at = excluded.run_at, updated_at = excluded.updated_at WHERE jobs.status = 'pending' AND jobs.outcome IS NULL AND jobs.run_at <> excluded.run_at";
/// SQLite has one writer at a time: the claim is atomic as it is.
pub const CLAIM_JOBS_SQLITE: &str = concat!(
    "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $1, updated_at = $2 WHERE job_id IN (SELECT job_id FROM jobs WHERE (status = 'pending' OR (status = 'running' AND locked_until < $2)) AND run_at <= $2 AND (tenant_id = $3) = $4 AND (kind = $5) = $6 ORDER BY run_at, job_id LIMIT $7",
    ") RETURNING job_id, tenant_id, kind, subject_id, param, run_at, attempts, object"
);
/// PostgreSQL: rows another instance is claiming are skipped, never waited for or run twice.
pub const CLAIM_JOBS_PG: &str = concat!(
    "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $1, updated_at = $2 WHERE job_id IN (SELECT job_id FROM jobs WHERE (status = 'pending' OR (status = 'running' AND locked_until < $2)) AND run_at <= $2 AND (tenant_id = $3) = $4 AND (kind = $5) = $6 ORDER BY run_at, job_id LIMIT $7",
    " FOR UPDATE SKIP LOCKED",
    ") RETURNING job_id, tenant_id, kind, subject_id, param, run_at, attempts, object"
);
pub const FINISH_JOB: &str = "UPDATE jobs SET status = 'done', outcome = $1, locked_until = NULL, updated_at = $2 WHERE job_id = $3 AND status = 'running'";
/// A job that ran but could not act yet (a legal hold): pending again at `$1`, the attempt not
/// counted.
pub const DEFER_JOB: &str = "UPDATE jobs SET status = 'pending', attempts = attempts - 1, run_at = $1, outcome = $2, locked_until = NULL, updated_at = $3 WHERE job_id = $4 AND status = 'running'";
/// A failed attempt: again at `$1`, or given up after `$4` attempts.
pub const RETRY_JOB: &str = "UPDATE jobs SET status = CASE WHEN attempts >= $1 THEN 'failed' ELSE 'pending' END, run_at = $2, outcome = $3, locked_until = NULL, updated_at = $4 WHERE job_id = $5 AND status = 'running'";
/// A tenant's jobs of one kind (the planner's one look per tenant at what has run).
pub const JOBS_OF_KIND: &str = "SELECT job_id, tenant_id, kind, subject_id, param, run_at, attempts, object, status, outcome FROM jobs WHERE tenant_id = $1 AND kind = $2 ORDER BY run_at, job_id";
/// Since when the oldest unfinished installation job of a kind has been due (`param` keeps
/// an installation job's first due time; a retry moves only `run_at`): the lag of the backup
/// keys' refresh and of replication. A job not due yet (a safety net) is no lag.
pub const OLDEST_OPEN_JOB: &str = "SELECT MIN(param) FROM jobs WHERE tenant_id = $1 AND kind = $2 AND status IN ('pending', 'running') AND param <= $3";
pub const JOBS_OF_SUBJECT: &str = "SELECT job_id, tenant_id, kind, subject_id, param, run_at, attempts, object, status, outcome FROM jobs WHERE tenant_id = $1 AND subject_id = $2 ORDER BY run_at, job_id";

pub const INSERT_NOTICE: &str = "INSERT INTO deletion_notices (tenant_id, notice_id, user_id, what, expiry_at, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, user_id, what, expiry_at) DO NOTHING";
pub const NOTICE_FOR: &str = "SELECT notice_id, user_id, what, expiry_at, due_at, created_at, kept_at, done_at FROM deletion_notices WHERE tenant_id = $1 AND user_id = $2 AND what = $3 AND expiry_at = $4";
/// A page of a user's notices, newest first (ids are UUIDv7), before a cursor.
pub const NOTICES_PAGE: &str = "SELECT notice_id, user_id, what, expiry_at, due_at, created_at, kept_at, done_at FROM deletion_notices WHERE tenant_id = $1 AND user_id = $2 AND notice_id < $3 ORDER BY notice_id DESC LIMIT $4";
pub const NOTICES_OF_USER: &str = "SELECT notice_id, user_id, what, expiry_at, due_at, created_at, kept_at, done_at FROM deletion_notices WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, notice_id";
pub const KEEP_NOTICE: &str = "UPDATE deletion_notices SET kept_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND notice_id = $4 AND done_at IS NULL";
pub const FINISH_NOTICE: &str =
    "UPDATE deletion_notices SET done_at = $1 WHERE tenant_id = $2 AND notice_id = $3";
pub const SET_SUBJECT_HIDDEN: &str =
    "UPDATE records SET hidden = $1 WHERE tenant_id = $2 AND subject_id = $3 AND hidden <> $1";

/// Crypto-shredding a whole tenant, first and in one transaction: the tenant is closed (every
/// token stops working on every instance) and its keys are destroyed.
pub const DESTROY_TENANT_KEYS: [&str; 3] = [
    "UPDATE tenants SET status = 'suspended' WHERE tenant_id = $1",
    "DELETE FROM subject_keys WHERE tenant_id = $1",
    "DELETE FROM tenant_keys WHERE tenant_id = $1",
];
/// Every row of a tenant, children before parents (one transaction). A test checks that every
/// table with a `tenant_id` column is listed.
pub const DESTROY_TENANT_ROWS: [&str; 37] = [
    // PostgreSQL: waits for a purge that holds the tenant row (`LOCK_TENANT_SHARED`), so its
    // tombstone is deleted too; a later purge finds no tenant. (SQLite serialises writes.)
    "UPDATE tenants SET status = 'suspended' WHERE tenant_id = $1",
    "DELETE FROM tombstones WHERE tenant_id = $1",
    "DELETE FROM retention_rules WHERE tenant_id = $1",
    "DELETE FROM record_files WHERE tenant_id = $1",
    "DELETE FROM record_history WHERE tenant_id = $1",
    "DELETE FROM record_index WHERE tenant_id = $1",
    "DELETE FROM records WHERE tenant_id = $1",
    "DELETE FROM collections WHERE tenant_id = $1",
    "DELETE FROM tenant_policies WHERE tenant_id = $1",
    "DELETE FROM deletion_notices WHERE tenant_id = $1",
    "DELETE FROM jobs WHERE tenant_id = $1",
    "DELETE FROM privacy_checkpoints WHERE tenant_id = $1",
    "DELETE FROM privacy_log WHERE tenant_id = $1",
    "DELETE FROM privacy_log_heads WHERE tenant_id = $1",
    "DELETE FROM login_history WHERE tenant_id = $1",
    "DELETE FROM sessions WHERE tenant_id = $1",
    "DELETE FROM password_resets WHERE tenant_id = $1",
    "DELETE FROM totp_recovery_codes WHERE tenant_id = $1",
    "DELETE FROM user_totp WHERE tenant_id = $1",
    "DELETE FROM client_tokens WHERE tenant_id = $1",
    "DELETE FROM clients WHERE tenant_id = $1",
    "DELETE FROM oauth_codes WHERE tenant_id = $1",
    "DELETE FROM oauth_consents WHERE tenant_id = $1",
    "DELETE FROM support_sessions WHERE tenant_id = $1",
    "DELETE FROM support_requests WHERE tenant_id = $1",
    "DELETE FROM access_reviews WHERE tenant_id = $1",
    "DELETE FROM processors WHERE tenant_id = $1",
    "DELETE FROM breach_changes WHERE tenant_id = $1",
    "DELETE FROM breaches WHERE tenant_id = $1",
    "DELETE FROM disclosures WHERE tenant_id = $1",
    "DELETE FROM unknown_login_failures WHERE tenant_id = $1",
    "DELETE FROM group_members WHERE tenant_id = $1",
    "DELETE FROM groups WHERE tenant_id = $1",
    "DELETE FROM subject_keys WHERE tenant_id = $1",
    "DELETE FROM users WHERE tenant_id = $1",
    "DELETE FROM tenant_keys WHERE tenant_id = $1",
    "DELETE FROM tenants WHERE tenant_id = $1",
];

/// Whether a subject key is still wrapped under a KEK version older than `$2`.
pub const OLD_KEK_IN_USE: &str = "SELECT 1 FROM subject_keys WHERE tenant_id = $1 AND kek_version < $2 AND wrapped IS NOT NULL LIMIT 1";
/// Serialises KEK retirement with key creation for one tenant (PostgreSQL).
pub const LOCK_KEKS_PG: &str =
    "SELECT 1 FROM tenant_keys WHERE tenant_id = $1 AND purpose = 'kek' FOR UPDATE";

// ── Integration clients ──────────────────────────────────────────────────────────────────
pub const INSERT_CLIENT: &str = "INSERT INTO clients (tenant_id, client_id, name, scopes, secret_digest, previous_digest, previous_until, created_by, created_at, deleted_at, kind, redirect_uris) VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7, NULL, $8, $9)";
macro_rules! client_cols {
    () => {
        "tenant_id, client_id, name, scopes, secret_digest, previous_digest, previous_until, created_by, created_at, deleted_at, kind, redirect_uris"
    };
}
pub const CLIENT_BY_ID: &str = concat!(
    "SELECT ",
    client_cols!(),
    " FROM clients WHERE tenant_id = $1 AND client_id = $2"
);
/// A page of the tenant's live clients, newest first (ids are UUIDv7), after a cursor.
pub const LIST_CLIENTS: &str = concat!(
    "SELECT ",
    client_cols!(),
    " FROM clients WHERE tenant_id = $1 AND deleted_at IS NULL AND client_id < $2 ORDER BY client_id DESC LIMIT $3"
);
/// OAuth authorization codes and consents (`clients/oauth.rs`).
pub const INSERT_AUTH_CODE: &str = "INSERT INTO oauth_codes (tenant_id, code_digest, client_id, user_id, redirect_uri, code_challenge, expires_at, used_at, family_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8)";
/// Spends a live, unused code (once: the `used_at IS NULL` guard under the row's write lock).
pub const SPEND_AUTH_CODE: &str = "UPDATE oauth_codes SET used_at = $1 WHERE tenant_id = $2 AND code_digest = $3 AND used_at IS NULL AND expires_at > $1 RETURNING client_id, user_id, redirect_uri, code_challenge";
pub const AUTH_CODE_STATE: &str =
    "SELECT used_at, family_id FROM oauth_codes WHERE tenant_id = $1 AND code_digest = $2";
pub const SET_AUTH_CODE_FAMILY: &str =
    "UPDATE oauth_codes SET family_id = $1 WHERE tenant_id = $2 AND code_digest = $3";
/// Codes of the tenant that can no longer be used, dropped as new ones are issued.
pub const DROP_OLD_AUTH_CODES: &str =
    "DELETE FROM oauth_codes WHERE tenant_id = $1 AND expires_at < $2";
pub const INSERT_CONSENT: &str = "INSERT INTO oauth_consents (tenant_id, user_id, client_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, user_id, client_id) DO NOTHING";
pub const HAS_CONSENT: &str = "SELECT created_at FROM oauth_consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3";
pub const CONSENTS_OF: &str = "SELECT client_id, created_at FROM oauth_consents WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC";
pub const DELETE_CONSENT: &str =
    "DELETE FROM oauth_consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3";
/// Every session an app holds for a person ends with the consent.
pub const REVOKE_APP_SESSIONS: &str = "UPDATE sessions SET revoked_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND client_id = $4 AND revoked_at IS NULL";
/// Deleting keeps the row (the privacy log names the client) without its secrets.
pub const DELETE_CLIENT: &str = "UPDATE clients SET deleted_at = $1, secret_digest = NULL, previous_digest = NULL, previous_until = NULL WHERE tenant_id = $2 AND client_id = $3 AND deleted_at IS NULL";
pub const DELETE_CLIENT_TOKENS: &str =
    "DELETE FROM client_tokens WHERE tenant_id = $1 AND client_id = $2";
/// The new secret replaces the current one, which keeps working until `$1`.
pub const ROTATE_CLIENT_SECRET: &str = "UPDATE clients SET previous_digest = secret_digest, previous_until = $1, secret_digest = $2 WHERE tenant_id = $3 AND client_id = $4 AND deleted_at IS NULL";
pub const INSERT_CLIENT_TOKEN: &str = "INSERT INTO client_tokens (tenant_id, token_digest, client_id, scopes, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
pub const DELETE_EXPIRED_CLIENT_TOKENS: &str =
    "DELETE FROM client_tokens WHERE tenant_id = $1 AND client_id = $2 AND expires_at <= $3";
/// The client behind a live token of a live client in an active tenant.
pub const CLIENT_BY_TOKEN: &str = "SELECT k.client_id, k.scopes, COALESCE(p.version, 0) FROM client_tokens k JOIN clients c ON c.tenant_id = k.tenant_id AND c.client_id = k.client_id JOIN tenants t ON t.tenant_id = k.tenant_id LEFT JOIN tenant_policies p ON p.tenant_id = k.tenant_id WHERE k.tenant_id = $1 AND k.token_digest = $2 AND k.expires_at > $3 AND c.deleted_at IS NULL AND t.status = 'active'";

// ── Support access ───────────────────────────────────────────────────────────────────────
pub const INSERT_SUPPORT_REQUEST: &str = "INSERT INTO support_requests (tenant_id, request_id, superuser_id, reason, kind, user_id, minutes, status, created_at, pending_until, starts_at, ends_at, decided_by, decided_at, break_glass, first_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, NULL)";
macro_rules! support_cols {
    () => {
        "tenant_id, request_id, superuser_id, reason, kind, user_id, minutes, status, created_at, pending_until, starts_at, ends_at, decided_by, decided_at, break_glass, first_used_at"
    };
}
pub const SUPPORT_REQUEST: &str = concat!(
    "SELECT ",
    support_cols!(),
    " FROM support_requests WHERE tenant_id = $1 AND request_id = $2"
);
pub const SUPPORT_REQUESTS_OF_TENANT: &str = concat!(
    "SELECT ",
    support_cols!(),
    " FROM support_requests WHERE tenant_id = $1 AND request_id < $2 ORDER BY request_id DESC LIMIT $3"
);
/// A superuser's own requests, in every tenant they asked (a lookup by the superuser, who
/// belongs to the operator tenant: see `TENANT_LOOKUPS`).
pub const SUPPORT_REQUESTS_OF_SUPERUSER: &str = concat!(
    "SELECT ",
    support_cols!(),
    " FROM support_requests WHERE superuser_id = $1 AND request_id < $2 ORDER BY request_id DESC LIMIT $3"
);
/// Approves a pending request that has not expired: the grant runs from now for `$2 - $1`.
pub const APPROVE_SUPPORT_REQUEST: &str = "UPDATE support_requests SET status = 'approved', starts_at = $1, ends_at = $2, decided_by = $3, decided_at = $1 WHERE tenant_id = $4 AND request_id = $5 AND status = 'pending' AND pending_until > $1";
pub const DENY_SUPPORT_REQUEST: &str = "UPDATE support_requests SET status = 'denied', decided_by = $1, decided_at = $2 WHERE tenant_id = $3 AND request_id = $4 AND status = 'pending' AND pending_until > $2";
pub const REVOKE_SUPPORT_GRANT: &str = "UPDATE support_requests SET status = 'revoked', decided_by = $1, decided_at = $2 WHERE tenant_id = $3 AND request_id = $4 AND status = 'approved' AND ends_at > $2";
pub const DELETE_SUPPORT_SESSIONS: &str =
    "DELETE FROM support_sessions WHERE tenant_id = $1 AND request_id = $2";
/// Ends every open request and live grant of a superuser, in every tenant (the superuser is
/// removed: see `TENANT_LOOKUPS`); their sessions stop with the grants.
pub const END_SUPPORT_OF_SUPERUSER: &str = "UPDATE support_requests SET status = 'revoked', decided_at = $1 WHERE superuser_id = $2 AND status IN ('pending', 'approved')";
/// The first use of a grant (one row changed: the administrators are told).
pub const MARK_SUPPORT_USED: &str = "UPDATE support_requests SET first_used_at = $1 WHERE tenant_id = $2 AND request_id = $3 AND first_used_at IS NULL";
pub const INSERT_SUPPORT_SESSION: &str = "INSERT INTO support_sessions (tenant_id, token_digest, request_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)";
/// The grant behind a live support session: approved, not ended, its superuser active in the
/// operator tenant (`$1`), the customer tenant active.
pub const SUPPORT_BY_TOKEN: &str = "SELECT r.request_id, r.superuser_id, r.kind, r.user_id, r.ends_at, r.break_glass, COALESCE(p.version, 0) FROM support_sessions s JOIN support_requests r ON r.tenant_id = s.tenant_id AND r.request_id = s.request_id JOIN tenants t ON t.tenant_id = s.tenant_id JOIN users u ON u.tenant_id = $1 AND u.user_id = r.superuser_id LEFT JOIN tenant_policies p ON p.tenant_id = s.tenant_id WHERE s.tenant_id = $2 AND s.token_digest = $3 AND s.expires_at > $4 AND r.status = 'approved' AND r.ends_at > $4 AND t.status = 'active' AND u.status = 'active'";

pub const INSERT_ACCESS_REVIEW: &str = "INSERT INTO access_reviews (tenant_id, review_id, reviewer_id, reviewer, at, decisions) VALUES ($1, $2, $3, $4, $5, $6)";
pub const ACCESS_REVIEWS: &str = "SELECT review_id, reviewer_id, reviewer, at, decisions FROM access_reviews WHERE tenant_id = $1 ORDER BY at DESC, review_id DESC LIMIT $2";
/// A review takes a role away: the account stays.
pub const SET_USER_ROLES: &str =
    "UPDATE users SET roles = $1, updated_at = $2 WHERE tenant_id = $3 AND user_id = $4";

// ── Registers ────────────────────────────────────────────────────────────────────────────
pub const INSERT_PROCESSOR: &str = "INSERT INTO processors (tenant_id, processor_id, name, purpose, data_categories, location, transfer_safeguard, dpa_signed_on, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";
macro_rules! processor_cols {
    () => {
        "tenant_id, processor_id, name, purpose, data_categories, location, transfer_safeguard, dpa_signed_on, created_at, updated_at"
    };
}
/// A tenant's processors and the operator's (`$2`, the installation's id), newest first.
pub const PROCESSORS: &str = concat!(
    "SELECT ",
    processor_cols!(),
    " FROM processors WHERE (tenant_id = $1 OR tenant_id = $2) AND processor_id < $3 ORDER BY processor_id DESC LIMIT $4"
);
pub const PROCESSOR: &str = concat!(
    "SELECT ",
    processor_cols!(),
    " FROM processors WHERE tenant_id = $1 AND processor_id = $2"
);
pub const UPDATE_PROCESSOR: &str = "UPDATE processors SET name = $1, purpose = $2, data_categories = $3, location = $4, transfer_safeguard = $5, dpa_signed_on = $6, updated_at = $7 WHERE tenant_id = $8 AND processor_id = $9";
pub const DELETE_PROCESSOR: &str =
    "DELETE FROM processors WHERE tenant_id = $1 AND processor_id = $2";

macro_rules! breach_cols {
    () => {
        "tenant_id, breach_id, title, aware_at, nature, data_categories, subjects_estimate, records_estimate, consequences, measures, status, authority_notified_at, subjects_notified_at, delay_reason, not_notifiable_reason, recorded_by, created_at, updated_at"
    };
}
pub const INSERT_BREACH: &str = "INSERT INTO breaches (tenant_id, breach_id, title, aware_at, nature, data_categories, subjects_estimate, records_estimate, consequences, measures, status, authority_notified_at, subjects_notified_at, delay_reason, not_notifiable_reason, recorded_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";
pub const BREACH: &str = concat!(
    "SELECT ",
    breach_cols!(),
    " FROM breaches WHERE tenant_id = $1 AND breach_id = $2"
);
pub const BREACHES: &str = concat!(
    "SELECT ",
    breach_cols!(),
    " FROM breaches WHERE tenant_id = $1 AND breach_id < $2 ORDER BY breach_id DESC LIMIT $3"
);
/// A change, if the breach is still as the caller read it (`updated_at`).
pub const UPDATE_BREACH: &str = "UPDATE breaches SET status = $1, authority_notified_at = $2, subjects_notified_at = $3, delay_reason = $4, not_notifiable_reason = $5, measures = $6, consequences = $7, updated_at = $8 WHERE tenant_id = $9 AND breach_id = $10 AND updated_at = $11";
pub const INSERT_BREACH_CHANGE: &str = "INSERT INTO breach_changes (tenant_id, breach_id, change_id, at, actor_id, fields) VALUES ($1, $2, $3, $4, $5, $6)";
pub const BREACH_CHANGES: &str = "SELECT change_id, at, actor_id, fields FROM breach_changes WHERE tenant_id = $1 AND breach_id = $2 ORDER BY at, change_id";

pub const INSERT_DISCLOSURE: &str = "INSERT INTO disclosures (tenant_id, disclosure_id, requester, legal_basis, scope, status, opened_at, objection_until, objection_reason, objected_by, objected_at, released_at, released_by, final_order, records_released, withdrawn_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, NULL, NULL, NULL, NULL, NULL, $8, NULL, NULL)";
macro_rules! disclosure_cols {
    () => {
        "tenant_id, disclosure_id, requester, legal_basis, scope, status, opened_at, objection_until, objection_reason, objected_by, objected_at, released_at, released_by, final_order, records_released, withdrawn_at"
    };
}
pub const DISCLOSURE: &str = concat!(
    "SELECT ",
    disclosure_cols!(),
    " FROM disclosures WHERE tenant_id = $1 AND disclosure_id = $2"
);
/// The operator names a disclosure by its id alone (see `TENANT_LOOKUPS`).
pub const DISCLOSURE_BY_ID: &str = concat!(
    "SELECT ",
    disclosure_cols!(),
    " FROM disclosures WHERE disclosure_id = $1"
);
pub const DISCLOSURES: &str = concat!(
    "SELECT ",
    disclosure_cols!(),
    " FROM disclosures WHERE tenant_id = $1 AND disclosure_id < $2 ORDER BY disclosure_id DESC LIMIT $3"
);
/// An objection within the window, while the request is open.
pub const OBJECT_DISCLOSURE: &str = "UPDATE disclosures SET status = 'objected', objection_reason = $1, objected_by = $2, objected_at = $3 WHERE tenant_id = $4 AND disclosure_id = $5 AND status = 'open' AND objection_until > $3";
/// A release: after the window of an open request, or of any request not released or
/// withdrawn with a final order (`$6`).
pub const RELEASE_DISCLOSURE: &str = "UPDATE disclosures SET status = 'released', released_at = $1, released_by = $2, final_order = $3, records_released = $4 WHERE tenant_id = $5 AND disclosure_id = $6 AND ((status = 'open' AND objection_until <= $1) OR ($3 AND status IN ('open', 'objected')))";
pub const WITHDRAW_DISCLOSURE: &str = "UPDATE disclosures SET status = 'withdrawn', withdrawn_at = $1 WHERE tenant_id = $2 AND disclosure_id = $3 AND status IN ('open', 'objected')";
pub const RECORDS_OF_COLLECTION: &str = record_view!(
    "r.tenant_id = $1 AND r.collection_id = $2 AND r.deleted_at IS NULL ORDER BY r.created_at, r.record_id"
);

// ── Backups ──────────────────────────────────────────────────────────────────────────────
pub use crate::tables::{BACKUP_TABLES, NOT_BACKED_UP};

pub const INSERT_BACKUP_RUN: &str = "INSERT INTO backup_runs (run_id, kind, at, snapshot, bytes, millis, ok, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// The newest run of a kind with an outcome.
pub const LAST_BACKUP_RUN: &str = "SELECT run_id, kind, at, snapshot, bytes, millis, ok, detail FROM backup_runs WHERE kind = $1 AND ok = $2 ORDER BY at DESC, run_id DESC LIMIT 1";
/// Runs per kind and outcome (a counter for /metrics, whichever process ran them).
pub const COUNT_BACKUP_RUNS: &str =
    "SELECT kind, ok, COUNT(*) FROM backup_runs GROUP BY kind, ok ORDER BY kind, ok";

/// The statements of a backup and a restore, made from [`BACKUP_TABLES`] once: per table, the
/// whole-table read and the insert of one row (with PostgreSQL's and SQLite's placeholders
/// alike, `$1…$n`).
pub struct BackupStatements {
    pub select: String,
    pub insert: String,
    /// Whether the table holds any row.
    pub any: String,
}

pub static BACKUP_STATEMENTS: std::sync::LazyLock<Vec<BackupStatements>> =
    std::sync::LazyLock::new(|| {
        BACKUP_TABLES
            .iter()
            .map(|t| {
                let cols: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
                let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
                BackupStatements {
                    select: format!("SELECT {} FROM {}", cols.join(", "), t.name),
                    insert: format!(
                        "INSERT INTO {} ({}) VALUES ({})",
                        t.name,
                        cols.join(", "),
                        marks.join(", ")
                    ),
                    any: format!("SELECT 1 FROM {} LIMIT 1", t.name),
                }
            })
            .collect()
    });

/// Tables that are installation-wide by nature, each with its reason: a statement on them
/// alone needs no tenant filter. Later capabilities add theirs here (operator-wide
/// registers, backup drills, the vendor's staff).
pub const INSTALLATION_WIDE: &[(&str, &str)] = &[
    (
        "jobs",
        "the durable job queue, claimed across tenants by the workers; every job carries its tenant",
    ),
    (
        "tenants",
        "the tenant directory: every tenant's row is keyed by its own id",
    ),
    (
        "backup_runs",
        "the installation's backups, drills and restores: a backup is of every tenant at once",
    ),
];

/// The statements that find a tenant from what a caller presents (its slug at login; later a
/// client id or an endpoint id): the one kind of statement that may lack a tenant filter on
/// a tenant's data, because finding the tenant is what it is for.
pub const TENANT_LOOKUPS: &[&str] = &[
    "TENANT_BY_SLUG",
    // A superuser (of the operator tenant) reaches their own requests in the tenants they
    // asked, and their removal ends them there.
    "SUPPORT_REQUESTS_OF_SUPERUSER",
    "END_SUPPORT_OF_SUPERUSER",
    // The operator releases or withdraws a disclosure by its id.
    "DISCLOSURE_BY_ID",
];

#[cfg(test)]
#[path = "sql_tests.rs"]
mod tests;
