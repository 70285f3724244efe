//! The breach register (GDPR Art. 33, 34). An administrator (or the operator, for a tenant)
//! records a breach with the moment of awareness; the deadline is awareness + 72 hours.
//! Notification of the authority and of the persons, and a reason for any delay, are recorded
//! later; while the authority is not notified the tenant's administrators are reminded at 48
//! and 70 hours (durable jobs on the injected clock), and a breach past its deadline is
//! flagged overdue. A breach judged unlikely to result in a risk is closed as
//! `not_notifiable` with the reason (Art. 33(1)), which stops the reminders. Every change is
//! kept (history) and is a privacy-log entry; every breach stays (Art. 33(5)).

use crate::access::Action;
use crate::{CoreError, Principal, Services};
use std::net::IpAddr;
use strongroom_domain::{JobId, JobKind, Slug, TenantId, Timestamp, UserId};
use strongroom_store::{BreachChange, BreachRow, ChangeLog, Job, NewJob};
use time::Duration;

/// Art. 33(1): notify the supervisory authority within 72 hours of becoming aware.
pub const NOTIFICATION_WINDOW: Duration = Duration::hours(72);

/// When the administrators are reminded while the authority is not notified.
pub const REMINDERS_AFTER_HOURS: [i64; 2] = [48, 70];

/// The privacy log's object type for breaches.
pub const BREACH_OBJECT: &str = "breach";

const LISTED: u32 = 500;

/// A breach as recorded.
#[derive(Clone, Debug)]
pub struct NewBreach {
    pub title: String,
    pub aware_at: Timestamp,
    pub nature: String,
    pub data_categories: Vec<String>,
    pub subjects_estimate: u64,
    pub records_estimate: u64,
    pub consequences: String,
    pub measures: String,
}

/// What a later change records (`None`: unchanged).
#[derive(Clone, Debug, Default)]
pub struct BreachUpdate {
    pub authority_notified_at: Option<Timestamp>,
    pub subjects_notified_at: Option<Timestamp>,
    pub delay_reason: Option<String>,
    /// Close as `not_notifiable` (with `not_notifiable_reason`).
    pub not_notifiable: bool,
    pub not_notifiable_reason: Option<String>,
    pub consequences: Option<String>,
    pub measures: Option<String>,
}

/// One line of a breach's history.
pub struct BreachHistoryView {
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub changes: Vec<String>,
}

/// A breach as shown.
pub struct BreachView {
    pub row: BreachRow,
    pub data_categories: Vec<String>,
    pub deadline_at: Timestamp,
    pub overdue: bool,
    pub history: Vec<BreachHistoryView>,
}

/// Open past its deadline: the authority is not notified 72 hours after awareness.
pub fn breach_overdue(b: &BreachRow, now: Timestamp) -> bool {
    b.status == "open" && now > b.aware_at + NOTIFICATION_WINDOW
}

fn text(field: &'static str, v: &str, max: usize) -> Result<String, CoreError> {
    Ok(strongroom_domain::free_text(
        field,
        v,
        max,
        strongroom_domain::TextKind::Block,
    )?)
}

fn json(lines: &[String]) -> Result<String, CoreError> {
    serde_json::to_string(lines).map_err(|e| CoreError::internal("breach fields", e))
}

impl Services {
    /// `POST /breaches`: an administrator records a breach of their tenant.
    pub async fn record_breach(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        b: NewBreach,
    ) -> Result<BreachView, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let log_entry = |id| self.breach_log(p, ip, id, "record", vec!["recorded".into()]);
        let id = uuid::Uuid::now_v7();
        let log = log_entry(id).await?;
        self.insert_breach(p.tenant_id, id, b, Some(p.user_id), &log)
            .await
    }

    /// `strongroom breach open`: the operator records a breach for a tenant; its
    /// administrators are mailed at once (Art. 33(2): a processor tells the controller).
    pub async fn record_breach_for(
        &self,
        tenant: &str,
        b: NewBreach,
    ) -> Result<BreachView, CoreError> {
        let tenant = self
            .store
            .tenant_by_slug(&Slug::parse(tenant)?)
            .await?
            .ok_or(CoreError::NotFound("tenant"))?;
        let (title, aware_at) = (b.title.clone(), b.aware_at);
        let v = self
            .insert_breach(tenant.id, uuid::Uuid::now_v7(), b, None, &ChangeLog::none())
            .await?;
        self.mail_administrators(
            tenant.id,
            "A personal-data breach was recorded for your organisation",
            format!(
                "The operator of your Strongroom installation recorded a personal-data breach \
                 concerning {name}: {title}.\nAware since {aware_at}; the supervisory \
                 authority must be notified by {deadline} (GDPR Art. 33), unless the breach is \
                 unlikely to result in a risk.\nSee GET /api/v1/breaches/{id}.\n",
                name = tenant.name.as_str(),
                deadline = crate::mail::when(v.deadline_at),
                aware_at = crate::mail::when(aware_at),
                id = v.row.id,
            ),
        )
        .await?;
        Ok(v)
    }

    async fn insert_breach(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        b: NewBreach,
        by: Option<UserId>,
        log: &ChangeLog,
    ) -> Result<BreachView, CoreError> {
        let now = self.clock.now();
        if b.aware_at > now {
            return Err(CoreError::Invalid("aware_at: not in the future".into()));
        }
        if b.data_categories.is_empty() || b.data_categories.len() > 50 {
            return Err(CoreError::Invalid("data_categories: 1 to 50".into()));
        }
        let categories = b
            .data_categories
            .iter()
            .map(|c| text("data_categories", c, 100))
            .collect::<Result<Vec<_>, _>>()?;
        let estimate = |field: &str, n: u64| {
            i64::try_from(n).map_err(|_| CoreError::Invalid(format!("{field}: too large")))
        };
        let row = BreachRow {
            tenant_id: tenant,
            id,
            title: text("title", &b.title, 200)?,
            aware_at: b.aware_at,
            nature: text("nature", &b.nature, 1000)?,
            data_categories: json(&categories)?,
            subjects_estimate: estimate("subjects_estimate", b.subjects_estimate)?,
            records_estimate: estimate("records_estimate", b.records_estimate)?,
            consequences: text("consequences", &b.consequences, 1000)?,
            measures: text("measures", &b.measures, 1000)?,
            status: "open".into(),
            authority_notified_at: None,
            subjects_notified_at: None,
            delay_reason: None,
            not_notifiable_reason: None,
            recorded_by: by,
            created_at: now,
            updated_at: now,
        };
        let first = BreachChange {
            id: uuid::Uuid::now_v7(),
            at: now,
            actor_id: by,
            fields: json(&[format!("recorded: {}", row.title)])?,
        };
        self.store.insert_breach(&row, &first, log).await?;
        for hours in REMINDERS_AFTER_HOURS {
            let at = row.aware_at + Duration::hours(hours);
            if at <= now {
                continue;
            }
            self.store
                .enqueue(&NewJob {
                    id: JobId::new(),
                    tenant_id: tenant,
                    kind: JobKind::BreachRemind,
                    subject_id: None,
                    dedupe_key: format!("breach.remind:{}:{hours}", row.id),
                    param: hours,
                    run_at: at,
                    now,
                    object: Some(row.id.to_string()),
                })
                .await?;
        }
        tracing::warn!(tenant = %tenant, breach = %row.id, "breach recorded");
        self.breach_view(row).await
    }

    /// `GET /breaches`.
    pub async fn breaches(
        &self,
        p: &Principal,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<BreachView>, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let mut out = Vec::new();
        for row in self
            .store
            .breaches(p.tenant_id, after, limit.min(LISTED))
            .await?
        {
            out.push(self.breach_view(row).await?);
        }
        Ok(out)
    }

    /// `GET /breaches/{id}`.
    pub async fn breach(&self, p: &Principal, id: uuid::Uuid) -> Result<BreachView, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let row = self
            .store
            .breach(p.tenant_id, id)
            .await?
            .ok_or(CoreError::NotFound("breach"))?;
        self.breach_view(row).await
    }

    /// `PATCH /breaches/{id}`: notifications, a delay's reason, closing as not notifiable.
    pub async fn update_breach(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        id: uuid::Uuid,
        u: BreachUpdate,
    ) -> Result<BreachView, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let before = self
            .store
            .breach(p.tenant_id, id)
            .await?
            .ok_or(CoreError::NotFound("breach"))?;
        let now = self.clock.now();
        let deadline = before.aware_at + NOTIFICATION_WINDOW;
        let mut b = before.clone();
        let mut lines = Vec::new();
        let when = |field: &str, t: Timestamp| -> Result<Timestamp, CoreError> {
            if t < before.aware_at || t > now {
                return Err(CoreError::Invalid(format!(
                    "{field}: between the moment of awareness and now"
                )));
            }
            Ok(t)
        };
        if let Some(r) = u.delay_reason.as_deref() {
            b.delay_reason = Some(text("delay_reason", r, 1000)?);
            lines.push("delay_reason".to_owned());
        }
        if let Some(t) = u.authority_notified_at {
            if before.status == "not_notifiable" {
                return Err(CoreError::Conflict(
                    "this breach was closed as not notifiable".into(),
                ));
            }
            let t = when("authority_notified_at", t)?;
            if t > deadline && b.delay_reason.is_none() {
                return Err(CoreError::Invalid(
                    "delay_reason: the authority was notified after the 72 hours; give the reasons for the delay (Art. 33(1))".into(),
                ));
            }
            b.authority_notified_at = Some(t);
            b.status = "notified".into();
            lines.push(format!("authority_notified_at: {t}"));
        }
        if let Some(t) = u.subjects_notified_at {
            b.subjects_notified_at = Some(when("subjects_notified_at", t)?);
            lines.push(format!("subjects_notified_at: {t}"));
        }
        if let Some(m) = u.measures.as_deref() {
            b.measures = text("measures", m, 1000)?;
            lines.push("measures".to_owned());
        }
        if let Some(c) = u.consequences.as_deref() {
            b.consequences = text("consequences", c, 1000)?;
            lines.push("consequences".to_owned());
        }
        if u.not_notifiable {
            if b.status != "open" {
                return Err(CoreError::Conflict(format!(
                    "this breach is {}: only an open one is closed as not notifiable",
                    b.status
                )));
            }
            let reason = u
                .not_notifiable_reason
                .as_deref()
                .ok_or_else(|| {
                    CoreError::Invalid(
                        "not_notifiable_reason: why the breach is unlikely to result in a risk (Art. 33(1))".into(),
                    )
                })?;
            b.not_notifiable_reason = Some(text("not_notifiable_reason", reason, 1000)?);
            b.status = "not_notifiable".into();
            lines.push("status: not_notifiable".to_owned());
        } else if u.not_notifiable_reason.is_some() {
            return Err(CoreError::Invalid(
                "not_notifiable_reason: only with status not_notifiable".into(),
            ));
        }
        if lines.is_empty() {
            return self.breach_view(before).await;
        }
        b.updated_at = now.max(before.updated_at + Duration::milliseconds(1));
        let change = BreachChange {
            id: uuid::Uuid::now_v7(),
            at: now,
            actor_id: Some(p.user_id),
            fields: json(&lines)?,
        };
        let names: Vec<String> = lines
            .iter()
            .map(|l| l.split(':').next().unwrap_or_default().to_owned())
            .collect();
        let log = self.breach_log(p, ip, id, "update", names).await?;
        if !self
            .store
            .update_breach(&b, before.updated_at, &change, &log)
            .await?
        {
            return Err(CoreError::Conflict(
                "the breach changed meanwhile; read it again and retry".into(),
            ));
        }
        self.breach_view(b).await
    }

    /// The job of a reminder: mails the administrators while the authority is not notified.
    pub(crate) async fn remind_breach(&self, j: &Job) -> Result<String, CoreError> {
        let Some(id) = j
            .object
            .as_deref()
            .and_then(|o| uuid::Uuid::parse_str(o).ok())
        else {
            return Ok("skipped: no breach named".into());
        };
        let Some(b) = self.store.breach(j.tenant_id, id).await? else {
            return Ok("skipped: no such breach".into());
        };
        if b.status != "open" {
            return Ok(format!("no reminder: the breach is {}", b.status));
        }
        let deadline = b.aware_at + NOTIFICATION_WINDOW;
        self.mail_administrators(
            j.tenant_id,
            "Reminder: a breach's supervisory authority is not notified yet",
            format!(
                "The personal-data breach \"{title}\" ({hours} hours since awareness) has not been \
                 notified to the supervisory authority. The deadline is {deadline} (GDPR \
                 Art. 33(1)). Record the notification, or close the breach as not notifiable \
                 with the reason: PATCH /api/v1/breaches/{id}.\n",
                title = b.title,
                hours = j.param,
                deadline = crate::mail::when(deadline),
            ),
        )
        .await?;
        Ok(format!("reminded after {} hours", j.param))
    }

    async fn breach_view(&self, row: BreachRow) -> Result<BreachView, CoreError> {
        let deadline_at = row.aware_at + NOTIFICATION_WINDOW;
        let history = self
            .store
            .breach_changes(row.tenant_id, row.id)
            .await?
            .into_iter()
            .map(|c| {
                Ok(BreachHistoryView {
                    at: c.at,
                    actor_id: c.actor_id,
                    changes: serde_json::from_str(&c.fields)
                        .map_err(|e| CoreError::internal("stored breach change", e))?,
                })
            })
            .collect::<Result<Vec<_>, CoreError>>()?;
        Ok(BreachView {
            data_categories: serde_json::from_str(&row.data_categories)
                .map_err(|e| CoreError::internal("stored breach categories", e))?,
            overdue: breach_overdue(&row, self.clock.now()),
            deadline_at,
            history,
            row,
        })
    }

    async fn breach_log(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        id: uuid::Uuid,
        action: &str,
        fields: Vec<String>,
    ) -> Result<ChangeLog, CoreError> {
        self.change_log(
            &Self::actor(p),
            ip,
            "administrator",
            None,
            (BREACH_OBJECT, Some(id)),
            action,
            fields,
        )
        .await
    }
}
