//! Break-glass: the operator opens a `read` grant without approval (at most 240 minutes),
//! for when no administrator can answer in time. The tenant's administrators are mailed at
//! once; the grant is marked `break_glass` in the grant list, the policies' `Support`
//! principal and the privacy log (its entry's action). A tenant that set `break_glass: false`
//! is refused.

use crate::support::{OPERATOR_SLUG, SupportRequestView, support_log};
use crate::{CoreError, Services};
use std::time::Duration;
use strongroom_domain::{
    Email, Slug, SupportKind, SupportRequestId, SupportStatus, TenantStatus, UserStatus,
};
use strongroom_store::SupportRequest;

/// The longest break-glass grant.
pub const MAX_BREAK_GLASS_MINUTES: u32 = 240;

impl Services {
    /// `strongroom support break-glass`: an active read grant for `superuser` in `tenant`.
    pub async fn break_glass(
        &self,
        tenant: &str,
        superuser: &Email,
        reason: &str,
        minutes: u32,
    ) -> Result<SupportRequestView, CoreError> {
        if !(1..=MAX_BREAK_GLASS_MINUTES).contains(&minutes) {
            return Err(CoreError::Invalid(format!(
                "--minutes: 1 to {MAX_BREAK_GLASS_MINUTES}"
            )));
        }
        let reason = strongroom_domain::free_text(
            "--reason",
            reason,
            crate::support::MAX_REASON,
            strongroom_domain::TextKind::Line,
        )?;
        let tenant = match Slug::parse(tenant) {
            Ok(slug) if slug.as_str() != OPERATOR_SLUG => self.store.tenant_by_slug(&slug).await?,
            _ => None,
        }
        .filter(|t| t.status == TenantStatus::Active)
        .ok_or(CoreError::NotFound("tenant"))?;
        if !tenant.break_glass {
            return Err(CoreError::Forbidden(format!(
                "tenant {:?} turned break-glass off (PATCH /api/v1/tenant {{\"break_glass\": false}}); ask its administrators",
                tenant.slug.as_str()
            )));
        }
        let operator = self
            .operator_tenant()
            .await?
            .ok_or(CoreError::NotFound("superuser"))?;
        let index = self
            .tenant_keys(operator.id)
            .await?
            .email_index(superuser.as_str());
        let su = self
            .store
            .user_by_email_index(operator.id, &index)
            .await?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or(CoreError::NotFound("superuser"))?;
        let now = self.clock.now();
        let ends_at = now + Duration::from_secs(u64::from(minutes) * 60);
        let row = SupportRequest {
            tenant_id: tenant.id,
            id: SupportRequestId::new(),
            superuser_id: su.id,
            reason: reason.clone(),
            kind: SupportKind::Read,
            user_id: None,
            minutes,
            status: SupportStatus::Approved,
            created_at: now,
            pending_until: now,
            starts_at: Some(now),
            ends_at: Some(ends_at),
            decided_by: None,
            decided_at: Some(now),
            break_glass: true,
            first_used_at: None,
        };
        let via = crate::access::support_via(row.id);
        let log = support_log(&row, (su.id, &via), "break_glass", now);
        self.store.insert_support_request(&row, &log).await?;
        let name = self.superuser_name(su.id).await?;
        self.mail_administrators(
            tenant.id,
            "BREAK-GLASS: vendor support opened access to your data",
            format!(
                "The vendor's operator opened break-glass read access to {tenant} for {name} of its \
                 support, without your approval, for {minutes} minutes (until {ends_at}).\n\n\
                 Reason: {reason}\n\n\
                 Every access is in your privacy log (via support:{id}). Revoke it at once with\n\
                 DELETE /api/v1/support/requests/{id}; refuse break-glass from now on with\n\
                 PATCH /api/v1/tenant {{\"break_glass\": false}}.\n",
                tenant = tenant.name.as_str(),
                ends_at = crate::mail::when(ends_at),
                id = row.id.0,
            ),
        )
        .await?;
        tracing::warn!(tenant = %tenant.id, superuser = %su.id, request = %row.id.0, minutes, "break-glass support grant opened");
        Ok(self.view(&row, tenant.slug.as_str(), name))
    }
}
