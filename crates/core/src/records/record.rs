//! Collections and records: typed schemas, validation, field encryption, blind-index search,
//! change history, and the access check (levels 2 and 3) with privacy logging around them.
//!
//! Order on every read of personal data: level 2 (may the caller call this), load the row
//! (tenant-scoped: level 1), level 3 (may the caller see this record), and only then open the
//! subject's key and decrypt; the privacy-log entry is durable before the answer leaves.
//! A level-3 denial answers 404 (the record's existence is not the caller's business) unless
//! the record is hidden by retention and would otherwise be allowed: then 403, as API.md says.

use crate::access::{Action, RecordFacts, Verdict};
use crate::error::failed;
use crate::privacy::RECORD_OBJECT;
use crate::records::{FieldType, Visibility, canonical, check_value, parse_fields, validate_data};
use crate::{CoreError, Principal, Services};
use serde::Serialize;
use serde_json::{Map, Value};
use std::net::IpAddr;
use strongroom_domain::{GroupId, RecordId, Timestamp, UserId};
use strongroom_store::{HistoryRow, RecordRow, RecordView, RecordWrite};

/// The most records one search answers.
pub const SEARCH_LIMIT: u32 = 100;

/// One page of a search: the records the caller may read among those scanned, and the
/// cursor after the last scanned (the next page may hold records this one's caller may read
/// even when this page showed none).
pub struct SearchPage {
    pub records: Vec<RecordInfo>,
    pub next: Option<RecordId>,
}

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

impl Services {
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
                        ends_on: crate::records::ends_on(&c, &new.data)?,
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

    #[doc(hidden)] // public for the hot-path bench
    pub fn info(view: &RecordView, data: Map<String, Value>, files: Vec<FileInfo>) -> RecordInfo {
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
        crate::access::guard::not_deleted(&view)?;
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
            strongroom_domain::Decision::Allow,
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
        (after, limit): (Option<RecordId>, u32),
    ) -> Result<SearchPage, CoreError> {
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
        let limit = limit.clamp(1, 500);
        let mut hits = self
            .store
            .search_records(p.tenant_id, c.id, field, &digest, after, limit + 1)
            .await?;
        let next = if hits.len() > limit as usize {
            hits.truncate(limit as usize);
            hits.last().map(|v| v.record.id)
        } else {
            None
        };
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
                    strongroom_domain::Decision::Allow,
                )
                .await?,
            );
            out.push(Self::info(&view, data, Vec::new()));
        }
        self.privacy.append_all(p.tenant_id, entries).await?;
        Ok(SearchPage { records: out, next })
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
        record.ends_on = crate::records::ends_on(&view.collection, &next)?;
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

    /// A page of the record's changes, oldest first, after version `after` (0: from the
    /// first), with the values before each (a read: logged).
    pub async fn record_history(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        id: RecordId,
        (after, limit): (u32, u32),
    ) -> Result<Vec<HistoryInfo>, CoreError> {
        let actor = Self::actor(p);
        let (view, _, role) = self
            .checked_record(&actor, client, Action::ReadRecord, id)
            .await?;
        let fields = parse_fields(&view.collection.fields)?;
        let key = self.subject_key_of(&view).await?;
        let rows = self
            .store
            .history_page(p.tenant_id, id, after, limit)
            .await?;
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
            strongroom_domain::Decision::Allow,
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
            return Ok(crate::tenancy::DELETED_NAME.to_owned());
        };
        let keys = self
            .tenant_keys_for(tenant, std::slice::from_ref(&u))
            .await?;
        let info = Self::open_user(&keys, u)?;
        Ok(info.name.map_or_else(
            || crate::tenancy::DELETED_NAME.to_owned(),
            |n| n.as_str().to_owned(),
        ))
    }
}
