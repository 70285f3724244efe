//! The guard every operation passes: the caller as the policies see them, level 2 (with
//! `authorize` for administration), levels 3 on records, and the privacy-log entries of every
//! refusal, read and change. A record is handed out only once it passed; its key only after.

use crate::access::{Action, Actor, RecordFacts, Verdict};
use crate::keys::SubjectKey;
use crate::privacy::{RECORD_OBJECT, USERS_TABLE};
use crate::{CoreError, Principal, Services};
use std::net::IpAddr;
use strongroom_domain::{Decision, RecordId, Role, UserId};
use strongroom_store::{ChangeLog, PrivacyEntry, RecordView};

impl Services {
    /// A privacy-log entry by the caller about a person's user record (no client address).
    pub(crate) fn user_entry(
        &self,
        p: &Principal,
        subject: Option<UserId>,
        action: &str,
        fields: &[&str],
        decision: Decision,
    ) -> PrivacyEntry {
        PrivacyEntry {
            at: self.clock.now(),
            actor_id: Some(p.support.as_ref().map_or(p.user_id, |s| s.superuser_id).0),
            via: Self::actor(p).0.via(&p.roles.to_stored()),
            subject_id: subject.map(|s| s.0),
            object_type: USERS_TABLE.into(),
            object_id: subject.map(|s| s.0),
            action: action.into(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            decision,
            client_sealed: None,
        }
    }

    /// Level 2 of an operation on the tenant (administration): a Cedar decision in the
    /// tenant's policy set, through the same decision point as every other level.
    pub(crate) async fn authorize(&self, p: &Principal, action: Action) -> Result<(), CoreError> {
        let (actor, _) = Self::actor(p);
        if self.may_call(&actor, action).await? {
            Ok(())
        } else {
            Err(Self::refused(action))
        }
    }

    /// Whether the caller's roles allow an operation on the tenant: the same Cedar decision,
    /// for the console to offer only the pages the caller may use (each page's operation is
    /// still decided by its service).
    pub async fn may(&self, p: &Principal, action: Action) -> Result<bool, CoreError> {
        let (actor, _) = Self::actor(p);
        self.may_call(&actor, action).await
    }

    /// The level-2 decision itself (cached in `Access`), shared by [`Self::authorize`] and
    /// [`Self::level2`].
    async fn may_call(&self, actor: &Actor, action: Action) -> Result<bool, CoreError> {
        Ok(self
            .access
            .level2(&*self.store, actor, action)
            .await?
            .allowed())
    }

    fn refused(action: Action) -> CoreError {
        CoreError::Forbidden(format!("your roles do not allow {}", action.as_str()))
    }

    /// [`Self::authorize`] for an operation on people's data: a refusal is logged as a denial
    /// (naming the person it concerned, if any) before it is answered.
    pub(crate) async fn authorize_logged(
        &self,
        p: &Principal,
        action: Action,
        subject: Option<UserId>,
        logged_as: &str,
    ) -> Result<(), CoreError> {
        if let Err(e) = self.authorize(p, action).await {
            self.privacy
                .append(
                    p.tenant_id,
                    self.user_entry(p, subject, logged_as, &[], Decision::Deny),
                )
                .await?;
            return Err(e);
        }
        Ok(())
    }

    /// The caller as the access policies see them, with their subject key (for sealing the
    /// client address of their privacy-log entries).
    #[doc(hidden)] // public for the hot-path bench (benches/hotpath.rs)
    pub fn actor(p: &Principal) -> (Actor, Option<strongroom_store::WrappedSubjectKey>) {
        (
            Actor {
                tenant: p.tenant_id,
                user: p.user_id,
                roles: p.roles.clone(),
                memberships: p.memberships.clone(),
                policy_version: p.policy_version,
                client: p.client.clone(),
                support: p.support.clone(),
            },
            p.subject_key.clone(),
        )
    }

    /// A privacy-log entry by this actor about a record (or file), with the client address
    /// sealed under the actor's own key.
    #[allow(clippy::too_many_arguments)]
    #[doc(hidden)] // public for the hot-path bench
    pub async fn access_entry(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        via: &str,
        subject: Option<UserId>,
        object: (&str, Option<uuid::Uuid>),
        action: &str,
        fields: Vec<String>,
        decision: Decision,
    ) -> Result<PrivacyEntry, CoreError> {
        let client_sealed = match (client, &actor.1) {
            (Some(ip), Some(w)) => {
                let keys = self
                    .keyring
                    .tenant_with_kek(
                        &*self.store,
                        actor.0.tenant,
                        w.kek_version,
                        self.clock.now(),
                    )
                    .await?;
                let key = keys.open_subject_key(actor.0.user.0, w)?;
                Some(key.seal(
                    actor.0.tenant,
                    "privacy_log",
                    actor.0.user.0,
                    "client",
                    ip.to_string().as_bytes(),
                )?)
            }
            _ => None,
        };
        Ok(PrivacyEntry {
            at: self.clock.now(),
            // Under a support grant the superuser acted, whoever they acted as.
            actor_id: Some(
                actor
                    .0
                    .support
                    .as_ref()
                    .map_or(actor.0.user, |s| s.superuser_id)
                    .0,
            ),
            via: actor.0.via(via),
            subject_id: subject.map(|s| s.0),
            object_type: object.0.to_owned(),
            object_id: object.1,
            action: action.to_owned(),
            fields,
            decision,
            client_sealed,
        })
    }

    /// Builds an access entry (see [`Self::access_entry`]) and appends it durably.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn log_access(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        via: &str,
        subject: Option<UserId>,
        object: (&str, Option<uuid::Uuid>),
        action: &str,
        fields: Vec<String>,
        decision: Decision,
    ) -> Result<(), CoreError> {
        let entry = self
            .access_entry(
                actor, client, via, subject, object, action, fields, decision,
            )
            .await?;
        self.privacy.append(actor.0.tenant, entry).await?;
        Ok(())
    }

    /// The entry of an allowed change (see [`Self::access_entry`]), for the store to append
    /// inside the change's own transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn change_log(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        via: &str,
        subject: Option<UserId>,
        object: (&str, Option<uuid::Uuid>),
        action: &str,
        fields: Vec<String>,
    ) -> Result<ChangeLog, CoreError> {
        let entry = self
            .access_entry(
                actor,
                client,
                via,
                subject,
                object,
                action,
                fields,
                Decision::Allow,
            )
            .await?;
        Ok(crate::privacy::change_log(actor.0.tenant, vec![entry]))
    }

    /// Level 2, with a refusal logged and answered 403.
    pub(crate) async fn level2(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        action: Action,
        object: (&str, Option<uuid::Uuid>),
    ) -> Result<(), CoreError> {
        if self.may_call(&actor.0, action).await? {
            return Ok(());
        }
        self.log_access(
            actor,
            client,
            &actor.0.roles.to_stored(),
            None,
            object,
            action.as_str(),
            Vec::new(),
            Decision::Deny,
        )
        .await?;
        Err(Self::refused(action))
    }

    /// Level 3 facts of a record: a reply takes its parent's visibility and hidden flag.
    #[doc(hidden)] // public for the hot-path bench
    pub async fn facts(&self, view: &RecordView) -> Result<RecordFacts, CoreError> {
        let r = &view.record;
        let (visibility, hidden) = match r.parent_id {
            Some(parent) => match self.store.record(r.tenant_id, parent).await? {
                Some(pv) => (pv.record.visibility, pv.record.hidden || r.hidden),
                None => (r.visibility, r.hidden),
            },
            None => (r.visibility, r.hidden),
        };
        Ok(RecordFacts {
            tenant: r.tenant_id,
            id: r.id,
            collection: view.collection.name.clone(),
            owner: r.subject_id,
            author: r.created_by,
            group: r.group_id,
            visibility,
            hidden,
            is_reply: r.parent_id.is_some(),
        })
    }

    /// Level 3, with a refusal logged: 403 if only retention's hiding stands in the way,
    /// 404 otherwise. Returns the role the permit acts in.
    pub(crate) async fn level3(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        action: Action,
        facts: &RecordFacts,
        object: (&str, Option<uuid::Uuid>),
    ) -> Result<String, CoreError> {
        let verdict = self
            .access
            .on_record(&*self.store, &actor.0, action, facts)
            .await?;
        if let Verdict::Allow { role } = verdict {
            return Ok(role);
        }
        self.log_access(
            actor,
            client,
            &actor.0.roles.to_stored(),
            Some(facts.owner),
            object,
            action.as_str(),
            Vec::new(),
            Decision::Deny,
        )
        .await?;
        if facts.hidden {
            let unhidden = RecordFacts {
                hidden: false,
                ..facts.clone()
            };
            if self
                .access
                .on_record(&*self.store, &actor.0, action, &unhidden)
                .await?
                .allowed()
            {
                return Err(CoreError::Forbidden(
                    "this record is hidden (retention); an administrator can reopen it".into(),
                ));
            }
        }
        Err(CoreError::NotFound("record"))
    }

    #[doc(hidden)] // public for the hot-path bench
    pub async fn subject_key_of(&self, view: &RecordView) -> Result<Option<SubjectKey>, CoreError> {
        let Some(w) = &view.subject_key else {
            return Ok(None);
        };
        let keys = self
            .keyring
            .tenant_with_kek(
                &*self.store,
                view.record.tenant_id,
                w.kek_version,
                self.clock.now(),
            )
            .await?;
        Ok(Some(keys.open_subject_key(view.record.subject_id.0, w)?))
    }

    /// Loads a record through levels 2 and 3 (both logged when they refuse).
    pub(crate) async fn checked_record(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        action: Action,
        id: RecordId,
    ) -> Result<(RecordView, RecordFacts, String), CoreError> {
        let (view, facts, role) = self
            .checked_record_even_deleted(actor, client, action, id)
            .await?;
        not_deleted(&view)?;
        Ok((view, facts, role))
    }

    /// `checked_record`, also for a soft-deleted record (restoring, holding).
    pub(crate) async fn checked_record_even_deleted(
        &self,
        actor: &(Actor, Option<strongroom_store::WrappedSubjectKey>),
        client: Option<IpAddr>,
        action: Action,
        id: RecordId,
    ) -> Result<(RecordView, RecordFacts, String), CoreError> {
        self.level2(actor, client, action, (RECORD_OBJECT, Some(id.0)))
            .await?;
        let Some(view) = self.store.record(actor.0.tenant, id).await? else {
            return Err(self.missing_record(&actor.0, id).await);
        };
        let facts = self.facts(&view).await?;
        let role = self
            .level3(actor, client, action, &facts, (RECORD_OBJECT, Some(id.0)))
            .await?;
        Ok((view, facts, role))
    }

    /// The answer for a record that is not there: 410 if retention or erasure deleted it and
    /// the caller may know it existed (administrators, its subject), 404 otherwise.
    pub(crate) async fn missing_record(&self, actor: &Actor, id: RecordId) -> CoreError {
        match self.store.tombstone(actor.tenant, id.0, "").await {
            Ok(Some(t))
                if actor.roles.contains(Role::Administrator)
                    || t.subject_id == Some(actor.user) =>
            {
                CoreError::gone("record", &t)
            }
            Ok(_) => CoreError::NotFound("record"),
            Err(e) => e.into(),
        }
    }
}

/// A record the caller passed levels 2 and 3 for, unless it is soft-deleted.
pub(crate) fn not_deleted(view: &RecordView) -> Result<(), CoreError> {
    match view.record.deleted_at {
        Some(_) => Err(CoreError::Gone(
            "this record was deleted; an administrator can restore it until it is purged".into(),
        )),
        None => Ok(()),
    }
}
