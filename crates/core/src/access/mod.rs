//! Levels 2 to 4 of the access check, as Cedar policies.
//!
//! Level 1 (tenant) is structural: every store call names the caller's tenant. Level 2 asks
//! whether the caller may call an operation at all (resource: the tenant), level 3 whether
//! they have a right on one record, level 4 whether they may open one file. The caller and the
//! resources become Cedar entities built from the store on every request; nothing is decrypted
//! before the levels a request needs have all said yes.
//!
//! Policies are validated (strict mode) against [`SCHEMA`] before they take effect, both the
//! shipped templates (at start) and a tenant's replacement (before it is stored).
//!
//! Caching, only where invalidation is exact:
//! * a tenant's parsed policy set is kept under its stored version; the version comes with
//!   every caller (joined into the token lookup), so a replacement made by any instance is
//!   seen on the next request;
//! * level-2 decisions are kept under (tenant, policy version, the caller's complete entity —
//!   roles and memberships —, action). The tenant entity has no attributes and the context is
//!   empty, so that key is the decision's whole input: a role or membership change is a new
//!   key, never a stale hit.

pub mod guard;
pub mod policy_api;
#[cfg(test)]
mod tests;

use crate::CoreError;
use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, Policy,
    PolicyId, PolicySet, Request, ResourceConstraint, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use strongroom_domain::{GroupId, MembershipRole, RecordId, Roles, TenantId, UserId};
use strongroom_domain::{Scope, SupportKind};
use strongroom_store::{ClientCaller, PolicyRow, Store, SupportCaller};

/// The Cedar schema every policy is validated against.
pub const SCHEMA: &str = include_str!("policies/schema.cedarschema");

/// The shipped templates: name and policy text.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("training", include_str!("policies/training.cedar")),
    ("contracts", include_str!("policies/contracts.cedar")),
    ("dossier", include_str!("policies/dossier.cedar")),
];

/// The base layer: forbids in every tenant's set that no tenant policy can lift.
pub const BASE: &str = include_str!("policies/base.cedar");

/// Ids of the base layer's policies start with this; tenant policies may not.
pub const BASE_ID_PREFIX: &str = "base:";

/// What "able to administer the tenant" means: a policy change that leaves no user with both
/// of these is refused, so a tenant can always repair its policies and its users.
pub const ADMINISTRATION: [Action; 2] = [Action::ManagePolicies, Action::ManageUsers];

/// The template a tenant uses until it stores policies of its own.
pub const DEFAULT_TEMPLATE: &str = "training";

/// Largest policy text a tenant may store.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// Level-2 decisions kept at most; the cache is emptied when it is full.
const L2_CACHE_MAX: usize = 16_384;

/// The operations policies speak about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    ManageCollections,
    ReadCollections,
    CreateRecord,
    ReadRecord,
    UpdateRecord,
    ReopenRecord,
    DeleteRecord,
    RestoreRecord,
    HoldRecord,
    WriteFile,
    ReadFile,
    ReadUsers,
    ManageUsers,
    ManageGroups,
    ExportUser,
    ReadPrivacyLog,
    ManageTenant,
    ManagePolicies,
    ManageRetention,
    /// A superuser asks a tenant for support access (in the operator tenant).
    RequestSupport,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ManageCollections => "manageCollections",
            Action::ReadCollections => "readCollections",
            Action::CreateRecord => "createRecord",
            Action::ReadRecord => "readRecord",
            Action::UpdateRecord => "updateRecord",
            Action::ReopenRecord => "reopenRecord",
            Action::DeleteRecord => "deleteRecord",
            Action::RestoreRecord => "restoreRecord",
            Action::HoldRecord => "holdRecord",
            Action::WriteFile => "writeFile",
            Action::ReadFile => "readFile",
            Action::ReadUsers => "readUsers",
            Action::ManageUsers => "manageUsers",
            Action::ManageGroups => "manageGroups",
            Action::ExportUser => "exportUser",
            Action::ReadPrivacyLog => "readPrivacyLog",
            Action::ManageTenant => "manageTenant",
            Action::ManagePolicies => "managePolicies",
            Action::ManageRetention => "manageRetention",
            Action::RequestSupport => "requestSupport",
        }
    }
}

/// The caller as the policies see them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Actor {
    pub tenant: TenantId,
    /// The person, or for an integration client the client's id.
    pub user: UserId,
    pub roles: Roles,
    pub memberships: Vec<(GroupId, MembershipRole)>,
    pub policy_version: u64,
    /// Set for an integration client: the policies see a `Client` with these scopes.
    pub client: Option<ClientCaller>,
    /// Set for vendor support under a grant: the policies see a `Support` carrying it.
    pub support: Option<SupportCaller>,
}

impl Actor {
    /// What the privacy log records as the way the actor acted: for a client
    /// `client:<client id>`, for a person the role the permitting policy acts in.
    pub fn via(&self, role: &str) -> String {
        match (&self.client, &self.support) {
            (Some(c), _) => format!(
                "client:{}",
                strongroom_crypto::client_identifier(self.tenant.as_bytes(), c.id.as_bytes())
            ),
            (None, Some(s)) => support_via(s.request_id),
            (None, None) => role.to_owned(),
        }
    }
}

/// What level 3 knows about a record (no personal data).
#[derive(Clone, Debug)]
pub struct RecordFacts {
    /// The tenant the record is stored under (the base layer compares it with the caller's).
    pub tenant: TenantId,
    pub id: RecordId,
    pub collection: String,
    pub owner: UserId,
    pub author: UserId,
    pub group: Option<GroupId>,
    pub visibility: strongroom_domain::Visibility,
    pub hidden: bool,
    pub is_reply: bool,
}

/// A decision, and the role the permitting policy acts in (for the privacy log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow { role: String },
    Deny,
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        matches!(self, Verdict::Allow { .. })
    }
}

/// A tenant's policies as stored or as the template, for the policy API.
#[derive(Clone, Debug)]
pub struct TenantPolicies {
    pub template: String,
    pub policies: String,
    pub version: u64,
}

/// A validated policy set split by the resource type its policies can apply to.
///
/// Cedar evaluates every policy of a set for every request (its scope too); a policy whose
/// scope says `resource is Tenant` (or `== Tenant::"…"`) can never apply to a record, so each
/// level evaluates only the policies that can apply to its resource type. Exact: a policy
/// with an open scope (`resource`, `resource in …`) is in every part.
struct ByResource {
    tenant: PolicySet,
    record: PolicySet,
    file: PolicySet,
}

#[derive(Clone, Copy)]
enum Kind {
    Tenant,
    Record,
    File,
}

impl ByResource {
    fn split(set: &PolicySet) -> Result<Self, CoreError> {
        let mut parts = Self {
            tenant: PolicySet::new(),
            record: PolicySet::new(),
            file: PolicySet::new(),
        };
        for p in set.policies() {
            let only = match p.resource_constraint() {
                ResourceConstraint::Is(t) | ResourceConstraint::IsIn(t, _) => Some(t),
                ResourceConstraint::Eq(uid) => Some(uid.type_name().clone()),
                ResourceConstraint::Any | ResourceConstraint::In(_) => None,
            };
            for (kind, part) in [
                ("Tenant", &mut parts.tenant),
                ("Record", &mut parts.record),
                ("File", &mut parts.file),
            ] {
                if only.as_ref().is_none_or(|t| t.to_string() == kind) {
                    part.add(p.clone()).map_err(|_| broken("policy split"))?;
                }
            }
        }
        Ok(parts)
    }

    fn for_kind(&self, kind: Kind) -> &PolicySet {
        match kind {
            Kind::Tenant => &self.tenant,
            Kind::Record => &self.record,
            Kind::File => &self.file,
        }
    }
}

pub struct Access {
    schema: Schema,
    validator: Validator,
    authorizer: Authorizer,
    base: PolicySet,
    templates: HashMap<&'static str, Arc<ByResource>>,
    sets: RwLock<HashMap<TenantId, (u64, Arc<ByResource>)>>,
    level2: Mutex<HashMap<(Actor, Action), Verdict>>,
}

/// A Cedar error with the line of the policy text it points at (`line 3: …`), so an editor
/// can show it there.
fn located(text: &str, e: &(impl miette::Diagnostic + std::fmt::Display)) -> String {
    let line = e.labels().and_then(|mut l| l.next()).map(|l| {
        text.get(..l.offset())
            .map_or(0, |before| before.matches('\n').count())
            + 1
    });
    match line {
        Some(n) => format!("line {n}: {e}"),
        None => e.to_string(),
    }
}

fn broken(what: &'static str) -> CoreError {
    CoreError::internal(what, "access policy machinery failed")
}

/// Entity type names, parsed once: Cedar parses a type name with its full grammar, which took
/// a visible share of every request in the load profile when done per entity.
static TYPES: LazyLock<HashMap<&'static str, EntityTypeName>> = LazyLock::new(|| {
    [
        "User", "Client", "Support", "Group", "Record", "File", "Tenant", "Action",
    ]
    .into_iter()
    .filter_map(|k| EntityTypeName::from_str(k).ok().map(|t| (k, t)))
    .collect()
});

fn uid(kind: &str, id: &str) -> Result<EntityUid, CoreError> {
    let t = TYPES
        .get(kind)
        .cloned()
        .ok_or_else(|| broken("entity type"))?;
    Ok(EntityUid::from_type_name_and_id(t, EntityId::new(id)))
}

fn user_uid(u: UserId) -> Result<EntityUid, CoreError> {
    uid("User", &u.0.to_string())
}

/// How the privacy log names access under a support grant: `support:<request id>` (the
/// request and its grant share the id).
pub fn support_via(id: strongroom_domain::SupportRequestId) -> String {
    format!("support:{}", id.0)
}

/// The caller's entity: a `User`, or a `Client` for an integration client.
fn principal_uid(actor: &Actor) -> Result<EntityUid, CoreError> {
    match (&actor.client, &actor.support) {
        (Some(c), _) => uid("Client", &c.id.0.to_string()),
        (None, Some(s)) if s.kind == SupportKind::Read => {
            uid("Support", &s.request_id.0.to_string())
        }
        // No support, or support acting as this user.
        (None, _) => user_uid(actor.user),
    }
}

fn group_uid(g: GroupId) -> Result<EntityUid, CoreError> {
    uid("Group", &g.0.to_string())
}

fn record_uid(r: RecordId) -> Result<EntityUid, CoreError> {
    uid("Record", &r.0.to_string())
}

fn action_uid(a: Action) -> Result<EntityUid, CoreError> {
    uid("Action", a.as_str())
}

fn tenant_uid(t: TenantId) -> Result<EntityUid, CoreError> {
    uid("Tenant", &t.0.to_string())
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

impl Access {
    /// Loads the schema and validates every template against it.
    pub fn new() -> Result<Self, CoreError> {
        let (schema, _warnings) =
            Schema::from_cedarschema_str(SCHEMA).map_err(|_| broken("schema does not parse"))?;
        let validator = Validator::new(schema.clone());
        let mut access = Self {
            schema,
            validator,
            base: PolicySet::new(),
            authorizer: Authorizer::new(),
            templates: HashMap::new(),
            sets: RwLock::new(HashMap::new()),
            level2: Mutex::new(HashMap::new()),
        };
        access.base = access
            .parse_any(BASE, true)
            .map_err(|e| CoreError::internal("the base layer does not validate", e))?;
        for (name, text) in TEMPLATES {
            let set = access.parse(text).map_err(|e| {
                CoreError::internal(
                    "a shipped template does not validate",
                    format!("{name}: {e}"),
                )
            })?;
            access
                .templates
                .insert(name, Arc::new(access.layered(&set)?));
        }
        Ok(access)
    }

    /// Parses a tenant's policy text, gives each policy its `@id`, and validates the set
    /// (strict mode). The error lists every problem, with policy ids.
    pub fn parse(&self, text: &str) -> Result<PolicySet, CoreError> {
        self.parse_any(text, false)
    }

    /// A tenant's set with the base layer added, split by resource type.
    fn layered(&self, set: &PolicySet) -> Result<ByResource, CoreError> {
        let mut all = self.base.clone();
        for p in set.policies() {
            all.add(p.clone())
                .map_err(|_| broken("layering policies"))?;
        }
        ByResource::split(&all)
    }

    fn parse_any(&self, text: &str, base: bool) -> Result<PolicySet, CoreError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(CoreError::Invalid(format!(
                "policies: at most {MAX_POLICY_BYTES} bytes"
            )));
        }
        let parsed = PolicySet::from_str(text).map_err(|e| {
            CoreError::Invalid(format!("policies do not parse: {}", located(text, &e)))
        })?;
        let mut set = PolicySet::new();
        let mut seen = HashSet::new();
        for p in parsed.policies() {
            let id = p
                .annotation("id")
                .map_or_else(|| p.id().to_string(), std::borrow::ToOwned::to_owned);
            if !base && id.starts_with(BASE_ID_PREFIX) {
                return Err(CoreError::Invalid(format!(
                    "policies: the id \"{id}\" is reserved (ids starting with \"{BASE_ID_PREFIX}\" \
                     belong to the base layer)"
                )));
            }
            if !seen.insert(id.clone()) {
                return Err(CoreError::Invalid(format!(
                    "policies: two policies have the id \"{id}\""
                )));
            }
            let renamed: Policy = p.new_id(PolicyId::new(&id));
            set.add(renamed)
                .map_err(|e| CoreError::Invalid(format!("policies: {e}")))?;
        }
        if parsed.templates().next().is_some() {
            return Err(CoreError::Invalid(
                "policies: Cedar templates (?principal, ?resource) are not supported".into(),
            ));
        }
        let result = self.validator.validate(&set, ValidationMode::Strict);
        if !result.validation_passed() {
            let problems: Vec<String> = result
                .validation_errors()
                .map(|e| format!("{}: {}", e.policy_id(), located(text, e)))
                .collect();
            return Err(CoreError::Invalid(format!(
                "policies do not validate against the schema: {}",
                problems.join("; ")
            )));
        }
        Ok(set)
    }

    /// A template's text, by name.
    pub fn template(name: &str) -> Option<&'static str> {
        TEMPLATES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| *text)
    }

    /// The tenant's policies as they are in force.
    pub async fn policies_of(
        &self,
        store: &dyn Store,
        tenant: TenantId,
    ) -> Result<TenantPolicies, CoreError> {
        Ok(match store.policies(tenant).await? {
            Some(PolicyRow {
                template,
                policies,
                version,
                ..
            }) => TenantPolicies {
                template,
                policies,
                version,
            },
            None => TenantPolicies {
                template: DEFAULT_TEMPLATE.to_owned(),
                policies: Self::template(DEFAULT_TEMPLATE)
                    .unwrap_or_default()
                    .to_owned(),
                version: 0,
            },
        })
    }

    async fn policy_set(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        version: u64,
    ) -> Result<Arc<ByResource>, CoreError> {
        if version == 0 {
            return self
                .templates
                .get(DEFAULT_TEMPLATE)
                .cloned()
                .ok_or_else(|| broken("default template"));
        }
        if let Some((v, set)) = self
            .sets
            .read()
            .map_err(|_| broken("policy cache"))?
            .get(&tenant)
            && *v == version
        {
            return Ok(set.clone());
        }
        let row = store
            .policies(tenant)
            .await?
            .ok_or_else(|| broken("stored policies vanished"))?;
        let set = Arc::new(
            self.layered(
                &self
                    .parse(&row.policies)
                    .map_err(|e| CoreError::internal("stored policies no longer validate", e))?,
            )?,
        );
        self.sets
            .write()
            .map_err(|_| broken("policy cache"))?
            .insert(tenant, (row.version, set.clone()));
        Ok(set)
    }

    /// A client as the policies see it: no roles, no groups, its scopes by kind.
    fn client_entity(actor: &Actor, c: &ClientCaller) -> Result<Entity, CoreError> {
        let set = |kind: fn(&Scope) -> bool| {
            RestrictedExpression::new_set(c.scopes.collections(kind).map(string))
        };
        let others = c
            .scopes
            .0
            .iter()
            .filter(|s| s.collection().is_none())
            .map(|s| string(&s.to_string()))
            .collect::<Vec<_>>();
        let attrs = HashMap::from([
            (
                "tenant".to_owned(),
                RestrictedExpression::new_entity_uid(tenant_uid(actor.tenant)?),
            ),
            ("roles".to_owned(), RestrictedExpression::new_set([])),
            ("coach_of".to_owned(), RestrictedExpression::new_set([])),
            (
                "records_read".to_owned(),
                set(|s| matches!(s, Scope::RecordsRead(_))),
            ),
            (
                "records_write".to_owned(),
                set(|s| matches!(s, Scope::RecordsWrite(_))),
            ),
            (
                "files_read".to_owned(),
                set(|s| matches!(s, Scope::FilesRead(_))),
            ),
            (
                "files_write".to_owned(),
                set(|s| matches!(s, Scope::FilesWrite(_))),
            ),
            ("scopes".to_owned(), RestrictedExpression::new_set(others)),
        ]);
        Entity::new(principal_uid(actor)?, attrs, HashSet::new())
            .map_err(|_| broken("client entity"))
    }

    /// Vendor support under a grant: the grant's kind and the roles it acts with.
    fn support_entity(actor: &Actor, s: &SupportCaller) -> Result<Entity, CoreError> {
        let attrs = HashMap::from([
            (
                "tenant".to_owned(),
                RestrictedExpression::new_entity_uid(tenant_uid(actor.tenant)?),
            ),
            (
                "roles".to_owned(),
                RestrictedExpression::new_set(actor.roles.0.iter().map(|r| string(r.as_str()))),
            ),
            ("coach_of".to_owned(), RestrictedExpression::new_set([])),
            ("kind".to_owned(), string(s.kind.as_str())),
            ("grant".to_owned(), string(&s.request_id.0.to_string())),
            (
                "break_glass".to_owned(),
                RestrictedExpression::new_bool(s.break_glass),
            ),
            (
                "ends_at".to_owned(),
                RestrictedExpression::new_long(s.ends_at.unix_timestamp()),
            ),
        ]);
        Entity::new(principal_uid(actor)?, attrs, HashSet::new())
            .map_err(|_| broken("support entity"))
    }

    /// The principal entity and its groups.
    fn actor_entities(actor: &Actor) -> Result<Vec<Entity>, CoreError> {
        if let Some(c) = &actor.client {
            return Ok(vec![Self::client_entity(actor, c)?]);
        }
        if let Some(s) = actor
            .support
            .as_ref()
            .filter(|s| s.kind == SupportKind::Read)
        {
            return Ok(vec![Self::support_entity(actor, s)?]);
        }
        let mut groups = HashSet::new();
        let mut coach_of = Vec::new();
        let mut out = Vec::new();
        for (g, role) in &actor.memberships {
            let g_uid = group_uid(*g)?;
            if *role == MembershipRole::Coach {
                coach_of.push(RestrictedExpression::new_entity_uid(g_uid.clone()));
            }
            if groups.insert(g_uid.clone()) {
                out.push(Entity::new_no_attrs(g_uid, HashSet::new()));
            }
        }
        let mut attrs = HashMap::from([
            (
                "tenant".to_owned(),
                RestrictedExpression::new_entity_uid(tenant_uid(actor.tenant)?),
            ),
            (
                "roles".to_owned(),
                RestrictedExpression::new_set(actor.roles.0.iter().map(|r| string(r.as_str()))),
            ),
            (
                "coach_of".to_owned(),
                RestrictedExpression::new_set(coach_of),
            ),
        ]);
        if let Some(s) = &actor.support {
            // Support acting as this user (an act_as grant).
            attrs.insert(
                "support".to_owned(),
                RestrictedExpression::new_record([
                    ("kind".to_owned(), string(s.kind.as_str())),
                    ("grant".to_owned(), string(&s.request_id.0.to_string())),
                    (
                        "break_glass".to_owned(),
                        RestrictedExpression::new_bool(s.break_glass),
                    ),
                    (
                        "ends_at".to_owned(),
                        RestrictedExpression::new_long(s.ends_at.unix_timestamp()),
                    ),
                ])
                .map_err(|_| broken("support mark"))?,
            );
        }
        out.push(
            Entity::new(user_uid(actor.user)?, attrs, groups).map_err(|_| broken("user entity"))?,
        );
        Ok(out)
    }

    fn record_entity(r: &RecordFacts) -> Result<Entity, CoreError> {
        let mut attrs = HashMap::from([
            (
                "tenant".to_owned(),
                RestrictedExpression::new_entity_uid(tenant_uid(r.tenant)?),
            ),
            ("collection".to_owned(), string(&r.collection)),
            (
                "owner".to_owned(),
                RestrictedExpression::new_entity_uid(user_uid(r.owner)?),
            ),
            (
                "author".to_owned(),
                RestrictedExpression::new_entity_uid(user_uid(r.author)?),
            ),
            ("visibility".to_owned(), string(r.visibility.as_str())),
            (
                "hidden".to_owned(),
                RestrictedExpression::new_bool(r.hidden),
            ),
            (
                "is_reply".to_owned(),
                RestrictedExpression::new_bool(r.is_reply),
            ),
        ]);
        if let Some(g) = r.group {
            attrs.insert(
                "group".to_owned(),
                RestrictedExpression::new_entity_uid(group_uid(g)?),
            );
        }
        Entity::new(record_uid(r.id)?, attrs, HashSet::new()).map_err(|_| broken("record entity"))
    }

    fn decide(
        &self,
        set: &PolicySet,
        principal: EntityUid,
        action: Action,
        resource: EntityUid,
        entities: Vec<Entity>,
    ) -> Result<Verdict, CoreError> {
        // Entities come from our own code, typed by construction; skipping the schema check
        // here saves most of the per-request cost. Policies were validated against the schema.
        let entities = Entities::from_entities(entities, None)
            .map_err(|e| CoreError::internal("entities", e))?;
        let request = Request::new(
            principal,
            action_uid(action)?,
            resource,
            Context::empty(),
            None,
        )
        .map_err(|_| broken("request"))?;
        let response = self.authorizer.is_authorized(&request, set, &entities);
        for e in response.diagnostics().errors() {
            // An evaluation error makes its policy not apply (deny by default); say so.
            tracing::warn!(error = %e, "policy evaluation error");
        }
        Ok(match response.decision() {
            Decision::Allow => {
                let role = response
                    .diagnostics()
                    .reason()
                    .filter_map(|id| set.policy(id))
                    // `annotations()` rather than `annotation("role")`: the latter parses its
                    // key with Cedar's parser on every call (≈ 4 % of a protected read's
                    // profile: BENCHMARKS.md, issue 16).
                    .find_map(|p| {
                        p.annotations()
                            .find(|(k, _)| *k == "role")
                            .map(|(_, v)| v.to_owned())
                    })
                    .unwrap_or_else(|| "policy".to_owned());
                Verdict::Allow { role }
            }
            Decision::Deny => Verdict::Deny,
        })
    }

    /// Level 2: may the caller call this operation at all?
    pub async fn level2(
        &self,
        store: &dyn Store,
        actor: &Actor,
        action: Action,
    ) -> Result<Verdict, CoreError> {
        let key = (actor.clone(), action);
        if let Some(v) = self
            .level2
            .lock()
            .map_err(|_| broken("decision cache"))?
            .get(&key)
        {
            return Ok(v.clone());
        }
        let set = self
            .policy_set(store, actor.tenant, actor.policy_version)
            .await?;
        let tenant = tenant_uid(actor.tenant)?;
        let mut entities = Self::actor_entities(actor)?;
        entities.push(Entity::new_no_attrs(tenant.clone(), HashSet::new()));
        let verdict = self.decide(
            set.for_kind(Kind::Tenant),
            principal_uid(actor)?,
            action,
            tenant,
            entities,
        )?;
        let mut cache = self.level2.lock().map_err(|_| broken("decision cache"))?;
        if cache.len() >= L2_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, verdict.clone());
        Ok(verdict)
    }

    /// Level 3: may the caller do `action` on this record?
    pub async fn on_record(
        &self,
        store: &dyn Store,
        actor: &Actor,
        action: Action,
        record: &RecordFacts,
    ) -> Result<Verdict, CoreError> {
        let set = self
            .policy_set(store, actor.tenant, actor.policy_version)
            .await?;
        let mut entities = Self::actor_entities(actor)?;
        entities.push(Self::record_entity(record)?);
        self.decide(
            set.for_kind(Kind::Record),
            principal_uid(actor)?,
            action,
            record_uid(record.id)?,
            entities,
        )
    }

    /// Level 4: may the caller open this very file of this record?
    pub async fn on_file(
        &self,
        store: &dyn Store,
        actor: &Actor,
        record: &RecordFacts,
        name: &str,
        content_type: &str,
    ) -> Result<Verdict, CoreError> {
        let set = self
            .policy_set(store, actor.tenant, actor.policy_version)
            .await?;
        let r_uid = record_uid(record.id)?;
        let f_uid = uid("File", &format!("{}/{name}", record.id.0))?;
        let file = Entity::new(
            f_uid.clone(),
            HashMap::from([
                (
                    "record".to_owned(),
                    RestrictedExpression::new_entity_uid(r_uid.clone()),
                ),
                ("name".to_owned(), string(name)),
                ("content_type".to_owned(), string(content_type)),
            ]),
            HashSet::from([r_uid]),
        )
        .map_err(|_| broken("file entity"))?;
        let mut entities = Self::actor_entities(actor)?;
        entities.push(Self::record_entity(record)?);
        entities.push(file);
        self.decide(
            set.for_kind(Kind::File),
            principal_uid(actor)?,
            Action::ReadFile,
            f_uid,
            entities,
        )
    }

    /// Whether someone could still administer the tenant under `set` (a tenant's own
    /// policies, not yet layered): some distinct set of roles among the tenant's active users
    /// is allowed every action of [`ADMINISTRATION`]. Memberships are left out, so a right
    /// that only a group would give does not count: the check errs towards refusing.
    pub fn administrable(
        &self,
        tenant: TenantId,
        set: &PolicySet,
        role_sets: &HashSet<Roles>,
    ) -> Result<bool, CoreError> {
        let layered = self.layered(set)?;
        for roles in role_sets {
            let actor = Actor {
                tenant,
                user: UserId::new(),
                roles: roles.clone(),
                memberships: Vec::new(),
                policy_version: 0,
                client: None,
                support: None,
            };
            let mut all = true;
            for action in ADMINISTRATION {
                let t = tenant_uid(tenant)?;
                let mut entities = Self::actor_entities(&actor)?;
                entities.push(Entity::new_no_attrs(t.clone(), HashSet::new()));
                let verdict = self.decide(
                    layered.for_kind(Kind::Tenant),
                    principal_uid(&actor)?,
                    action,
                    t,
                    entities,
                )?;
                all &= verdict.allowed();
            }
            if all {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The schema, for the policy API.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}
