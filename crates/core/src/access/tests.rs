//! Tests of the Cedar engine: the base layer, and the upgrade of stored policies.

use super::*;
use strongroom_domain::Role;

fn actor(tenant: TenantId) -> Actor {
    Actor {
        tenant,
        user: UserId::new(),
        roles: Roles([Role::Administrator].into_iter().collect()),
        memberships: Vec::new(),
        policy_version: 0,
        client: None,
        support: None,
    }
}

fn record(tenant: TenantId, owner: UserId) -> RecordFacts {
    RecordFacts {
        tenant,
        id: RecordId::new(),
        collection: "notes".into(),
        owner,
        author: owner,
        group: None,
        visibility: crate::records::Visibility::Private,
        hidden: false,
        is_reply: false,
    }
}

/// A tenant policy that permits everything still cannot reach a record of another tenant:
/// the base layer's forbid wins over every permit.
#[test]
fn the_base_layer_keeps_every_decision_inside_the_callers_tenant() {
    let access = Access::new().unwrap();
    let set = access
        .layered(
            &access
                .parse("@id(\"everything\")\npermit(principal, action, resource);")
                .unwrap(),
        )
        .unwrap();
    let (ours, theirs) = (TenantId::new(), TenantId::new());
    let a = actor(ours);
    let decide = |r: &RecordFacts| {
        let mut entities = Access::actor_entities(&a).unwrap();
        entities.push(Access::record_entity(r).unwrap());
        access
            .decide(
                set.for_kind(Kind::Record),
                user_uid(a.user).unwrap(),
                Action::ReadRecord,
                record_uid(r.id).unwrap(),
                entities,
            )
            .unwrap()
    };
    assert!(decide(&record(ours, a.user)).allowed());
    assert_eq!(decide(&record(theirs, a.user)), Verdict::Deny);
    let tenant = |t: TenantId| {
        let mut entities = Access::actor_entities(&a).unwrap();
        entities.push(Entity::new_no_attrs(tenant_uid(t).unwrap(), HashSet::new()));
        access
            .decide(
                set.for_kind(Kind::Tenant),
                user_uid(a.user).unwrap(),
                Action::ManageUsers,
                tenant_uid(t).unwrap(),
                entities,
            )
            .unwrap()
    };
    assert!(tenant(ours).allowed());
    assert_eq!(tenant(theirs), Verdict::Deny);
}

/// What migration 0011 appends to a tenant's stored policies validates, and gives back
/// administration to a set that lacked it.
#[test]
fn the_upgrade_permit_validates_and_restores_administration() {
    let sql = include_str!("../../../store/migrations/sqlite/0011_administration_in_policies.sql");
    let appended = sql.split('\'').nth(1).unwrap();
    assert_eq!(
        sql,
        include_str!("../../../store/migrations/postgres/0011_administration_in_policies.sql")
    );
    let access = Access::new().unwrap();
    let text = Access::template("training").unwrap();
    let start = text.find("@id(\"administration\")").unwrap();
    let end = start + text[start..].find("};").unwrap() + 2;
    let old = format!("{}{}", &text[..start], &text[end..]);
    let admins = HashSet::from([Roles([Role::Administrator].into_iter().collect())]);
    let tenant = TenantId::new();
    assert!(
        !access
            .administrable(tenant, &access.parse(&old).unwrap(), &admins)
            .unwrap()
    );
    let migrated = access.parse(&format!("{old}{appended}")).unwrap();
    assert!(access.administrable(tenant, &migrated, &admins).unwrap());
}
