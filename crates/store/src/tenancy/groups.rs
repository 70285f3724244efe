//! Groups and their members.

use crate::exec::{Backend, Exec, args, named};
use crate::{Group, Member, Result, StoreError, rows, sql};
use async_trait::async_trait;
use strongroom_domain::{GroupId, MembershipRole, TenantId, UserId};

#[async_trait]
pub trait GroupStore: Send + Sync {
    async fn insert_group(&self, group: &Group) -> Result<()>;
    async fn group_by_id(&self, tenant: TenantId, id: GroupId) -> Result<Option<Group>>;
    /// A page of the tenant's groups, newest first, before `before`.
    async fn groups_page(
        &self,
        tenant: TenantId,
        before: Option<GroupId>,
        limit: u32,
    ) -> Result<Vec<Group>>;
    /// Adds or updates a membership; `NotFound` if the group or the (undeleted) user is missing.
    async fn put_member(
        &self,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
        role: MembershipRole,
    ) -> Result<()>;
    async fn members(&self, tenant: TenantId, group: GroupId) -> Result<Vec<Member>>;

    /// The groups a user belongs to, with the role in each.
    async fn memberships(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<(GroupId, MembershipRole)>>;
}

#[async_trait]
impl<B: Backend> GroupStore for B {
    async fn insert_group(&self, g: &Group) -> Result<()> {
        let g = g.clone();
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::INSERT_GROUP,
                    args![g.tenant_id, g.id, g.name.as_str(), g.created_at],
                )
                .await
                .map_err(named("group"))?;
                Ok(())
            })
        })
        .await
    }

    async fn group_by_id(&self, tenant: TenantId, id: GroupId) -> Result<Option<Group>> {
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::GROUP_BY_ID, args![tenant, id], rows::group)
                    .await
            })
        })
        .await
    }

    async fn groups_page(
        &self,
        tenant: TenantId,
        before: Option<GroupId>,
        limit: u32,
    ) -> Result<Vec<Group>> {
        let before = before.unwrap_or(GroupId(uuid::Uuid::max()));
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::GROUPS_PAGE, args![tenant, before, limit], rows::group)
                    .await
            })
        })
        .await
    }

    async fn put_member(
        &self,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
        role: MembershipRole,
    ) -> Result<()> {
        self.write(move |c| {
            Box::pin(async move {
                c.query_opt(sql::GROUP_BY_ID, args![tenant, group], |_| Ok(()))
                    .await?
                    .ok_or(StoreError::NotFound("group"))?;
                c.query_opt(sql::USER_IS_LIVE, args![tenant, user], |_| Ok(()))
                    .await?
                    .ok_or(StoreError::NotFound("user"))?;
                c.execute(sql::PUT_MEMBER, args![tenant, group, user, role.as_str()])
                    .await
                    .map_err(named("member"))?;
                Ok(())
            })
        })
        .await
    }

    async fn members(&self, tenant: TenantId, group: GroupId) -> Result<Vec<Member>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::MEMBERS, args![tenant, group], |r| {
                    let (user, role) = rows::membership(r)?;
                    Ok(Member {
                        user_id: UserId(user.0),
                        role,
                    })
                })
                .await
            })
        })
        .await
    }

    async fn memberships(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<(GroupId, MembershipRole)>> {
        self.point(move |c| Box::pin(memberships(c, tenant, user)))
            .await
    }
}

/// The groups a user belongs to, with their role in each.
pub(crate) async fn memberships<E: Exec>(
    c: &mut E,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<(GroupId, MembershipRole)>> {
    c.query(
        sql::MEMBERSHIPS_OF_USER,
        args![tenant, user],
        rows::membership,
    )
    .await
}
