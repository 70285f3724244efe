//! The processors register: name, purpose, data categories, location (country), transfer
//! safeguard and the date the data-processing agreement was signed. A tenant's own entries
//! (administrators, `manageTenant`), the operator's (`strongroom processor add`, installation
//! wide), and those the configuration implies (`source: configuration`: the mail relay, the
//! object stores; the host only, never a credential or a path; the country from
//! `processors.locations` or `unknown`).

use crate::access::Action;
use crate::{CoreError, Principal, Services};
use std::collections::BTreeMap;
use std::net::IpAddr;
use strongroom_domain::{TenantId, Timestamp};
use strongroom_store::{ChangeLog, ProcessorRow};

/// The privacy log's object type for processors.
pub const PROCESSOR_OBJECT: &str = "processor";

/// Entries one list shows at most.
const LISTED: u32 = 500;

/// A processor as given (API or CLI).
#[derive(Clone, Debug)]
pub struct ProcessorInput {
    pub name: String,
    pub purpose: String,
    pub data_categories: Vec<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub location: String,
    pub transfer_safeguard: Option<String>,
    pub dpa_signed_on: Option<time::Date>,
}

/// Whose entry a processor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessorScope {
    Tenant,
    /// The operator's, for every tenant; read-only to tenants.
    Operator,
}

/// Where an entry comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessorSource {
    Register,
    /// Implied by the configuration (a mail relay, an object store).
    Configuration,
}

/// A processor the configuration implies (set at start from the configuration).
#[derive(Clone, Debug)]
pub struct ConfiguredProcessor {
    pub name: String,
    pub purpose: String,
    /// The host only.
    pub host: String,
    pub data_categories: Vec<String>,
}

/// The configuration's processors and where their hosts are (`processors.locations`).
#[derive(Clone, Debug, Default)]
pub struct ProcessorSettings {
    pub configured: Vec<ConfiguredProcessor>,
    pub locations: BTreeMap<String, String>,
}

/// A processor as shown.
pub struct ProcessorView {
    pub id: uuid::Uuid,
    pub name: String,
    pub purpose: String,
    pub data_categories: Vec<String>,
    pub location: String,
    pub transfer_safeguard: Option<String>,
    pub dpa_signed_on: Option<time::Date>,
    pub scope: ProcessorScope,
    pub source: ProcessorSource,
    /// The host, for entries the configuration implies.
    pub host: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn text(field: &'static str, v: &str, max: usize) -> Result<String, CoreError> {
    Ok(strongroom_domain::free_text(
        field,
        v,
        max,
        strongroom_domain::TextKind::Line,
    )?)
}

/// Checks an input and turns it into a row's fields.
fn checked(input: &ProcessorInput) -> Result<ProcessorInput, CoreError> {
    if input.data_categories.is_empty() || input.data_categories.len() > 50 {
        return Err(CoreError::Invalid("data_categories: 1 to 50".into()));
    }
    let location = input.location.trim();
    if location.len() != 2 || !location.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(CoreError::Invalid(
            "location: an ISO 3166-1 alpha-2 country code, such as DE".into(),
        ));
    }
    Ok(ProcessorInput {
        name: text("name", &input.name, 200)?,
        purpose: text("purpose", &input.purpose, 500)?,
        data_categories: input
            .data_categories
            .iter()
            .map(|c| text("data_categories", c, 100))
            .collect::<Result<_, _>>()?,
        location: location.to_owned(),
        transfer_safeguard: input
            .transfer_safeguard
            .as_deref()
            .map(|t| text("transfer_safeguard", t, 500))
            .transpose()?,
        dpa_signed_on: input.dpa_signed_on,
    })
}

const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

fn row(
    tenant: TenantId,
    id: uuid::Uuid,
    i: &ProcessorInput,
    created_at: Timestamp,
    now: Timestamp,
) -> Result<ProcessorRow, CoreError> {
    Ok(ProcessorRow {
        tenant_id: tenant,
        id,
        name: i.name.clone(),
        purpose: i.purpose.clone(),
        data_categories: serde_json::to_string(&i.data_categories)
            .map_err(|e| CoreError::internal("processor categories", e))?,
        location: i.location.clone(),
        transfer_safeguard: i.transfer_safeguard.clone(),
        dpa_signed_on: i
            .dpa_signed_on
            .map(|d| d.format(DATE))
            .transpose()
            .map_err(|e| CoreError::internal("processor date", e))?,
        created_at,
        updated_at: now,
    })
}

fn view(r: ProcessorRow) -> Result<ProcessorView, CoreError> {
    let corrupt =
        |e: &dyn std::fmt::Display| CoreError::internal("stored processor", e.to_string());
    Ok(ProcessorView {
        id: r.id,
        data_categories: serde_json::from_str(&r.data_categories).map_err(|e| corrupt(&e))?,
        dpa_signed_on: r
            .dpa_signed_on
            .as_deref()
            .map(|d| time::Date::parse(d, DATE))
            .transpose()
            .map_err(|e| corrupt(&e))?,
        scope: if r.tenant_id == TenantId::INSTALLATION {
            ProcessorScope::Operator
        } else {
            ProcessorScope::Tenant
        },
        source: ProcessorSource::Register,
        host: None,
        name: r.name,
        purpose: r.purpose,
        location: r.location,
        transfer_safeguard: r.transfer_safeguard,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// A stable id for a configuration-derived entry (the same host gives the same id).
fn configured_id(p: &ConfiguredProcessor) -> uuid::Uuid {
    let h = strongroom_crypto::chain_hash(
        &[0; 32],
        &[b"processor", p.name.as_bytes(), p.host.as_bytes()],
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(h.get(..16).unwrap_or(&[0; 16]));
    uuid::Uuid::from_bytes(bytes)
}

impl Services {
    /// `GET /processors`: the tenant's processors, the operator's and the configuration's.
    /// The configuration's entries come on the first page.
    pub async fn processors(
        &self,
        p: &Principal,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<ProcessorView>, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let mut out: Vec<ProcessorView> = self
            .store
            .processors(p.tenant_id, after, limit.min(LISTED))
            .await?
            .into_iter()
            .map(view)
            .collect::<Result<_, _>>()?;
        if after.is_some() {
            return Ok(out);
        }
        let now = self.clock.now();
        out.extend(self.processor_settings.configured.iter().map(|c| {
            ProcessorView {
                id: configured_id(c),
                name: c.name.clone(),
                purpose: c.purpose.clone(),
                data_categories: c.data_categories.clone(),
                location: self
                    .processor_settings
                    .locations
                    .get(&c.host)
                    .cloned()
                    .unwrap_or_else(|| "unknown".to_owned()),
                transfer_safeguard: None,
                dpa_signed_on: None,
                scope: ProcessorScope::Operator,
                source: ProcessorSource::Configuration,
                host: Some(c.host.clone()),
                created_at: now,
                updated_at: now,
            }
        }));
        Ok(out)
    }

    /// `POST /processors`: a processor of the tenant.
    pub async fn add_processor(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        input: &ProcessorInput,
    ) -> Result<ProcessorView, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let input = checked(input)?;
        let now = self.clock.now();
        let r = row(p.tenant_id, uuid::Uuid::now_v7(), &input, now, now)?;
        let log = self
            .processor_change(p, ip, r.id, "create", &input.name)
            .await?;
        self.store.insert_processor(&r, &log).await?;
        view(r)
    }

    /// `PATCH /processors/{id}`: replaces the fields given. The operator's entries are
    /// read-only here.
    pub async fn update_processor(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        id: uuid::Uuid,
        change: impl FnOnce(&mut ProcessorInput),
    ) -> Result<ProcessorView, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let current = self.own_processor(p, id).await?;
        let mut input = ProcessorInput {
            name: current.name,
            purpose: current.purpose,
            data_categories: current.data_categories,
            location: current.location,
            transfer_safeguard: current.transfer_safeguard,
            dpa_signed_on: current.dpa_signed_on,
        };
        change(&mut input);
        let input = checked(&input)?;
        let r = row(
            p.tenant_id,
            id,
            &input,
            current.created_at,
            self.clock.now(),
        )?;
        let log = self
            .processor_change(p, ip, id, "update", &input.name)
            .await?;
        if !self.store.update_processor(&r, &log).await? {
            return Err(CoreError::NotFound("processor"));
        }
        view(r)
    }

    /// `DELETE /processors/{id}`.
    pub async fn delete_processor(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        id: uuid::Uuid,
    ) -> Result<(), CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let current = self.own_processor(p, id).await?;
        let log = self
            .processor_change(p, ip, id, "delete", &current.name)
            .await?;
        if !self.store.delete_processor(p.tenant_id, id, &log).await? {
            return Err(CoreError::NotFound("processor"));
        }
        Ok(())
    }

    /// `strongroom processor add`: an operator-wide processor, which every tenant sees.
    pub async fn add_operator_processor(
        &self,
        input: &ProcessorInput,
    ) -> Result<ProcessorView, CoreError> {
        let input = checked(input)?;
        let now = self.clock.now();
        let r = row(
            TenantId::INSTALLATION,
            uuid::Uuid::now_v7(),
            &input,
            now,
            now,
        )?;
        self.store.insert_processor(&r, &ChangeLog::none()).await?;
        tracing::info!(processor = %r.id, "operator-wide processor added");
        view(r)
    }

    async fn own_processor(
        &self,
        p: &Principal,
        id: uuid::Uuid,
    ) -> Result<ProcessorView, CoreError> {
        if let Some(r) = self.store.processor(p.tenant_id, id).await? {
            return view(r);
        }
        if self
            .store
            .processor(TenantId::INSTALLATION, id)
            .await?
            .is_some()
        {
            return Err(CoreError::Forbidden(
                "this is one of the operator's processors: read-only to tenants".into(),
            ));
        }
        Err(CoreError::NotFound("processor"))
    }

    async fn processor_change(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        id: uuid::Uuid,
        action: &str,
        name: &str,
    ) -> Result<ChangeLog, CoreError> {
        self.change_log(
            &Self::actor(p),
            ip,
            "administrator",
            None,
            (PROCESSOR_OBJECT, Some(id)),
            action,
            vec![format!("name: {name}")],
        )
        .await
    }
}
