//! Support requests and the grants they become: a superuser asks a tenant (reason, duration,
//! kind); the tenant's administrators are mailed and approve (optionally shorter), deny, or
//! later revoke; an unanswered request expires after `pending`. Every step is an entry in the
//! tenant's privacy log (the superuser or the administrator as actor), committed with it.

use crate::access::Action;
use crate::support::OPERATOR_SLUG;
use crate::{CoreError, Principal, Services};
use std::collections::HashMap;
use std::time::Duration;
use strongroom_domain::{
    Decision, Role, Slug, SupportKind, SupportRequestId, SupportStatus, TenantId, TenantStatus,
    Timestamp, UserId, UserStatus,
};
use strongroom_store::{ChangeLog, PrivacyEntry, SupportDecision, SupportRequest};

/// The longest grant: seven days.
pub const MAX_GRANT_MINUTES: u32 = 7 * 24 * 60;

/// How long a request waits for an answer unless `support.pending_hours` says otherwise.
pub const DEFAULT_PENDING: Duration = Duration::from_hours(24);

/// The most requests one list shows.
pub const MAX_LISTED: u32 = 500;

/// The longest reason.
pub const MAX_REASON: usize = 500;

/// The privacy log's object type for support requests and grants.
pub const SUPPORT_OBJECT: &str = "support_request";

/// What a superuser asks for.
pub struct NewSupportRequest {
    pub tenant: String,
    pub reason: String,
    pub minutes: u32,
    pub kind: SupportKind,
    pub user_id: Option<UserId>,
}

/// A request or grant as shown, its state at the time of reading.
pub struct SupportRequestView {
    pub id: SupportRequestId,
    pub tenant: String,
    pub superuser_id: UserId,
    /// The superuser's name (kept readable after their removal).
    pub superuser: String,
    pub reason: String,
    pub kind: SupportKind,
    pub user_id: Option<UserId>,
    pub status: SupportStatus,
    pub minutes: u32,
    pub created_at: Timestamp,
    /// Until when a pending request waits for an answer.
    pub expires_at: Timestamp,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub break_glass: bool,
}

/// An administrator's answer.
#[derive(Clone, Copy, Debug)]
pub enum SupportAnswer {
    /// Approve, for the minutes asked for or fewer.
    Approve {
        minutes: Option<u32>,
    },
    Deny,
    Revoke,
}

impl Services {
    /// The operator tenant's id, for a caller who must be one of its superusers (the tenant
    /// of a token is structural, level 1: only the operator tenant's users ask for support).
    pub(crate) async fn superuser_tenant(&self, p: &Principal) -> Result<TenantId, CoreError> {
        self.authorize(p, Action::RequestSupport).await?;
        match self.operator_tenant().await? {
            Some(t) if t.id == p.tenant_id => Ok(t.id),
            _ => Err(CoreError::Forbidden(
                "only the vendor's superusers (tenant \"operator\") ask for support access".into(),
            )),
        }
    }

    /// `POST /support/requests`: a superuser asks a tenant for access; its administrators
    /// are mailed.
    pub async fn request_support(
        &self,
        p: &Principal,
        req: NewSupportRequest,
    ) -> Result<SupportRequestView, CoreError> {
        self.superuser_tenant(p).await?;
        let reason = strongroom_domain::free_text(
            "reason",
            &req.reason,
            MAX_REASON,
            strongroom_domain::TextKind::Line,
        )?;
        if !(1..=MAX_GRANT_MINUTES).contains(&req.minutes) {
            return Err(CoreError::Invalid(format!(
                "minutes: 1 to {MAX_GRANT_MINUTES} (7 days)"
            )));
        }
        let tenant = match Slug::parse(&req.tenant) {
            Ok(slug) if slug.as_str() != OPERATOR_SLUG => self.store.tenant_by_slug(&slug).await?,
            _ => None,
        }
        .filter(|t| t.status == TenantStatus::Active)
        .ok_or(CoreError::NotFound("tenant"))?;
        match (req.kind, req.user_id) {
            (SupportKind::Read, None) => {}
            (SupportKind::Read, Some(_)) => {
                return Err(CoreError::Invalid(
                    "user_id: only an act_as request names a user".into(),
                ));
            }
            (SupportKind::ActAs, None) => {
                return Err(CoreError::Invalid(
                    "user_id: an act_as request names the user to act as".into(),
                ));
            }
            (SupportKind::ActAs, Some(u)) => {
                if !self
                    .store
                    .user_by_id(tenant.id, u)
                    .await?
                    .is_some_and(|u| u.status == UserStatus::Active)
                {
                    return Err(CoreError::Invalid(
                        "user_id: no active user of that tenant".into(),
                    ));
                }
            }
        }
        let now = self.clock.now();
        let row = SupportRequest {
            tenant_id: tenant.id,
            id: SupportRequestId::new(),
            superuser_id: p.user_id,
            reason: reason.clone(),
            kind: req.kind,
            user_id: req.user_id,
            minutes: req.minutes,
            status: SupportStatus::Pending,
            created_at: now,
            pending_until: now + self.support_pending,
            starts_at: None,
            ends_at: None,
            decided_by: None,
            decided_at: None,
            break_glass: false,
            first_used_at: None,
        };
        let via = crate::access::support_via(row.id);
        let log = support_log(&row, (row.superuser_id, &via), "request", now);
        self.store.insert_support_request(&row, &log).await?;
        let name = self.superuser_name(row.superuser_id).await?;
        self.mail_administrators(
            tenant.id,
            "Vendor support asks for access to your data",
            format!(
                "{name} of the vendor's support asks for {kind} access to {tenant} for {minutes} minutes.\n\n\
                 Reason: {reason}\n\n\
                 Approve (optionally for fewer minutes) or deny it before {until}:\n\
                 POST /api/v1/support/requests/{id}/approve {{\"minutes\": …}} or POST /api/v1/support/requests/{id}/deny.\n\
                 Unanswered, the request expires. Every access under a grant is in your privacy log.\n",
                kind = row.kind.as_str(),
                tenant = tenant.name.as_str(),
                minutes = row.minutes,
                until = crate::mail::when(row.pending_until),
                id = row.id.0,
            ),
        )
        .await?;
        tracing::info!(tenant = %tenant.id, superuser = %p.user_id, request = %row.id.0, "support access requested");
        Ok(self.view(&row, tenant.slug.as_str(), name))
    }

    /// `GET /support/requests`: a tenant's administrators see its requests and grants; a
    /// superuser sees their own, in every tenant.
    pub async fn support_requests(
        &self,
        p: &Principal,
        after: Option<SupportRequestId>,
        limit: u32,
    ) -> Result<Vec<SupportRequestView>, CoreError> {
        // Which list is structural (the caller's tenant, level 1); what may see it is Cedar's.
        let in_operator = p.support.is_none()
            && self
                .operator_tenant()
                .await?
                .is_some_and(|t| t.id == p.tenant_id);
        let rows = if in_operator {
            self.superuser_tenant(p).await?;
            self.store
                .support_requests_of_superuser(p.user_id, after, limit.min(MAX_LISTED))
                .await?
        } else {
            self.authorize(p, Action::ManageTenant).await?;
            self.store
                .support_requests_of_tenant(p.tenant_id, after, limit.min(MAX_LISTED))
                .await?
        };
        let mut slugs: HashMap<TenantId, String> = HashMap::new();
        let mut names: HashMap<UserId, String> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if let std::collections::hash_map::Entry::Vacant(e) = slugs.entry(r.tenant_id) {
                let slug = self
                    .store
                    .tenant_by_id(r.tenant_id)
                    .await?
                    .map_or_else(String::new, |t| t.slug.as_str().to_owned());
                e.insert(slug);
            }
            if let std::collections::hash_map::Entry::Vacant(e) = names.entry(r.superuser_id) {
                e.insert(self.superuser_name(r.superuser_id).await?);
            }
            let slug = slugs.get(&r.tenant_id).cloned().unwrap_or_default();
            let name = names.get(&r.superuser_id).cloned().unwrap_or_default();
            out.push(self.view(&r, &slug, name));
        }
        Ok(out)
    }

    /// `POST /support/requests/{id}/approve|deny`, `DELETE /support/requests/{id}`: an
    /// administrator's answer. Revoking ends every session under the grant at once.
    pub async fn answer_support(
        &self,
        p: &Principal,
        id: SupportRequestId,
        answer: SupportAnswer,
    ) -> Result<SupportRequestView, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let row = self
            .store
            .support_request(p.tenant_id, id)
            .await?
            .ok_or(CoreError::NotFound("support request"))?;
        let now = self.clock.now();
        let (decision, action) = match answer {
            SupportAnswer::Approve { minutes } => {
                let minutes = minutes.unwrap_or(row.minutes);
                if minutes == 0 || minutes > row.minutes {
                    return Err(CoreError::Invalid(format!(
                        "minutes: 1 to {}, the minutes asked for (an approval may shorten a grant, not lengthen it)",
                        row.minutes
                    )));
                }
                let ends_at = now + Duration::from_secs(u64::from(minutes) * 60);
                (SupportDecision::Approve { ends_at }, "approve")
            }
            SupportAnswer::Deny => (SupportDecision::Deny, "deny"),
            SupportAnswer::Revoke => (SupportDecision::Revoke, "revoke"),
        };
        let log = support_log(&row, (p.user_id, "administrator"), action, now);
        if !self
            .store
            .decide_support_request(p.tenant_id, id, decision, p.user_id, now, &log)
            .await?
        {
            return Err(CoreError::Conflict(format!(
                "this request is {}: it cannot be {action}d now",
                row.status_at(now).as_str()
            )));
        }
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, request = %id.0, action, "support request answered");
        let row = self
            .store
            .support_request(p.tenant_id, id)
            .await?
            .ok_or(CoreError::NotFound("support request"))?;
        let tenant = self.store.tenant_by_id(p.tenant_id).await?;
        let name = self.superuser_name(row.superuser_id).await?;
        Ok(self.view(&row, tenant.as_ref().map_or("", |t| t.slug.as_str()), name))
    }

    pub(crate) fn view(
        &self,
        r: &SupportRequest,
        tenant: &str,
        superuser: String,
    ) -> SupportRequestView {
        SupportRequestView {
            id: r.id,
            tenant: tenant.to_owned(),
            superuser_id: r.superuser_id,
            superuser,
            reason: r.reason.clone(),
            kind: r.kind,
            user_id: r.user_id,
            status: r.status_at(self.clock.now()),
            minutes: r.minutes,
            created_at: r.created_at,
            expires_at: r.pending_until,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            break_glass: r.break_glass,
        }
    }

    /// A superuser's name, read from the operator tenant (also once they were removed).
    pub(crate) async fn superuser_name(&self, id: UserId) -> Result<String, CoreError> {
        let Some(operator) = self.operator_tenant().await? else {
            return Ok(String::new());
        };
        let Some(user) = self.store.user_by_id(operator.id, id).await? else {
            return Ok(String::new());
        };
        let keys = self
            .tenant_keys_for(operator.id, std::slice::from_ref(&user))
            .await?;
        Ok(Self::open_user(&keys, user)?
            .name
            .map_or_else(String::new, |n| n.as_str().to_owned()))
    }

    /// Mails every active administrator of a tenant (in the background).
    pub(crate) async fn mail_administrators(
        &self,
        tenant: TenantId,
        subject: &'static str,
        body: String,
    ) -> Result<(), CoreError> {
        let admins: Vec<_> = self
            .store
            .list_users(tenant)
            .await?
            .into_iter()
            .filter(|u| u.status == UserStatus::Active && u.roles.contains(Role::Administrator))
            .collect();
        let keys = self.tenant_keys_for(tenant, &admins).await?;
        for u in admins {
            if let Some(to) = Self::open_user(&keys, u)?.email {
                self.send_in_background(to, subject, body.clone());
            }
        }
        Ok(())
    }
}

/// The privacy-log entry of a step of a request, in the customer tenant's log: by the
/// superuser (via the request) or by an administrator.
pub(crate) fn support_log(
    r: &SupportRequest,
    (actor, via): (UserId, &str),
    action: &str,
    now: Timestamp,
) -> ChangeLog {
    crate::privacy::change_log(
        r.tenant_id,
        vec![PrivacyEntry {
            at: now,
            actor_id: Some(actor.0),
            via: via.to_owned(),
            subject_id: r.user_id.map(|u| u.0),
            object_type: SUPPORT_OBJECT.into(),
            object_id: Some(r.id.0),
            action: action.into(),
            fields: vec![
                format!("kind: {}", r.kind.as_str()),
                format!("minutes: {}", r.minutes),
            ],
            decision: Decision::Allow,
            client_sealed: None,
        }],
    )
}
