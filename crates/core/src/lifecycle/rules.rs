//! A tenant's retention rules (`GET`/`PUT /retention-rules`; seed 000's periods by default).

use crate::access::Action;
use crate::error::failed;
use crate::{CoreError, Services};
use serde::{Deserialize, Serialize};
use strongroom_domain::TenantId;
use time::Duration;

/// A tenant's retention rules (`GET/PUT /retention-rules`); the defaults are seed 000's.
/// Every period is 0 to 3650 days; the notice comes before the deletion of recordings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionRules {
    /// Licence expiry to the mail that announces the deletion of recordings.
    #[schema(maximum = 3650)]
    pub notice_after_days: u32,
    /// Licence expiry to the deletion of recordings (unless the user keeps them).
    #[schema(maximum = 3650)]
    pub delete_recordings_after_days: u32,
    /// End of the agreement to the destruction of the tenant.
    #[schema(maximum = 3650)]
    pub destroy_after_days: u32,
    /// Soft deletion to the purge.
    #[schema(maximum = 3650)]
    pub purge_deleted_after_days: u32,
}

impl Default for RetentionRules {
    fn default() -> Self {
        Self {
            notice_after_days: 31,
            delete_recordings_after_days: 45,
            destroy_after_days: 45,
            purge_deleted_after_days: 30,
        }
    }
}

/// The longest period a rule may set (ten years).
const MAX_DAYS: u32 = 3650;

impl RetentionRules {
    pub fn check(&self) -> Result<(), CoreError> {
        for (name, v) in [
            ("notice_after_days", self.notice_after_days),
            (
                "delete_recordings_after_days",
                self.delete_recordings_after_days,
            ),
            ("destroy_after_days", self.destroy_after_days),
            ("purge_deleted_after_days", self.purge_deleted_after_days),
        ] {
            if v > MAX_DAYS {
                return Err(CoreError::Invalid(format!("{name}: 0 to {MAX_DAYS}")));
            }
        }
        if self.notice_after_days >= self.delete_recordings_after_days {
            return Err(CoreError::Invalid(
                "notice_after_days: the notice must come before the deletion (less than delete_recordings_after_days)".into(),
            ));
        }
        Ok(())
    }
    pub(crate) fn notice_after(&self) -> Duration {
        Duration::days(i64::from(self.notice_after_days))
    }
    pub(crate) fn delete_after(&self) -> Duration {
        Duration::days(i64::from(self.delete_recordings_after_days))
    }
    pub(crate) fn destroy_after(&self) -> Duration {
        Duration::days(i64::from(self.destroy_after_days))
    }
    pub(crate) fn purge_deleted_after(&self) -> Duration {
        Duration::days(i64::from(self.purge_deleted_after_days))
    }
}

impl Services {
    /// A tenant's rules: its own, or the defaults.
    pub(crate) async fn rules_of(&self, tenant: TenantId) -> Result<RetentionRules, CoreError> {
        match self.store.retention_rules(tenant).await? {
            Some(json) => {
                serde_json::from_str(&json).map_err(failed("stored retention rules do not parse"))
            }
            None => Ok(RetentionRules::default()),
        }
    }

    /// `GET /retention-rules` (administrators).
    pub async fn retention_rules(&self, p: &crate::Principal) -> Result<RetentionRules, CoreError> {
        self.authorize_logged(p, Action::ManageRetention, None, "read_retention_rules")
            .await?;
        self.rules_of(p.tenant_id).await
    }

    /// `PUT /retention-rules` (administrators): takes effect on the next retention run, for
    /// steps already scheduled too.
    pub async fn put_retention_rules(
        &self,
        p: &crate::Principal,
        rules: RetentionRules,
    ) -> Result<RetentionRules, CoreError> {
        self.authorize_logged(p, Action::ManageRetention, None, "update_retention_rules")
            .await?;
        rules.check()?;
        let json =
            serde_json::to_string(&rules).map_err(failed("retention rules do not serialise"))?;
        let before = serde_json::to_value(self.rules_of(p.tenant_id).await?)
            .map_err(failed("retention rules do not serialise"))?;
        let after =
            serde_json::to_value(rules).map_err(failed("retention rules do not serialise"))?;
        // What changed, rule by rule (a security setting: the log says who shortened what).
        let changed: Vec<String> = after
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| before.get(k.as_str()) != Some(v))
            .map(|(k, v)| {
                let old = before
                    .get(k.as_str())
                    .map_or_else(String::new, ToString::to_string);
                format!("{k}: {old} -> {v}")
            })
            .collect();
        let log = self
            .change_log(
                &Self::actor(p),
                None,
                "administrator",
                None,
                (crate::privacy::TENANT_OBJECT, Some(p.tenant_id.0)),
                "update_retention_rules",
                changed,
            )
            .await?;
        self.store
            .put_retention_rules(p.tenant_id, &json, p.user_id, self.clock.now(), &log)
            .await?;
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, ?rules, "retention rules changed");
        Ok(rules)
    }
}
