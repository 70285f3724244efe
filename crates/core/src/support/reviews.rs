//! Access reviews (seed 000: "the list of Superusers is checked at least every quarter"): the
//! operator reviews its superusers (`superuser review`), each tenant's administrators review
//! the tenant's administrators (`GET`/`POST /access-reviews`). A review decides keep or remove
//! for every privileged account — one left undecided refuses the review — and is recorded with
//! who reviewed and when; removing a superuser disables them, removing an administrator takes
//! the role away (the account stays). A review is overdue 92 days after the last one.

use crate::access::Action;
use crate::{CoreError, Principal, Services};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use strongroom_domain::{Email, PersonName, Role, Timestamp, UserId, UserStatus};
use strongroom_store::{AccessReview, ChangeLog, PrivacyEntry, User};

/// After how long the next review is overdue (a quarter and a day).
pub const REVIEW_OVERDUE: time::Duration = time::Duration::days(92);

/// Decisions one review takes at most.
pub const MAX_DECISIONS: usize = 500;

/// Reviews one list shows at most.
const REVIEWS_LISTED: u32 = 100;

/// The privacy log's object type for access reviews.
pub const REVIEW_OBJECT: &str = "access_review";

/// A decision on one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewDecision {
    pub user_id: UserId,
    pub keep: bool,
}

/// A review as shown.
pub struct AccessReviewView {
    pub id: uuid::Uuid,
    pub at: Timestamp,
    pub reviewer_id: Option<UserId>,
    /// The reviewer's name: the administrator's (resolved now), or the one the operator gave.
    pub reviewer: String,
    pub decisions: Vec<ReviewDecision>,
}

/// A tenant's administrators and their reviews.
pub struct AccessReviewStatus {
    pub administrators: Vec<(UserId, Option<PersonName>)>,
    pub last_review_at: Option<Timestamp>,
    pub review_overdue: bool,
    pub reviews: Vec<AccessReviewView>,
}

fn decisions_json(d: &[ReviewDecision]) -> Result<String, CoreError> {
    serde_json::to_string(d).map_err(|e| CoreError::internal("review decisions", e))
}

/// Every account of `privileged` decided exactly once, and nothing else.
fn check_complete(
    privileged: &BTreeSet<UserId>,
    decisions: &[ReviewDecision],
) -> Result<(), CoreError> {
    let mut seen = BTreeSet::new();
    for d in decisions {
        if !privileged.contains(&d.user_id) {
            return Err(CoreError::Invalid(format!(
                "decisions: {} is not one of the accounts under review",
                d.user_id.0
            )));
        }
        if !seen.insert(d.user_id) {
            return Err(CoreError::Invalid(format!(
                "decisions: {} is decided twice",
                d.user_id.0
            )));
        }
    }
    let undecided: Vec<String> = privileged
        .difference(&seen)
        .map(|u| u.0.to_string())
        .collect();
    if !undecided.is_empty() {
        return Err(CoreError::ReviewIncomplete(format!(
            "every account under review needs a decision (keep or remove); undecided: {}",
            undecided.join(", ")
        )));
    }
    Ok(())
}

fn overdue(last: Option<Timestamp>, since: Timestamp, now: Timestamp) -> bool {
    now - last.unwrap_or(since) > REVIEW_OVERDUE
}

impl Services {
    fn administrators(users: Vec<User>) -> Vec<User> {
        users
            .into_iter()
            .filter(|u| u.status == UserStatus::Active && u.roles.contains(Role::Administrator))
            .collect()
    }

    /// `GET /access-reviews`: the tenant's administrators, its reviews, and whether the next
    /// one is overdue.
    pub async fn access_reviews(&self, p: &Principal) -> Result<AccessReviewStatus, CoreError> {
        self.authorize(p, Action::ManageUsers).await?;
        let admins = Self::administrators(self.store.list_users(p.tenant_id).await?);
        let keys = self.tenant_keys_for(p.tenant_id, &admins).await?;
        let mut names = BTreeMap::new();
        let mut administrators = Vec::new();
        for u in admins {
            let id = u.id;
            let name = Self::open_user(&keys, u)?.name;
            names.insert(id, name.as_ref().map(|n| n.as_str().to_owned()));
            administrators.push((id, name));
        }
        let rows = self
            .store
            .access_reviews(p.tenant_id, REVIEWS_LISTED)
            .await?;
        let mut reviews = Vec::new();
        for r in rows {
            let reviewer = match r.reviewer_id {
                Some(id) => match names.get(&id) {
                    Some(n) => n.clone().unwrap_or_default(),
                    None => self.user_name(p.tenant_id, id).await?,
                },
                None => r.reviewer.clone(),
            };
            reviews.push(Self::review_view(&r, reviewer)?);
        }
        let tenant = self
            .store
            .tenant_by_id(p.tenant_id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let last_review_at = reviews.first().map(|r| r.at);
        Ok(AccessReviewStatus {
            administrators,
            last_review_at,
            review_overdue: overdue(last_review_at, tenant.created_at, self.clock.now()),
            reviews,
        })
    }

    /// `POST /access-reviews`: an administrator decides keep or remove for every
    /// administrator of the tenant; those removed lose the administrator role.
    pub async fn review_administrators(
        &self,
        p: &Principal,
        decisions: Vec<ReviewDecision>,
    ) -> Result<AccessReviewView, CoreError> {
        self.authorize(p, Action::ManageUsers).await?;
        if decisions.len() > MAX_DECISIONS {
            return Err(CoreError::Invalid(format!(
                "decisions: at most {MAX_DECISIONS}"
            )));
        }
        let admins = Self::administrators(self.store.list_users(p.tenant_id).await?);
        let privileged: BTreeSet<UserId> = admins.iter().map(|u| u.id).collect();
        check_complete(&privileged, &decisions)?;
        if decisions.iter().any(|d| d.user_id == p.user_id && !d.keep) {
            return Err(CoreError::Invalid(
                "decisions: administrators do not remove themselves in their own review".into(),
            ));
        }
        let new_roles: Vec<_> = admins
            .iter()
            .filter(|u| decisions.iter().any(|d| d.user_id == u.id && !d.keep))
            .map(|u| {
                let mut roles = u.roles.clone();
                roles.0.remove(&Role::Administrator);
                (u.id, roles)
            })
            .collect();
        let now = self.clock.now();
        let review = AccessReview {
            tenant_id: p.tenant_id,
            id: uuid::Uuid::now_v7(),
            reviewer_id: Some(p.user_id),
            reviewer: String::new(),
            at: now,
            decisions: decisions_json(&decisions)?,
        };
        let log = review_log(&review, p.user_id, &decisions, "administrator");
        self.store
            .insert_access_review(&review, &new_roles, &log)
            .await?;
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, removed = new_roles.len(), "administrators reviewed");
        let name = self.user_name(p.tenant_id, p.user_id).await?;
        Self::review_view(&review, name)
    }

    /// `strongroom superuser review`: the operator's review of every active superuser;
    /// those to remove are removed (their grants end).
    pub async fn review_superusers(
        &self,
        reviewer: &str,
        keep: &[Email],
        remove: &[Email],
    ) -> Result<AccessReviewView, CoreError> {
        let reviewer = strongroom_domain::free_text(
            "--reviewer",
            reviewer,
            200,
            strongroom_domain::TextKind::Line,
        )?;
        let operator = self
            .operator_tenant()
            .await?
            .ok_or(CoreError::NotFound("superuser"))?;
        let keys = self.tenant_keys(operator.id).await?;
        let mut decisions = Vec::new();
        for (emails, keep) in [(keep, true), (remove, false)] {
            for e in emails {
                let user = self
                    .store
                    .user_by_email_index(operator.id, &keys.email_index(e.as_str()))
                    .await?
                    .filter(|u| u.status == UserStatus::Active)
                    .ok_or_else(|| {
                        CoreError::Invalid(format!("{e:?} is not an active superuser"))
                    })?;
                decisions.push(ReviewDecision {
                    user_id: user.id,
                    keep,
                });
            }
        }
        let privileged: BTreeSet<UserId> = self
            .store
            .list_users(operator.id)
            .await?
            .into_iter()
            .filter(|u| u.status == UserStatus::Active)
            .map(|u| u.id)
            .collect();
        check_complete(&privileged, &decisions)?;
        let review = AccessReview {
            tenant_id: operator.id,
            id: uuid::Uuid::now_v7(),
            reviewer_id: None,
            reviewer: reviewer.clone(),
            at: self.clock.now(),
            decisions: decisions_json(&decisions)?,
        };
        self.store
            .insert_access_review(&review, &[], &ChangeLog::none())
            .await?;
        for e in remove {
            self.remove_superuser(e).await?;
        }
        tracing::info!(removed = remove.len(), "superusers reviewed");
        Self::review_view(&review, reviewer.clone())
    }

    /// The newest review of the superusers, if any.
    pub(crate) async fn last_superuser_review(
        &self,
        operator: strongroom_domain::TenantId,
    ) -> Result<Option<Timestamp>, CoreError> {
        Ok(self
            .store
            .access_reviews(operator, 1)
            .await?
            .first()
            .map(|r| r.at))
    }

    pub(crate) fn review_overdue(&self, last: Option<Timestamp>, since: Timestamp) -> bool {
        overdue(last, since, self.clock.now())
    }

    fn review_view(r: &AccessReview, reviewer: String) -> Result<AccessReviewView, CoreError> {
        let decisions: Vec<ReviewDecision> = serde_json::from_str(&r.decisions)
            .map_err(|e| CoreError::internal("stored review decisions do not parse", e))?;
        Ok(AccessReviewView {
            id: r.id,
            at: r.at,
            reviewer_id: r.reviewer_id,
            reviewer,
            decisions,
        })
    }

    async fn user_name(
        &self,
        tenant: strongroom_domain::TenantId,
        id: UserId,
    ) -> Result<String, CoreError> {
        let Some(u) = self.store.user_by_id(tenant, id).await? else {
            return Ok(String::new());
        };
        let keys = self
            .tenant_keys_for(tenant, std::slice::from_ref(&u))
            .await?;
        Ok(Self::open_user(&keys, u)?.name.map_or_else(
            || crate::tenancy::DELETED_NAME.to_owned(),
            |n| n.as_str().to_owned(),
        ))
    }
}

/// The review's privacy-log entry: who reviewed, how many were kept, who was removed.
fn review_log(r: &AccessReview, actor: UserId, d: &[ReviewDecision], via: &str) -> ChangeLog {
    let removed: Vec<String> = d
        .iter()
        .filter(|d| !d.keep)
        .map(|d| d.user_id.0.to_string())
        .collect();
    crate::privacy::change_log(
        r.tenant_id,
        vec![PrivacyEntry {
            at: r.at,
            actor_id: Some(actor.0),
            via: via.to_owned(),
            subject_id: None,
            object_type: REVIEW_OBJECT.into(),
            object_id: Some(r.id),
            action: "review".into(),
            fields: vec![
                format!("kept: {}", d.iter().filter(|d| d.keep).count()),
                format!("removed: [{}]", removed.join(", ")),
            ],
            decision: strongroom_domain::Decision::Allow,
            client_sealed: None,
        }],
    )
}
