//! Reading the privacy log: the tenant's entries (administrators) and a person's own, with
//! names resolved at read time ("Deleted GDPR" once forgotten).

use crate::access::Action;
use crate::tenancy::DELETED_NAME;
use crate::{CoreError, Principal, Services};
use strongroom_domain::{Timestamp, UserId, UserStatus};
use strongroom_store::{PrivacyEntry, PrivacyQuery};

/// How `via` names an integration client (`client:<client id>`).
const CLIENT_VIA_PREFIX: &str = "client:";

/// How `via` names a disclosure's release (`disclosure:<id>`).
const DISCLOSURE_VIA_PREFIX: &str = "disclosure:";

/// How `via` names access under a support grant (`support:<request id>`).
const SUPPORT_VIA_PREFIX: &str = "support:";

/// A privacy-log entry as shown: ids, and the actor's name resolved now.
pub struct PrivacyView {
    pub seq: u64,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    /// The actor's current name, or `Deleted GDPR` once they were forgotten.
    pub actor: Option<String>,
    pub via: String,
    pub subject_id: Option<UserId>,
    pub object: String,
    pub action: String,
    pub fields: Vec<String>,
    pub decision: String,
    /// The actor's client address, for administrators only (it is the actor's personal data,
    /// sealed under their key: `None` once they are forgotten, or if none was recorded).
    pub client: Option<String>,
}

/// Most entries one privacy-log query returns.
pub const PRIVACY_PAGE_LIMIT: u32 = 500;

impl Services {
    /// `GET /privacy-log`: the tenant's entries, newest first (administrators).
    pub async fn privacy_log(
        &self,
        p: &Principal,
        mut q: PrivacyQuery,
    ) -> Result<Vec<PrivacyView>, CoreError> {
        self.authorize_logged(
            p,
            Action::ReadPrivacyLog,
            q.subject.map(UserId::from),
            "read_privacy_log",
        )
        .await?;
        q.limit = q.limit.clamp(1, PRIVACY_PAGE_LIMIT + 1);
        self.privacy_views(p.tenant_id, &q, true).await
    }

    /// `GET /me/privacy-log`: who viewed or changed my data, newest first, a page of `limit`
    /// entries before the sequence number `before`.
    pub async fn my_privacy_log(
        &self,
        p: &Principal,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<PrivacyView>, CoreError> {
        let q = PrivacyQuery {
            subject: Some(p.user_id.0),
            actor: None,
            from: None,
            to: None,
            before,
            limit: limit.clamp(1, PRIVACY_PAGE_LIMIT + 1),
        };
        self.privacy_views(p.tenant_id, &q, false).await
    }

    pub(crate) async fn privacy_views(
        &self,
        tenant: strongroom_domain::TenantId,
        q: &PrivacyQuery,
        with_client: bool,
    ) -> Result<Vec<PrivacyView>, CoreError> {
        let records = self.store.privacy_query(tenant, q).await?;
        let mut names: std::collections::HashMap<uuid::Uuid, String> =
            std::collections::HashMap::new();
        let mut keys: std::collections::HashMap<uuid::Uuid, crate::keys::SubjectKey> =
            std::collections::HashMap::new();
        for (actor, via) in records
            .iter()
            .filter_map(|r| r.entry.actor_id.map(|a| (a, r.entry.via.as_str())))
        {
            if names.contains_key(&actor) {
                continue;
            }
            if via.starts_with(DISCLOSURE_VIA_PREFIX) {
                // A disclosure's release: the operator who released it, and to whom.
                let d = self.store.disclosure(tenant, actor).await?;
                names.insert(
                    actor,
                    d.map_or_else(
                        || "disclosure".to_owned(),
                        |d| match d.released_by {
                            Some(op) => format!("{op} (operator; disclosure to {})", d.requester),
                            None => format!("disclosure request of {}", d.requester),
                        },
                    ),
                );
                continue;
            }
            if via.starts_with(SUPPORT_VIA_PREFIX) {
                // Vendor support under a grant: the superuser, named, as vendor support.
                let name = self.superuser_name(UserId::from(actor)).await?;
                names.insert(actor, format!("{name} (vendor support)"));
                continue;
            }
            if via.starts_with(CLIENT_VIA_PREFIX) {
                // An integration client: its name, kept when it is deleted.
                let client = self
                    .store
                    .client(tenant, strongroom_domain::ClientId(actor))
                    .await?;
                names.insert(
                    actor,
                    client.map_or_else(|| "unknown client".to_owned(), |c| c.name),
                );
                continue;
            }
            let user = self
                .store
                .user_by_id(tenant, UserId::from(actor))
                .await?
                .filter(|u| u.status != UserStatus::Deleted && u.subject_key.is_some());
            let name = match user {
                Some(u) => {
                    if with_client {
                        keys.insert(actor, self.ip_key(tenant, Some(&u)).await?);
                    }
                    let tk = self
                        .tenant_keys_for(tenant, std::slice::from_ref(&u))
                        .await?;
                    Self::open_user(&tk, u)?
                        .name
                        .map_or_else(|| DELETED_NAME.to_owned(), |n| n.as_str().to_owned())
                }
                None => DELETED_NAME.to_owned(),
            };
            names.insert(actor, name);
        }
        let client = |e: &PrivacyEntry| -> Option<String> {
            let actor = e.actor_id?;
            let sealed = e.client_sealed.as_deref()?;
            let opened = keys
                .get(&actor)?
                .open(tenant, "privacy_log", actor, "client", sealed)
                .ok()?;
            String::from_utf8(opened.to_vec()).ok()
        };
        Ok(records
            .into_iter()
            .map(|r| {
                let client = client(&r.entry);
                PrivacyView {
                    seq: r.seq,
                    at: r.entry.at,
                    actor: r.entry.actor_id.and_then(|a| names.get(&a).cloned()),
                    actor_id: r.entry.actor_id.map(UserId::from),
                    via: r.entry.via,
                    subject_id: r.entry.subject_id.map(UserId::from),
                    object: format!(
                        "{}/{}",
                        r.entry.object_type,
                        r.entry.object_id.map(|o| o.to_string()).unwrap_or_default()
                    ),
                    client,
                    action: r.entry.action,
                    fields: r.entry.fields,
                    decision: r.entry.decision.as_str().to_owned(),
                }
            })
            .collect())
    }
}
