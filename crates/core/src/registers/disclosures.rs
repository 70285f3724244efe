//! Disclosure requests from authorities (seed 004: "immediate notice and a reasonable
//! opportunity to oppose release … disclose only so much of the data as is necessary"). The
//! operator registers a request against a tenant with requester, legal basis and scope (one
//! person, or one collection); the tenant's administrators are mailed at once and may object
//! within the window (`disclosure.objection_days`). The operator releases only after the
//! window — or with a final order, which also overrides an objection, recorded and mailed —
//! and the release is exactly the scope, encrypted to the recipient the operator names, with
//! every record read a privacy-log entry (`via` `disclosure:<id>`, the operator named) that
//! the persons concerned see.

use crate::access::Action;
use crate::{CoreError, Principal, Services};
use std::net::IpAddr;
use strongroom_domain::{Decision, Slug, TenantId, UserId};
use strongroom_store::{DisclosureRow, PrivacyEntry, RecordView};
use time::Duration;

/// How long administrators may object, unless `disclosure.objection_days` says otherwise.
pub const DEFAULT_OBJECTION_WINDOW: Duration = Duration::days(7);

/// The privacy log's object type for disclosure requests.
pub const DISCLOSURE_OBJECT: &str = "disclosure";

/// What a request covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisclosureScope {
    Subject(UserId),
    Collection(String),
}

impl DisclosureScope {
    /// `subject:<user id>` or `collection:<name>`.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let bad = || CoreError::Invalid("--scope: subject:<user id> or collection:<name>".into());
        match s.split_once(':') {
            Some(("subject", id)) => uuid::Uuid::parse_str(id)
                .map(|u| Self::Subject(UserId(u)))
                .map_err(|_| bad()),
            Some(("collection", name)) if !name.is_empty() => Ok(Self::Collection(name.to_owned())),
            _ => Err(bad()),
        }
    }

    fn stored(&self) -> String {
        match self {
            Self::Subject(u) => format!("subject:{}", u.0),
            Self::Collection(c) => format!("collection:{c}"),
        }
    }
}

/// A released disclosure: the file for the recipient and how many records it holds.
pub struct Released {
    pub sealed: Vec<u8>,
    pub records: usize,
}

fn text(field: &'static str, v: &str, max: usize) -> Result<String, CoreError> {
    Ok(strongroom_domain::free_text(
        field,
        v,
        max,
        strongroom_domain::TextKind::Block,
    )?)
}

fn entry(
    d: &DisclosureRow,
    action: &str,
    subject: Option<UserId>,
    object: (&str, uuid::Uuid),
    fields: Vec<String>,
    now: strongroom_domain::Timestamp,
) -> PrivacyEntry {
    PrivacyEntry {
        at: now,
        // The request itself acts: its row names the operator (resolved when read).
        actor_id: Some(d.id),
        via: format!("disclosure:{}", d.id),
        subject_id: subject.map(|s| s.0),
        object_type: object.0.into(),
        object_id: Some(object.1),
        action: action.into(),
        fields,
        decision: Decision::Allow,
        client_sealed: None,
    }
}

/// Whether a request may be released now: after the window of an open one, or with a final
/// order (which also overrides an objection); never once released or withdrawn.
fn releasable(
    d: &DisclosureRow,
    final_order: bool,
    now: strongroom_domain::Timestamp,
) -> Result<(), CoreError> {
    match (d.status.as_str(), final_order) {
        ("released" | "withdrawn", _) => {
            Err(CoreError::Conflict(format!("this request is {}", d.status)))
        }
        ("open", false) if now < d.objection_until => Err(CoreError::Conflict(format!(
            "the tenant may object until {}; release after that, or with --final-order",
            crate::mail::when(d.objection_until)
        ))),
        ("objected", false) => Err(CoreError::Conflict(
            "the tenant objected; only a final order (--final-order) overrides it".into(),
        )),
        _ => Ok(()),
    }
}

impl Services {
    /// `strongroom disclosure open`: a request against a tenant; its administrators are
    /// mailed at once.
    pub async fn open_disclosure(
        &self,
        tenant: &str,
        requester: &str,
        legal_basis: &str,
        scope: &str,
    ) -> Result<DisclosureRow, CoreError> {
        let tenant = self
            .store
            .tenant_by_slug(&Slug::parse(tenant)?)
            .await?
            .ok_or(CoreError::NotFound("tenant"))?;
        let scope = DisclosureScope::parse(scope)?;
        match &scope {
            DisclosureScope::Subject(u) => {
                self.store
                    .user_by_id(tenant.id, *u)
                    .await?
                    .ok_or(CoreError::Invalid(
                        "--scope: no such user in that tenant".into(),
                    ))?;
            }
            DisclosureScope::Collection(c) => {
                self.store
                    .collection_by_name(tenant.id, c)
                    .await?
                    .ok_or(CoreError::Invalid(
                        "--scope: no such collection in that tenant".into(),
                    ))?;
            }
        }
        let now = self.clock.now();
        let d = DisclosureRow {
            tenant_id: tenant.id,
            id: uuid::Uuid::now_v7(),
            requester: text("--requester", requester, 500)?,
            legal_basis: text("--legal-basis", legal_basis, 2000)?,
            scope: scope.stored(),
            status: "open".into(),
            opened_at: now,
            objection_until: now + self.disclosure_window,
            objection_reason: None,
            objected_by: None,
            objected_at: None,
            released_at: None,
            released_by: None,
            final_order: false,
            records_released: None,
            withdrawn_at: None,
        };
        let subject = match scope {
            DisclosureScope::Subject(u) => Some(u),
            DisclosureScope::Collection(_) => None,
        };
        let log = crate::privacy::change_log(
            tenant.id,
            vec![entry(
                &d,
                "open",
                subject,
                (DISCLOSURE_OBJECT, d.id),
                vec![format!("scope: {}", d.scope)],
                now,
            )],
        );
        self.store.insert_disclosure(&d, &log).await?;
        self.mail_administrators(
            tenant.id,
            "An authority asks for your data: you may object",
            format!(
                "{requester} asks the operator of your Strongroom installation to disclose data of \
                 {name} ({scope}), on the legal basis: {basis}.\n\nYou may object until {until}: \
                 POST /api/v1/disclosures/{id}/objection {{\"reason\": \"…\"}}. Nothing is released \
                 before then, unless a final court order compels it (you would be told).\n",
                requester = d.requester,
                name = tenant.name.as_str(),
                scope = d.scope,
                basis = d.legal_basis,
                until = crate::mail::when(d.objection_until),
                id = d.id,
            ),
        )
        .await?;
        tracing::warn!(tenant = %tenant.id, disclosure = %d.id, "disclosure request opened");
        Ok(d)
    }

    /// `GET /disclosures`: the requests against the caller's tenant.
    pub async fn disclosures(
        &self,
        p: &Principal,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<DisclosureRow>, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        Ok(self
            .store
            .disclosures(p.tenant_id, after, limit.min(500))
            .await?)
    }

    /// `POST /disclosures/{id}/objection`: within the window, the request becomes `objected`.
    pub async fn object_disclosure(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        id: uuid::Uuid,
        reason: &str,
    ) -> Result<DisclosureRow, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let reason = text("reason", reason, 2000)?;
        let d = self
            .store
            .disclosure(p.tenant_id, id)
            .await?
            .ok_or(CoreError::NotFound("disclosure"))?;
        let log = self
            .change_log(
                &Self::actor(p),
                ip,
                "administrator",
                None,
                (DISCLOSURE_OBJECT, Some(id)),
                "object",
                Vec::new(),
            )
            .await?;
        if !self
            .store
            .object_disclosure(p.tenant_id, id, &reason, p.user_id, self.clock.now(), &log)
            .await?
        {
            return Err(CoreError::Conflict(format!(
                "this request is {} (objections until {}): it takes no objection now",
                d.status,
                crate::mail::when(d.objection_until)
            )));
        }
        self.store
            .disclosure(p.tenant_id, id)
            .await?
            .ok_or(CoreError::NotFound("disclosure"))
    }

    /// `strongroom disclosure release`: exactly the scope, encrypted to `recipient`, every
    /// record read logged; the administrators mailed again.
    pub async fn release_disclosure(
        &self,
        id: uuid::Uuid,
        recipient: &str,
        operator: &str,
        final_order: bool,
    ) -> Result<Released, CoreError> {
        let operator = text("--operator", operator, 200)?;
        let d = self
            .store
            .disclosure_by_id(id)
            .await?
            .ok_or(CoreError::NotFound("disclosure"))?;
        let now = self.clock.now();
        releasable(&d, final_order, now)?;
        let views = match DisclosureScope::parse(&d.scope)? {
            DisclosureScope::Subject(u) => self.store.records_of_subject(d.tenant_id, u).await?,
            DisclosureScope::Collection(c) => {
                let col = self
                    .store
                    .collection_by_name(d.tenant_id, &c)
                    .await?
                    .ok_or(CoreError::NotFound("collection"))?;
                self.store
                    .records_of_collection(d.tenant_id, col.id)
                    .await?
            }
        };
        let mut records = Vec::new();
        let mut entries = Vec::new();
        for v in views.iter().filter(|v| v.record.deleted_at.is_none()) {
            let (data, fields) = self.disclosed_data(v).await?;
            entries.push(entry(
                &d,
                "disclose",
                Some(v.record.subject_id),
                (crate::privacy::RECORD_OBJECT, v.record.id.0),
                fields,
                now,
            ));
            records.push(serde_json::json!({
                "id": v.record.id.0,
                "collection": v.collection.name,
                "subject_id": v.record.subject_id.0,
                "created_at": crate::mail::when(v.record.created_at),
                "data": data,
            }));
        }
        let document = serde_json::json!({
            "disclosure": d.id,
            "requester": d.requester,
            "legal_basis": d.legal_basis,
            "scope": d.scope,
            "released_at": crate::mail::when(now),
            "released_by": operator,
            "final_order": final_order,
            "records": records,
        });
        let bytes = serde_json::to_vec_pretty(&document)
            .map_err(|e| CoreError::internal("disclosure document", e))?;
        let sealed = strongroom_crypto::recipient::seal_for(recipient, &bytes)
            .map_err(|e| CoreError::Invalid(format!("--recipient: {e}")))?;
        let count = records.len();
        let log = crate::privacy::change_log(d.tenant_id, entries);
        if !self
            .store
            .release_disclosure(
                d.tenant_id,
                id,
                &operator,
                final_order,
                i64::try_from(count).unwrap_or(i64::MAX),
                now,
                &log,
            )
            .await?
        {
            return Err(CoreError::Conflict("the request changed meanwhile".into()));
        }
        self.mail_administrators(
            d.tenant_id,
            "Data of yours was disclosed to an authority",
            format!(
                "The operator ({operator}) released {count} record(s) ({scope}) to {requester}{order}.\n\
                 Every record is in your privacy log (via disclosure:{id}); the persons concerned see it in theirs.\n",
                scope = d.scope,
                requester = d.requester,
                order = if final_order { " under a final order" } else { "" },
            ),
        )
        .await?;
        tracing::warn!(tenant = %d.tenant_id, disclosure = %id, records = count, final_order, "disclosure released");
        Ok(Released {
            sealed,
            records: count,
        })
    }

    /// `strongroom disclosure withdraw`: the request ends unreleased.
    pub async fn withdraw_disclosure(&self, id: uuid::Uuid) -> Result<TenantId, CoreError> {
        let d = self
            .store
            .disclosure_by_id(id)
            .await?
            .ok_or(CoreError::NotFound("disclosure"))?;
        let now = self.clock.now();
        let log = crate::privacy::change_log(
            d.tenant_id,
            vec![entry(
                &d,
                "withdraw",
                None,
                (DISCLOSURE_OBJECT, d.id),
                Vec::new(),
                now,
            )],
        );
        if !self
            .store
            .withdraw_disclosure(d.tenant_id, id, now, &log)
            .await?
        {
            return Err(CoreError::Conflict(format!("this request is {}", d.status)));
        }
        Ok(d.tenant_id)
    }

    /// A record's data as disclosed (personal values opened) and the names of its fields.
    async fn disclosed_data(
        &self,
        v: &RecordView,
    ) -> Result<(serde_json::Map<String, serde_json::Value>, Vec<String>), CoreError> {
        let fields = crate::records::parse_fields(&v.collection.fields)?;
        let key = self.subject_key_of(v).await?;
        let (data, _) = Self::open_data(
            v.record.tenant_id,
            &v.collection,
            &fields,
            v.record.id,
            key.as_ref(),
            &v.record.data,
        )?;
        let names = data.keys().cloned().collect();
        Ok((data, names))
    }
}
