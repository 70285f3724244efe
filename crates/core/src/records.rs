//! Collections and records: typed schemas, validation, field encryption, blind-index search,
//! change history, and the access check (levels 2 and 3) with privacy logging around them.
//!
//! Order on every read of personal data: level 2 (may the caller call this), load the row
//! (tenant-scoped: level 1), level 3 (may the caller see this record), and only then open the
//! subject's key and decrypt; the privacy-log entry is durable before the answer leaves.
//! A level-3 denial answers 404 (the record's existence is not the caller's business) unless
//! the record is hidden by retention and would otherwise be allowed: then 403, as API.md says.

use crate::access::{Action, Actor, RecordFacts, Verdict};
use crate::error::failed;
use crate::keyring::SubjectKey;
use crate::{CoreError, Principal, Services};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::net::IpAddr;
use strongroom_domain::{CollectionId, GroupId, RecordId, Timestamp, UserId};
use strongroom_store::{
    ChangeLog, Collection, HistoryRow, IndexEntry, PrivacyEntry, RecordRow, RecordView, RecordWrite,
};

/// The most fields a collection may have.
pub const MAX_FIELDS: usize = 64;
/// The longest string value, in bytes.
pub const MAX_STRING_BYTES: usize = 16 * 1024;
/// The most records one search answers.
pub const SEARCH_LIMIT: u32 = 100;
/// The privacy log's object type for records.
pub const RECORD_OBJECT: &str = "record";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
        }
    }
}

/// One field of a collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Encrypted under the data subject's key.
    #[serde(default)]
    pub personal: bool,
    /// Equality search through a blind index.
    #[serde(default)]
    pub searchable: bool,
    #[serde(default)]
    pub required: bool,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CollectionInfo {
    pub id: CollectionId,
    pub name: String,
    pub fields: Vec<FieldDef>,
    /// The legal retention period: records whose end date is older are purged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<crate::deletion::LegalRetention>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

pub use strongroom_domain::Visibility;

pub struct NewRecord {
    pub subject_id: UserId,
    pub group_id: Option<GroupId>,
    /// The record this one is about (feedback on a recording): it takes that record's
    /// subject, group and visibility.
    pub parent_id: Option<RecordId>,
    pub visibility: Option<Visibility>,
    pub data: Map<String, Value>,
}

/// A change: `data` is merged (a `null` removes an optional field).
#[derive(Default)]
pub struct RecordChanges {
    pub data: Option<Map<String, Value>>,
    pub visibility: Option<Visibility>,
    /// `false` reopens a hidden record (needs `reopenRecord`), `true` hides it.
    pub hidden: Option<bool>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FileInfo {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RecordInfo {
    pub id: RecordId,
    pub collection: String,
    pub subject_id: UserId,
    pub group_id: Option<GroupId>,
    pub parent_id: Option<RecordId>,
    pub visibility: Visibility,
    pub hidden: bool,
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    pub version: u32,
    pub created_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub files: Vec<FileInfo>,
    /// Soft-deleted at (administrators can restore it until it is purged).
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<Timestamp>,
    /// On legal hold: nothing deletes it until the hold is released.
    pub legal_hold: bool,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryInfo {
    pub version: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub actor_id: UserId,
    /// The actor's name, or "Deleted GDPR" once they were forgotten.
    pub actor: String,
    pub action: String,
    pub fields: Vec<String>,
    /// The changed fields' values before the change (for updates).
    #[schema(value_type = Option<Object>)]
    pub before: Option<Map<String, Value>>,
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub(crate) fn parse_fields(json: &str) -> Result<Vec<FieldDef>, CoreError> {
    serde_json::from_str(json)
        .map_err(|_| CoreError::internal("stored collection fields do not parse", ""))
}

/// Checks one value against its field's type; the error names the field.
fn check_value(f: &FieldDef, v: &Value) -> Result<(), CoreError> {
    let ok = match (f.kind, v) {
        (FieldType::String, Value::String(s)) => {
            if s.len() > MAX_STRING_BYTES {
                return Err(CoreError::Invalid(format!(
                    "data.{}: at most {MAX_STRING_BYTES} bytes",
                    f.name
                )));
            }
            true
        }
        (FieldType::Integer, Value::Number(n)) => n.is_i64(),
        (FieldType::Number, Value::Number(_)) | (FieldType::Boolean, Value::Bool(_)) => true,
        (FieldType::Date, Value::String(s)) => {
            time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).is_ok()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(CoreError::Invalid(format!(
            "data.{}: expected {}",
            f.name,
            match f.kind {
                FieldType::Date => "a date (YYYY-MM-DD)",
                FieldType::Integer => "an integer",
                FieldType::Number => "a number",
                FieldType::Boolean => "true or false",
                FieldType::String => "a string",
            }
        )))
    }
}

/// Validates a complete record's data against the collection (unknown, missing, mistyped).
fn validate_data(fields: &[FieldDef], data: &Map<String, Value>) -> Result<(), CoreError> {
    for key in data.keys() {
        if !fields.iter().any(|f| &f.name == key) {
            return Err(CoreError::Invalid(format!(
                "data.{key}: the collection has no such field"
            )));
        }
    }
    for f in fields {
        match data.get(&f.name) {
            None | Some(Value::Null) if f.required => {
                return Err(CoreError::Invalid(format!("data.{}: required", f.name)));
            }
            None | Some(Value::Null) => {}
            Some(v) => check_value(f, v)?,
        }
    }
    Ok(())
}

/// The canonical text of a value for the blind index.
fn canonical(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Services {
    /// The caller as the access policies see them, with their subject key (for sealing the
    /// client address of their privacy-log entries).
    pub(crate) fn actor(p: &Principal) -> (Actor, Option<strongroom_store::WrappedSubjectKey>) {
        (
            Actor {
                tenant: p.tenant_id,
                user: p.user_id,
                roles: p.roles.clone(),
                memberships: p.memberships.clone(),
                policy_version: p.policy_version,
            },
            p.subject_key.clone(),
        )
    }

    /// A privacy-log entry by this actor about a record (or file), with the client address
    /// sealed under the actor's own key.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn access_entry(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        via: &str,
        subject: Option<UserId>,
        object: (&str, Option<uuid::Uuid>),
        action: &str,
        fields: Vec<String>,
        decision: &str,
    ) -> Result<PrivacyEntry, CoreError> {
        let client_sealed = match (client, &actor.1) {
            (Some(ip), Some(w)) => {
                let keys = self
                    .keyring
                    .tenant_with_kek(
                        &*self.store,
                        actor.0.tenant,
                        w.kek_version,
                        self.clock.now(),
                    )
                    .await?;
                let key = keys.open_subject_key(actor.0.user.0, w)?;
                Some(key.seal(
                    actor.0.tenant,
                    "privacy_log",
                    actor.0.user.0,
                    "client",
                    ip.to_string().as_bytes(),
                )?)
            }
            _ => None,
        };
        Ok(PrivacyEntry {
            at: self.clock.now(),
            actor_id: Some(actor.0.user.0),
            via: via.to_owned(),
            subject_id: subject.map(|s| s.0),
            object_type: object.0.to_owned(),
            object_id: object.1,
            action: action.to_owned(),
            fields,
            decision: decision.to_owned(),
            client_sealed,
        })
    }

    /// Builds an access entry (see [`Self::access_entry`]) and appends it durably.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn log_access(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        via: &str,
        subject: Option<UserId>,
        object: (&str, Option<uuid::Uuid>),
        action: &str,
        fields: Vec<String>,
        decision: &str,
    ) -> Result<(), CoreError> {
        let entry = self
            .access_entry(
                actor, client, via, subject, object, action, fields, decision,
            )
            .await?;
        self.privacy.append(actor.0.tenant, entry).await?;
        Ok(())
    }

    /// The entry of an allowed change (see [`Self::access_entry`]), for the store to append
    /// inside the change's own transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn change_log(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        via: &str,
        subject: Option<UserId>,
        object: (&str, Option<uuid::Uuid>),
        action: &str,
        fields: Vec<String>,
    ) -> Result<ChangeLog, CoreError> {
        let entry = self
            .access_entry(actor, client, via, subject, object, action, fields, "allow")
            .await?;
        Ok(crate::privacy::change_log(actor.0.tenant, vec![entry]))
    }

    /// Level 2, with a refusal logged and answered 403.
    pub(crate) async fn level2(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        action: Action,
        object: (&str, Option<uuid::Uuid>),
    ) -> Result<(), CoreError> {
        if self
            .access
            .level2(&*self.store, &actor.0, action)
            .await?
            .allowed()
        {
            return Ok(());
        }
        self.log_access(
            actor,
            client,
            &actor.0.roles.to_stored(),
            None,
            object,
            action.as_str(),
            Vec::new(),
            "deny",
        )
        .await?;
        Err(CoreError::Forbidden(format!(
            "your roles do not allow {}",
            action.as_str()
        )))
    }

    /// Level 3 facts of a record: a reply takes its parent's visibility and hidden flag.
    pub(crate) async fn facts(&self, view: &RecordView) -> Result<RecordFacts, CoreError> {
        let r = &view.record;
        let (visibility, hidden) = match r.parent_id {
            Some(parent) => match self.store.record(r.tenant_id, parent).await? {
                Some(pv) => (pv.record.visibility, pv.record.hidden || r.hidden),
                None => (r.visibility, r.hidden),
            },
            None => (r.visibility, r.hidden),
        };
        Ok(RecordFacts {
            tenant: r.tenant_id,
            id: r.id,
            collection: view.collection.name.clone(),
            owner: r.subject_id,
            author: r.created_by,
            group: r.group_id,
            visibility,
            hidden,
            is_reply: r.parent_id.is_some(),
        })
    }

    /// Level 3, with a refusal logged: 403 if only retention's hiding stands in the way,
    /// 404 otherwise. Returns the role the permit acts in.
    pub(crate) async fn level3(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        action: Action,
        facts: &RecordFacts,
        object: (&str, Option<uuid::Uuid>),
    ) -> Result<String, CoreError> {
        let verdict = self
            .access
            .on_record(&*self.store, &actor.0, action, facts)
            .await?;
        if let Verdict::Allow { role } = verdict {
            return Ok(role);
        }
        self.log_access(
            actor,
            client,
            &actor.0.roles.to_stored(),
            Some(facts.owner),
            object,
            action.as_str(),
            Vec::new(),
            "deny",
        )
        .await?;
        if facts.hidden {
            let unhidden = RecordFacts {
                hidden: false,
                ..facts.clone()
            };
            if self
                .access
                .on_record(&*self.store, &actor.0, action, &unhidden)
                .await?
                .allowed()
            {
                return Err(CoreError::Forbidden(
                    "this record is hidden (retention); an administrator can reopen it".into(),
                ));
            }
        }
        Err(CoreError::NotFound("record"))
    }

    pub(crate) async fn subject_key_of(
        &self,
        view: &RecordView,
    ) -> Result<Option<SubjectKey>, CoreError> {
        let Some(w) = &view.subject_key else {
            return Ok(None);
        };
        let keys = self
            .keyring
            .tenant_with_kek(
                &*self.store,
                view.record.tenant_id,
                w.kek_version,
                self.clock.now(),
            )
            .await?;
        Ok(Some(keys.open_subject_key(view.record.subject_id.0, w)?))
    }

    // ── Collections ──────────────────────────────────────────────────────────────────────

    pub async fn create_collection(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        name: &str,
        fields: Vec<FieldDef>,
        retention: Option<crate::deletion::LegalRetention>,
    ) -> Result<CollectionInfo, CoreError> {
        let actor = Self::actor(p);
        self.level2(
            &actor,
            client,
            Action::ManageCollections,
            ("collection", None),
        )
        .await?;
        if !valid_name(name) {
            return Err(CoreError::Invalid(
                "name: 1 to 63 characters: a-z first, then a-z, 0-9 or _".into(),
            ));
        }
        if fields.is_empty() || fields.len() > MAX_FIELDS {
            return Err(CoreError::Invalid(format!(
                "fields: give 1 to {MAX_FIELDS} fields"
            )));
        }
        let mut seen = BTreeSet::new();
        for f in &fields {
            if !valid_name(&f.name) {
                return Err(CoreError::Invalid(format!(
                    "fields.{}: a field name is 1 to 63 characters: a-z first, then a-z, 0-9 or _",
                    f.name
                )));
            }
            if !seen.insert(f.name.clone()) {
                return Err(CoreError::Invalid(format!(
                    "fields.{}: named twice",
                    f.name
                )));
            }
            if f.searchable && f.kind == FieldType::Number {
                return Err(CoreError::Invalid(format!(
                    "fields.{}: a number field cannot be searchable (equality on decimals is unreliable); use integer or string",
                    f.name
                )));
            }
        }
        if let Some(r) = &retention {
            r.check(&fields)?;
        }
        let c = Collection {
            tenant_id: p.tenant_id,
            id: CollectionId::new(),
            name: name.to_owned(),
            fields: serde_json::to_string(&fields)
                .map_err(failed("collection fields do not serialise"))?,
            created_by: p.user_id,
            created_at: self.clock.now(),
            retention: crate::deletion::LegalRetention::stored(retention.as_ref())?,
        };
        self.store.insert_collection(&c).await?;
        Ok(CollectionInfo {
            id: c.id,
            name: c.name,
            fields,
            retention,
            created_at: c.created_at,
        })
    }

    pub async fn list_collections(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
    ) -> Result<Vec<CollectionInfo>, CoreError> {
        let actor = Self::actor(p);
        self.level2(
            &actor,
            client,
            Action::ReadCollections,
            ("collection", None),
        )
        .await?;
        self.store
            .list_collections(p.tenant_id)
            .await?
            .into_iter()
            .map(|c| Self::collection_info(&c))
            .collect()
    }

    pub(crate) fn collection_info(c: &Collection) -> Result<CollectionInfo, CoreError> {
        Ok(CollectionInfo {
            id: c.id,
            fields: parse_fields(&c.fields)?,
            name: c.name.clone(),
            retention: crate::deletion::LegalRetention::of(c)?,
            created_at: c.created_at,
        })
    }

    pub(crate) async fn collection(
        &self,
        p: &Principal,
        name: &str,
    ) -> Result<Collection, CoreError> {
        self.store
            .collection_by_name(p.tenant_id, name)
            .await?
            .ok_or(CoreError::NotFound("collection"))
    }

    // ── Records ──────────────────────────────────────────────────────────────────────────

    /// The stored form of record data (personal values sealed) and the names of the fields
    /// that have a value.
    fn seal_data(
        tenant: strongroom_domain::TenantId,
        c: &Collection,
        fields: &[FieldDef],
        record: RecordId,
        key: &SubjectKey,
        data: &Map<String, Value>,
    ) -> Result<(Map<String, Value>, Vec<String>), CoreError> {
        let mut stored = Map::new();
        let mut names = Vec::new();
        for f in fields {
            let Some(v) = data.get(&f.name).filter(|v| !v.is_null()) else {
                continue;
            };
            names.push(f.name.clone());
            if f.personal {
                let plain =
                    serde_json::to_vec(v).map_err(failed("a field value does not serialise"))?;
                let sealed = key.seal(tenant, &c.name, record.0, &f.name, &plain)?;
                stored.insert(
                    f.name.clone(),
                    Value::String(URL_SAFE_NO_PAD.encode(sealed)),
                );
            } else {
                stored.insert(f.name.clone(), v.clone());
            }
        }
        Ok((stored, names))
    }

    fn index_entries(
        keys: &crate::keyring::TenantKeys,
        c: &Collection,
        fields: &[FieldDef],
        data: &Map<String, Value>,
    ) -> Vec<IndexEntry> {
        fields
            .iter()
            .filter(|f| f.searchable)
            .filter_map(|f| {
                data.get(&f.name)
                    .filter(|v| !v.is_null())
                    .map(|v| IndexEntry {
                        field: f.name.clone(),
                        digest: keys.record_index(c.id.0, &f.name, &canonical(v)),
                    })
            })
            .collect()
    }

    /// Opens stored data: personal values under the subject key (absent once the subject is
    /// forgotten), the rest as stored.
    pub(crate) fn open_data(
        tenant: strongroom_domain::TenantId,
        c: &Collection,
        fields: &[FieldDef],
        record: RecordId,
        key: Option<&SubjectKey>,
        stored: &str,
    ) -> Result<(Map<String, Value>, Vec<String>), CoreError> {
        let stored: Map<String, Value> = serde_json::from_str(stored)
            .map_err(|_| CoreError::internal("stored record data does not parse", ""))?;
        let mut out = Map::new();
        let mut personal = Vec::new();
        for f in fields {
            let Some(v) = stored.get(&f.name) else {
                continue;
            };
            if f.personal {
                let (Some(key), Value::String(b64)) = (key, v) else {
                    continue;
                };
                let sealed = URL_SAFE_NO_PAD
                    .decode(b64)
                    .map_err(failed("a sealed field is not base64"))?;
                let plain = key.open(tenant, &c.name, record.0, &f.name, &sealed)?;
                let value: Value = serde_json::from_slice(&plain)
                    .map_err(failed("an opened field is not JSON"))?;
                out.insert(f.name.clone(), value);
                personal.push(f.name.clone());
            } else {
                out.insert(f.name.clone(), v.clone());
            }
        }
        Ok((out, personal))
    }

    #[allow(
        clippy::too_many_lines,
        reason = "one linear sequence of checked steps"
    )]
    pub async fn create_record(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        collection: &str,
        new: NewRecord,
    ) -> Result<RecordId, CoreError> {
        let actor = Self::actor(p);
        self.level2(&actor, client, Action::CreateRecord, (RECORD_OBJECT, None))
            .await?;
        let c = self.collection(p, collection).await?;
        let fields = parse_fields(&c.fields)?;
        validate_data(&fields, &new.data)?;
        let (subject, group, visibility) = match new.parent_id {
            Some(parent) => {
                let pv =
                    self.store
                        .record(p.tenant_id, parent)
                        .await?
                        .ok_or(CoreError::Invalid(
                            "parent_id: no such record in this tenant".into(),
                        ))?;
                if pv.record.subject_id != new.subject_id {
                    return Err(CoreError::Invalid(
                        "subject_id: a record about another record has that record's subject"
                            .into(),
                    ));
                }
                // Replying needs the right to read what one replies to.
                let facts = self.facts(&pv).await?;
                self.level3(
                    &actor,
                    client,
                    Action::ReadRecord,
                    &facts,
                    (RECORD_OBJECT, Some(parent.0)),
                )
                .await
                .map_err(|e| match e {
                    CoreError::NotFound(_) => {
                        CoreError::Invalid("parent_id: no such record in this tenant".into())
                    }
                    other => other,
                })?;
                (
                    pv.record.subject_id,
                    pv.record.group_id,
                    pv.record.visibility,
                )
            }
            None => (
                new.subject_id,
                new.group_id,
                new.visibility.unwrap_or(Visibility::Private),
            ),
        };
        if new.parent_id.is_some() && new.group_id.is_some_and(|g| Some(g) != group) {
            return Err(CoreError::Invalid(
                "group_id: a record about another record is in that record's group".into(),
            ));
        }
        let subject_user = self
            .store
            .user_by_id(p.tenant_id, subject)
            .await?
            .filter(|u| u.subject_key.is_some())
            .ok_or_else(|| CoreError::Invalid("subject_id: no such user in this tenant".into()))?;
        if let Some(g) = group
            && self.store.group_by_id(p.tenant_id, g).await?.is_none()
        {
            return Err(CoreError::Invalid(
                "group_id: no such group in this tenant".into(),
            ));
        }
        let id = RecordId::new();
        let now = self.clock.now();
        let facts = RecordFacts {
            tenant: p.tenant_id,
            id,
            collection: c.name.clone(),
            owner: subject,
            author: p.user_id,
            group,
            visibility,
            hidden: false,
            is_reply: new.parent_id.is_some(),
        };
        let role = self
            .level3(
                &actor,
                client,
                Action::CreateRecord,
                &facts,
                (RECORD_OBJECT, None),
            )
            .await
            .map_err(|e| match e {
                CoreError::NotFound(_) => {
                    CoreError::Forbidden("the policies do not let you create this record".into())
                }
                other => other,
            })?;
        let keys = self
            .tenant_keys_for(p.tenant_id, std::slice::from_ref(&subject_user))
            .await?;
        let w = subject_user
            .subject_key
            .as_ref()
            .ok_or_else(|| CoreError::internal("the subject has no key", "absent"))?;
        let key = keys.open_subject_key(subject.0, w)?;
        let (data, names) = Self::seal_data(p.tenant_id, &c, &fields, id, &key, &new.data)?;
        let data =
            serde_json::to_string(&data).map_err(failed("record data does not serialise"))?;
        let index = Self::index_entries(&keys, &c, &fields, &new.data);
        let personal: Vec<String> = fields
            .iter()
            .filter(|f| f.personal && names.contains(&f.name))
            .map(|f| f.name.clone())
            .collect();
        let log = self
            .change_log(
                &actor,
                client,
                &role,
                Some(subject),
                (RECORD_OBJECT, Some(id.0)),
                "create",
                personal,
            )
            .await?;
        self.store
            .insert_record(
                &RecordWrite {
                    record: RecordRow {
                        tenant_id: p.tenant_id,
                        id,
                        collection_id: c.id,
                        subject_id: subject,
                        group_id: group,
                        parent_id: new.parent_id,
                        visibility,
                        hidden: false,
                        ends_on: crate::deletion::ends_on(&c, &new.data)?,
                        data,
                        version: 1,
                        created_by: p.user_id,
                        created_at: now,
                        updated_at: now,
                        deleted_at: None,
                        held_at: None,
                    },
                    index,
                    history: HistoryRow {
                        record_id: id,
                        version: 1,
                        at: now,
                        actor_id: p.user_id,
                        action: "create".into(),
                        fields: names,
                        data_before: None,
                    },
                },
                &log,
            )
            .await?;
        Ok(id)
    }

    /// Loads a record through levels 2 and 3 (both logged when they refuse).
    pub(crate) async fn checked_record(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        action: Action,
        id: RecordId,
    ) -> Result<(RecordView, RecordFacts, String), CoreError> {
        let (view, facts, role) = self
            .checked_record_even_deleted(actor, client, action, id)
            .await?;
        crate::deletion::not_deleted(&view)?;
        Ok((view, facts, role))
    }

    /// `checked_record`, also for a soft-deleted record (restoring, holding).
    pub(crate) async fn checked_record_even_deleted(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        action: Action,
        id: RecordId,
    ) -> Result<(RecordView, RecordFacts, String), CoreError> {
        self.level2(actor, client, action, (RECORD_OBJECT, Some(id.0)))
            .await?;
        let Some(view) = self.store.record(actor.0.tenant, id).await? else {
            return Err(self.missing_record(&actor.0, id).await);
        };
        let facts = self.facts(&view).await?;
        let role = self
            .level3(actor, client, action, &facts, (RECORD_OBJECT, Some(id.0)))
            .await?;
        Ok((view, facts, role))
    }

    pub(crate) fn info(
        view: &RecordView,
        data: Map<String, Value>,
        files: Vec<FileInfo>,
    ) -> RecordInfo {
        let r = &view.record;
        RecordInfo {
            id: r.id,
            collection: view.collection.name.clone(),
            subject_id: r.subject_id,
            group_id: r.group_id,
            parent_id: r.parent_id,
            visibility: r.visibility,
            hidden: r.hidden,
            data,
            version: r.version,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            files,
            deleted_at: r.deleted_at,
            legal_hold: r.held_at.is_some(),
        }
    }

    /// `GET /records/{id}`: the four-level check, then decrypt, then log (durably), then answer.
    pub async fn get_record(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        id: RecordId,
    ) -> Result<RecordInfo, CoreError> {
        let actor = Self::actor(p);
        self.level2(
            &actor,
            client,
            Action::ReadRecord,
            (RECORD_OBJECT, Some(id.0)),
        )
        .await?;
        let Some((view, files)) = self.store.record_with_files(p.tenant_id, id).await? else {
            return Err(self.missing_record(&actor.0, id).await);
        };
        let facts = self.facts(&view).await?;
        let role = self
            .level3(
                &actor,
                client,
                Action::ReadRecord,
                &facts,
                (RECORD_OBJECT, Some(id.0)),
            )
            .await?;
        crate::deletion::not_deleted(&view)?;
        let fields = parse_fields(&view.collection.fields)?;
        let key = self.subject_key_of(&view).await?;
        let (data, personal) = Self::open_data(
            p.tenant_id,
            &view.collection,
            &fields,
            id,
            key.as_ref(),
            &view.record.data,
        )?;
        let files = files
            .into_iter()
            .map(|f| FileInfo {
                name: f.name,
                content_type: f.content_type,
                size: f.size,
                created_at: f.created_at,
            })
            .collect();
        self.log_access(
            &actor,
            client,
            &role,
            Some(view.record.subject_id),
            (RECORD_OBJECT, Some(id.0)),
            "read",
            personal,
            "allow",
        )
        .await?;
        Ok(Self::info(&view, data, files))
    }

    /// Equality search on a searchable field; answers only the records the caller may read
    /// (each one logged as read).
    pub async fn search_records(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        collection: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<RecordInfo>, CoreError> {
        let actor = Self::actor(p);
        self.level2(&actor, client, Action::ReadRecord, (RECORD_OBJECT, None))
            .await?;
        let c = self.collection(p, collection).await?;
        let fields = parse_fields(&c.fields)?;
        let f = fields.iter().find(|f| f.name == field).ok_or_else(|| {
            CoreError::Invalid(format!("{field}: the collection has no such field"))
        })?;
        if !f.searchable {
            return Err(CoreError::Invalid(format!(
                "{field}: not a searchable field"
            )));
        }
        let typed = match f.kind {
            FieldType::String | FieldType::Date => Value::String(value.to_owned()),
            FieldType::Integer => value
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| CoreError::Invalid(format!("{field}: expected an integer")))?,
            FieldType::Boolean => value
                .parse::<bool>()
                .map(Value::from)
                .map_err(|_| CoreError::Invalid(format!("{field}: expected true or false")))?,
            FieldType::Number => {
                return Err(CoreError::Invalid(format!("{field}: not searchable")));
            }
        };
        check_value(f, &typed)?;
        let keys = self.tenant_keys(p.tenant_id).await?;
        let digest = keys.record_index(c.id.0, field, &canonical(&typed));
        let hits = self
            .store
            .search_records(p.tenant_id, c.id, field, &digest, SEARCH_LIMIT)
            .await?;
        let mut out = Vec::new();
        let mut entries = Vec::new();
        for view in hits {
            let facts = self.facts(&view).await?;
            let Verdict::Allow { role } = self
                .access
                .on_record(&*self.store, &actor.0, Action::ReadRecord, &facts)
                .await?
            else {
                continue;
            };
            let key = self.subject_key_of(&view).await?;
            let (data, personal) = Self::open_data(
                p.tenant_id,
                &view.collection,
                &fields,
                view.record.id,
                key.as_ref(),
                &view.record.data,
            )?;
            entries.push(
                self.access_entry(
                    &actor,
                    client,
                    &role,
                    Some(view.record.subject_id),
                    (RECORD_OBJECT, Some(view.record.id.0)),
                    "read",
                    personal,
                    "allow",
                )
                .await?,
            );
            out.push(Self::info(&view, data, Vec::new()));
        }
        self.privacy.append_all(p.tenant_id, entries).await?;
        Ok(out)
    }

    /// Changes a record: merged data, visibility, or (administrators) hidden.
    #[allow(
        clippy::too_many_lines,
        reason = "one linear sequence of checked steps"
    )]
    pub async fn update_record(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        id: RecordId,
        changes: RecordChanges,
    ) -> Result<RecordInfo, CoreError> {
        let actor = Self::actor(p);
        // Hiding and reopening is its own right (administrators in the templates); changing
        // contents or visibility needs `updateRecord`, and both when a request does both.
        let only_hidden =
            changes.data.is_none() && changes.visibility.is_none() && changes.hidden.is_some();
        let first = if only_hidden {
            Action::ReopenRecord
        } else {
            Action::UpdateRecord
        };
        let (view, facts, role) = self.checked_record(&actor, client, first, id).await?;
        if changes.hidden.is_some() && !only_hidden {
            self.level2(
                &actor,
                client,
                Action::ReopenRecord,
                (RECORD_OBJECT, Some(id.0)),
            )
            .await?;
            self.level3(
                &actor,
                client,
                Action::ReopenRecord,
                &facts,
                (RECORD_OBJECT, Some(id.0)),
            )
            .await?;
        }
        let fields = parse_fields(&view.collection.fields)?;
        let key = self
            .subject_key_of(&view)
            .await?
            .ok_or_else(|| CoreError::Conflict("the record's subject was forgotten".into()))?;
        let (current, _) = Self::open_data(
            p.tenant_id,
            &view.collection,
            &fields,
            id,
            Some(&key),
            &view.record.data,
        )?;
        let mut next = current.clone();
        if let Some(patch) = &changes.data {
            for (k, v) in patch {
                if v.is_null() {
                    next.remove(k);
                } else {
                    next.insert(k.clone(), v.clone());
                }
            }
        }
        validate_data(&fields, &next)?;
        let mut touched: Vec<String> = fields
            .iter()
            .filter(|f| current.get(&f.name) != next.get(&f.name))
            .map(|f| f.name.clone())
            .collect();
        let mut before = Map::new();
        for name in &touched {
            if let Some(v) = current.get(name) {
                before.insert(name.clone(), v.clone());
            }
        }
        let visibility = changes.visibility.unwrap_or(view.record.visibility);
        if visibility != view.record.visibility {
            touched.push("visibility".into());
            before.insert(
                "visibility".into(),
                Value::String(view.record.visibility.as_str().to_owned()),
            );
        }
        let hidden = changes.hidden.unwrap_or(view.record.hidden);
        if hidden != view.record.hidden {
            touched.push("hidden".into());
            before.insert("hidden".into(), Value::Bool(view.record.hidden));
        }
        if touched.is_empty() {
            return Ok(Self::info(&view, current, Vec::new()));
        }
        // The values before the change are kept sealed, like the record itself.
        let (mut before_stored, _) =
            Self::seal_data(p.tenant_id, &view.collection, &fields, id, &key, &before)?;
        for meta in ["visibility", "hidden"] {
            if let Some(v) = before.get(meta) {
                before_stored.insert(meta.into(), v.clone());
            }
        }
        let (data, _) = Self::seal_data(p.tenant_id, &view.collection, &fields, id, &key, &next)?;
        let data =
            serde_json::to_string(&data).map_err(failed("record data does not serialise"))?;
        let keys = self.tenant_keys(p.tenant_id).await?;
        let index = Self::index_entries(&keys, &view.collection, &fields, &next);
        let now = self.clock.now();
        let version = view.record.version + 1;
        let mut record = view.record.clone();
        record.visibility = visibility;
        record.hidden = hidden;
        record.data = data;
        record.version = version;
        record.updated_at = now;
        record.ends_on = crate::deletion::ends_on(&view.collection, &next)?;
        let personal: Vec<String> = fields
            .iter()
            .filter(|f| f.personal && touched.contains(&f.name))
            .map(|f| f.name.clone())
            .collect();
        let log = self
            .change_log(
                &actor,
                client,
                &role,
                Some(view.record.subject_id),
                (RECORD_OBJECT, Some(id.0)),
                "update",
                personal,
            )
            .await?;
        let stored = self
            .store
            .update_record(
                &RecordWrite {
                    record: record.clone(),
                    index,
                    history: HistoryRow {
                        record_id: id,
                        version,
                        at: now,
                        actor_id: p.user_id,
                        action: "update".into(),
                        fields: touched.clone(),
                        data_before: Some(
                            serde_json::to_string(&before_stored)
                                .map_err(failed("prior values do not serialise"))?,
                        ),
                    },
                },
                view.record.version,
                &log,
            )
            .await?;
        if !stored {
            return Err(CoreError::Conflict(
                "the record changed meanwhile; read it again and retry".into(),
            ));
        }
        let view = RecordView { record, ..view };
        Ok(Self::info(&view, next, Vec::new()))
    }

    /// The record's changes, oldest first, with the values before each (a read: logged).
    pub async fn record_history(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        id: RecordId,
    ) -> Result<Vec<HistoryInfo>, CoreError> {
        let actor = Self::actor(p);
        let (view, _, role) = self
            .checked_record(&actor, client, Action::ReadRecord, id)
            .await?;
        let fields = parse_fields(&view.collection.fields)?;
        let key = self.subject_key_of(&view).await?;
        let rows = self.store.record_history(p.tenant_id, id).await?;
        let mut out = Vec::with_capacity(rows.len());
        for h in rows {
            let before = match &h.data_before {
                Some(stored) => {
                    let (mut opened, _) = Self::open_data(
                        p.tenant_id,
                        &view.collection,
                        &fields,
                        id,
                        key.as_ref(),
                        stored,
                    )?;
                    let raw: Map<String, Value> = serde_json::from_str(stored)
                        .map_err(failed("stored prior values do not parse"))?;
                    for meta in ["visibility", "hidden"] {
                        if let Some(v) = raw.get(meta) {
                            opened.insert(meta.into(), v.clone());
                        }
                    }
                    Some(opened)
                }
                None => None,
            };
            out.push(HistoryInfo {
                version: h.version,
                at: h.at,
                actor_id: h.actor_id,
                actor: self.display_name(p.tenant_id, h.actor_id).await?,
                action: h.action,
                fields: h.fields,
                before,
            });
        }
        self.log_access(
            &actor,
            client,
            &role,
            Some(view.record.subject_id),
            (RECORD_OBJECT, Some(id.0)),
            "read_history",
            fields
                .iter()
                .filter(|f| f.personal)
                .map(|f| f.name.clone())
                .collect(),
            "allow",
        )
        .await?;
        Ok(out)
    }

    /// A person's name for history views: "Deleted GDPR" once forgotten.
    pub(crate) async fn display_name(
        &self,
        tenant: strongroom_domain::TenantId,
        user: UserId,
    ) -> Result<String, CoreError> {
        let Some(u) = self.store.user_by_id(tenant, user).await? else {
            return Ok(crate::users::DELETED_NAME.to_owned());
        };
        let keys = self
            .tenant_keys_for(tenant, std::slice::from_ref(&u))
            .await?;
        let info = Self::open_user(&keys, u)?;
        Ok(info.name.map_or_else(
            || crate::users::DELETED_NAME.to_owned(),
            |n| n.as_str().to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: FieldType) -> FieldDef {
        FieldDef {
            name: name.into(),
            kind,
            personal: false,
            searchable: false,
            required: false,
        }
    }

    #[test]
    fn validation_names_the_field_and_the_type() {
        let fields = vec![
            FieldDef {
                required: true,
                ..field("title", FieldType::String)
            },
            field("score", FieldType::Integer),
            field("day", FieldType::Date),
        ];
        let ok: Map<String, Value> =
            serde_json::from_str(r#"{"title":"a","score":3,"day":"2026-01-31"}"#).unwrap();
        validate_data(&fields, &ok).unwrap();
        for (data, needle) in [
            (r#"{"score":3}"#, "data.title: required"),
            (
                r#"{"title":"a","score":3.5}"#,
                "data.score: expected an integer",
            ),
            (
                r#"{"title":"a","day":"31-01-2026"}"#,
                "data.day: expected a date",
            ),
            (
                r#"{"title":"a","nope":1}"#,
                "data.nope: the collection has no such field",
            ),
            (r#"{"title":7}"#, "data.title: expected a string"),
        ] {
            let data: Map<String, Value> = serde_json::from_str(data).unwrap();
            let e = validate_data(&fields, &data).unwrap_err().to_string();
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
    }

    #[test]
    fn names_are_restricted() {
        assert!(valid_name("recordings"));
        assert!(valid_name("a1_b"));
        assert!(!valid_name("1a"));
        assert!(!valid_name("A"));
        assert!(!valid_name(""));
        assert!(!valid_name("a-b"));
        assert!(!valid_name(&"a".repeat(64)));
    }

    #[test]
    fn field_type_names_round_trip() {
        for t in [
            FieldType::String,
            FieldType::Integer,
            FieldType::Number,
            FieldType::Boolean,
            FieldType::Date,
        ] {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
    }
}
