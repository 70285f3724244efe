//! Collections: creating and listing them, and setting their legal retention.

use crate::access::Action;
use crate::error::failed;
use crate::records::{FieldDef, FieldType, LegalRetention, MAX_FIELDS, parse_fields, valid_name};
use crate::{CoreError, Principal, Services};
use serde::Serialize;
use std::collections::BTreeSet;
use std::net::IpAddr;
use strongroom_domain::{CollectionId, Timestamp};
use strongroom_store::Collection;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CollectionInfo {
    pub id: CollectionId,
    pub name: String,
    pub fields: Vec<FieldDef>,
    /// The legal retention period: records whose end date is older are purged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<crate::records::LegalRetention>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl Services {
    // ── Collections ──────────────────────────────────────────────────────────────────────

    pub async fn create_collection(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        name: &str,
        fields: Vec<FieldDef>,
        retention: Option<crate::records::LegalRetention>,
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
            if f.searchable && crate::records::schema::PAGING_PARAMETERS.contains(&f.name.as_str())
            {
                return Err(CoreError::Invalid(format!(
                    "fields.{}: a searchable field cannot be named limit or after (the search's paging parameters)",
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
            retention: crate::records::LegalRetention::stored(retention.as_ref())?,
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

    /// `GET /collections`: a page of the tenant's collections, newest first.
    pub async fn list_collections(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        (after, limit): (Option<strongroom_domain::CollectionId>, u32),
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
            .collections_page(p.tenant_id, after, limit)
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
            retention: crate::records::LegalRetention::of(c)?,
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

    /// `PATCH /collections/{name}`: sets or removes the legal retention period
    /// (`manageCollections`); every record's end date is copied again.
    pub async fn set_collection_retention(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        name: &str,
        retention: Option<LegalRetention>,
    ) -> Result<crate::records::CollectionInfo, CoreError> {
        let actor = Self::actor(p);
        self.level2(
            &actor,
            client,
            Action::ManageCollections,
            ("collection", None),
        )
        .await?;
        let mut c = self.collection(p, name).await?;
        let fields = parse_fields(&c.fields)?;
        if let Some(r) = &retention {
            r.check(&fields)?;
        }
        c.retention = LegalRetention::stored(retention.as_ref())?;
        self.store
            .set_collection_retention(
                p.tenant_id,
                c.id,
                c.retention.as_deref(),
                retention.as_ref().map(|r| r.end_field.as_str()),
            )
            .await?;
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, collection = %c.id, "legal retention period changed");
        Self::collection_info(&c)
    }
}
