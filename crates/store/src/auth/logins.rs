//! The login history: every attempt, its outcome and the sealed client address.

use crate::exec::{Backend, Exec, args};
use crate::{LoginEvent, Result, rows, sql};
use async_trait::async_trait;
use strongroom_domain::{LoginEventId, TenantId, UserId};

#[async_trait]
pub trait LoginHistoryStore: Send + Sync {
    async fn append_login(&self, event: &LoginEvent) -> Result<()>;
    /// A user's login attempts, newest first, before `before` (the last id of the previous
    /// page).
    async fn login_history(
        &self,
        tenant: TenantId,
        user: UserId,
        before: Option<LoginEventId>,
        limit: u32,
    ) -> Result<Vec<LoginEvent>>;
}

#[async_trait]
impl<B: Backend> LoginHistoryStore for B {
    async fn append_login(&self, e: &LoginEvent) -> Result<()> {
        let e = e.clone();
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::INSERT_LOGIN,
                    args![
                        e.tenant_id,
                        e.id,
                        e.user_id,
                        e.at,
                        &e.ip_sealed,
                        e.outcome.as_str()
                    ],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn login_history(
        &self,
        tenant: TenantId,
        user: UserId,
        before: Option<LoginEventId>,
        limit: u32,
    ) -> Result<Vec<LoginEvent>> {
        let before = before.unwrap_or(LoginEventId(uuid::Uuid::max()));
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::LOGIN_HISTORY,
                    args![tenant, user, before, limit],
                    rows::login,
                )
                .await
            })
        })
        .await
    }
}
