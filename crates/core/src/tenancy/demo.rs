//! `serve --demo`: tenants `demo` and `other`, each with an administrator, a coach and two
//! participants in one group, written to `demo-credentials.json` so a newcomer can log in.

use crate::tenancy::NewUserRequest;
use crate::{CoreError, Services};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::path::Path;
use strongroom_domain::{
    Email, GroupId, MembershipRole, PersonName, Region, Role, Slug, TenantName,
};
use strongroom_store::Group;

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct DemoCredentials {
    pub tenants: Vec<DemoTenant>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct DemoTenant {
    pub slug: String,
    pub users: Vec<DemoUser>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct DemoUser {
    pub email: String,
    pub password: String,
    pub roles: Vec<Role>,
}

const SLUGS: [&str; 2] = ["demo", "other"];

/// (local part, display name, tenant role, role in the demo group). The administrator comes
/// with the tenant, under the name `create_tenant` gives it.
const PEOPLE: [(&str, &str, Role, Option<MembershipRole>); 4] = [
    ("admin", "Administrator", Role::Administrator, None),
    (
        "coach",
        "Cas Coach",
        Role::Coach,
        Some(MembershipRole::Coach),
    ),
    (
        "participant1",
        "Pia Participant",
        Role::Participant,
        Some(MembershipRole::Participant),
    ),
    (
        "participant2",
        "Piet Participant",
        Role::Participant,
        Some(MembershipRole::Participant),
    ),
];

fn bad(e: impl std::fmt::Display) -> CoreError {
    CoreError::internal("demo setup failed", e)
}

impl Services {
    /// Creates the demo tenants if absent and (re)writes the credentials file. If the tenants
    /// and the file both exist, nothing changes; if the file was lost, the demo users get new
    /// passwords (the old ones cannot be recovered from their hashes).
    pub async fn ensure_demo(&self, credentials_file: &Path) -> Result<DemoCredentials, CoreError> {
        let mut all_exist = true;
        for slug in SLUGS {
            all_exist &= self
                .store
                .tenant_by_slug(&Slug::parse(slug)?)
                .await?
                .is_some();
        }
        let existing = std::fs::read_to_string(credentials_file)
            .ok()
            .and_then(|t| serde_json::from_str::<DemoCredentials>(&t).ok());
        if let (true, Some(existing)) = (all_exist, existing) {
            return Ok(existing);
        }
        let mut tenants = Vec::new();
        for slug in SLUGS {
            tenants.push(self.demo_tenant(slug).await?);
        }
        let creds = DemoCredentials { tenants };
        let json = serde_json::to_string_pretty(&creds).map_err(bad)?;
        std::fs::write(credentials_file, json + "\n").map_err(bad)?;
        Ok(creds)
    }

    async fn demo_tenant(&self, slug: &str) -> Result<DemoTenant, CoreError> {
        let email = |local: &str| Email::parse(&format!("{local}@{slug}.example"));
        // A new tenant comes with its administrator and their password.
        let (tenant, mut new_admin) =
            if let Some(t) = self.store.tenant_by_slug(&Slug::parse(slug)?).await? {
                (t, None)
            } else {
                let name = TenantName::parse(&format!("Demo tenant {slug}"))?;
                let created = self
                    .create_tenant(
                        Slug::parse(slug)?,
                        name,
                        Region::default(),
                        email("admin")?,
                        true,
                        // The demo keeps the README tour short: no factor required.
                        strongroom_domain::Roles::default(),
                    )
                    .await?;
                let t = self
                    .store
                    .tenant_by_id(created.tenant_id)
                    .await?
                    .ok_or_else(|| {
                        CoreError::internal("the demo tenant just created is missing", "absent")
                    })?;
                (t, Some((created.admin_user_id, created.admin_password)))
            };
        let keys = self
            .keyring
            .tenant_fresh(&*self.store, tenant.id, self.clock.now())
            .await?;
        let group = GroupId::new();
        let group_created = self
            .store
            .insert_group(&Group {
                tenant_id: tenant.id,
                id: group,
                name: TenantName::parse("Group 1")?,
                created_at: self.clock.now(),
            })
            .await
            .is_ok();
        let mut users = Vec::new();
        for (local, name, role, membership) in PEOPLE {
            let addr = email(local)?;
            let index = keys.email_index(addr.as_str());
            let (id, password) =
                if let Some(admin) = new_admin.take().filter(|_| role == Role::Administrator) {
                    admin
                } else if let Some(u) = self.store.user_by_email_index(tenant.id, &index).await? {
                    let password: SecretString = strongroom_crypto::random_password();
                    let hash = self.hasher.hash(password.clone()).await?;
                    self.store
                        .set_password(tenant.id, u.id, &hash, false, self.clock.now())
                        .await?;
                    (u.id, password)
                } else {
                    let req = NewUserRequest {
                        email: addr.clone(),
                        name: PersonName::parse(name)?,
                        roles: [role].into_iter().collect(),
                        license_expires_at: None,
                    };
                    let (user, password) = self.prepare_user(&keys, req, false).await?;
                    self.store
                        .insert_user(&user, &strongroom_store::ChangeLog::none())
                        .await?;
                    (user.id, password)
                };
            if let (true, Some(m)) = (group_created, membership) {
                self.store.put_member(tenant.id, group, id, m).await?;
            }
            users.push(DemoUser {
                email: addr.as_str().to_owned(),
                password: password.expose_secret().to_owned(),
                roles: vec![role],
            });
        }
        Ok(DemoTenant {
            slug: slug.to_owned(),
            users,
        })
    }
}
