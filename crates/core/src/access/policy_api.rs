//! The policy API: a tenant reads and replaces its access policies (`GET`/`PUT /policies`),
//! validated before they are stored, and never so that nobody could administer the tenant.

use crate::access::{ADMINISTRATION, Access, Action, TEMPLATES, TenantPolicies};
use crate::{CoreError, Services};
use std::collections::HashSet;
use strongroom_domain::Roles;
use strongroom_store::PolicyRow;

impl Services {
    /// The tenant's policies in force (administrators).
    pub async fn get_policies(&self, p: &crate::Principal) -> Result<TenantPolicies, CoreError> {
        self.authorize(p, Action::ManagePolicies).await?;
        self.access.policies_of(&*self.store, p.tenant_id).await
    }

    /// Replaces the tenant's policies (administrators): a template by name, policy text, or
    /// both (the text then counts as edited from that template). Validated before stored;
    /// `expected_version` guards against overwriting a change one has not seen.
    pub async fn put_policies(
        &self,
        p: &crate::Principal,
        client: Option<std::net::IpAddr>,
        template: Option<&str>,
        text: Option<&str>,
        expected_version: u64,
    ) -> Result<TenantPolicies, CoreError> {
        self.authorize(p, Action::ManagePolicies).await?;
        let current = self.access.policies_of(&*self.store, p.tenant_id).await?;
        if let Some(t) = template
            && Access::template(t).is_none()
        {
            let names: Vec<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
            return Err(CoreError::Invalid(format!(
                "template: one of {}",
                names.join(", ")
            )));
        }
        let policies = match (text, template) {
            (Some(text), _) => text.to_owned(),
            (None, Some(t)) => Access::template(t).unwrap_or_default().to_owned(),
            (None, None) => {
                return Err(CoreError::Invalid(
                    "give a template, policies, or both".into(),
                ));
            }
        };
        // Validation first: nothing invalid is ever stored.
        let set = self.access.parse(&policies)?;
        let role_sets: HashSet<Roles> = self
            .store
            .list_users(p.tenant_id)
            .await?
            .into_iter()
            .filter(|u| u.status == strongroom_domain::UserStatus::Active)
            .map(|u| u.roles)
            .collect();
        if !self.access.administrable(p.tenant_id, &set, &role_sets)? {
            return Err(CoreError::Invalid(format!(
                "policies: no user of this tenant could administer it under these policies \
                 (someone must be allowed {}); keep a permit such as the templates' \
                 \"administration\"",
                ADMINISTRATION.map(Action::as_str).join(" and ")
            )));
        }
        if expected_version != current.version {
            return Err(CoreError::Conflict(format!(
                "the policies are at version {}; read them again and retry",
                current.version
            )));
        }
        let row = PolicyRow {
            template: template.unwrap_or(&current.template).to_owned(),
            policies,
            version: current.version + 1,
            updated_by: p.user_id,
            updated_at: self.clock.now(),
        };
        let actor = Self::actor(p);
        let log = self
            .change_log(
                &actor,
                client,
                "administrator",
                None,
                ("policies", None),
                "replace",
                vec![
                    format!("template: {}", row.template),
                    format!("version: {} -> {}", current.version, row.version),
                ],
            )
            .await?;
        if !self
            .store
            .put_policies(p.tenant_id, &row, expected_version, &log)
            .await?
        {
            return Err(CoreError::Conflict(
                "the policies changed meanwhile; read them again and retry".into(),
            ));
        }
        Ok(TenantPolicies {
            template: row.template,
            policies: row.policies,
            version: row.version,
        })
    }
}
