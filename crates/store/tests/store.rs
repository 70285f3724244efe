//! The storage test suite: every store trait, run against a SQLite file and a fresh
//! PostgreSQL database.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::many_single_char_names,
    clippy::too_many_lines,
    reason = "a test suite: a failed unwrap is a failed test, and scenarios read best with short names"
)]

#[macro_use]
#[path = "support/mod.rs"]
mod pg;

use pg::{Backend, PgDatabase};
use std::sync::Arc;
use strongroom_domain::*;
use strongroom_store::*;
use time::Duration;

struct Fixture {
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
    _db: Option<PgDatabase>,
}

async fn open(backend: Backend) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("s.db").display());
            Fixture {
                store: strongroom_store::open(&url).await.unwrap(),
                _dir: dir,
                _db: None,
            }
        }
        Backend::Postgres => {
            let db = PgDatabase::create().await;
            Fixture {
                store: strongroom_store::open(&db.url).await.unwrap(),
                _dir: dir,
                _db: Some(db),
            }
        }
    }
}

fn now() -> Timestamp {
    // Millisecond precision, as stored.
    from_millis(to_millis(Timestamp::now_utc()))
}

fn tenant(slug: &str) -> Tenant {
    Tenant {
        id: TenantId::new(),
        slug: Slug::parse(slug).unwrap(),
        name: TenantName::parse("T").unwrap(),
        region: Region::default(),
        status: TenantStatus::Active,
        lockout_threshold: 3,
        agreement_ends_at: None,
        created_at: now(),
        require_totp_roles: Roles::default(),
        break_glass: true,
    }
}

/// The store keeps sealed fields as opaque bytes; these stand in for ciphertexts.
fn user(t: &Tenant, email: &str) -> NewUser {
    NewUser {
        tenant_id: t.id,
        id: UserId::new(),
        email_sealed: format!("sealed:{email}").into_bytes(),
        email_index: idx(t, email),
        name_sealed: b"sealed:Ann".to_vec(),
        subject_key: WrappedSubjectKey {
            key_id: uuid::Uuid::new_v4(),
            kek_version: 1,
            wrapped: vec![7; 60],
        },
        roles: [Role::Participant].into_iter().collect(),
        password_hash: "$argon2id$hash".into(),
        must_change_password: true,
        license_expires_at: None,
        now: now(),
    }
}

fn idx(t: &Tenant, email: &str) -> [u8; 32] {
    strongroom_crypto::Key32::from_bytes(*t.id.0.as_bytes().repeat(2).first_chunk().unwrap())
        .blind_index("user-email", email)
}

fn key_rows(t: &Tenant) -> Vec<TenantKeyRow> {
    [KeyPurpose::Kek, KeyPurpose::BlindIndex]
        .into_iter()
        .map(|purpose| TenantKeyRow {
            tenant_id: t.id,
            purpose,
            version: 1,
            root_key_id: [1; 16],
            wrapped: vec![2; 60],
            created_at: now(),
        })
        .collect()
}

async fn with_tenant(f: &Fixture, slug: &str) -> (Tenant, NewUser) {
    let t = tenant(slug);
    let admin = user(&t, &format!("admin@{slug}.example"));
    f.store
        .create_tenant(&t, &key_rows(&t), &admin)
        .await
        .unwrap();
    (t, admin)
}

fn session(t: &Tenant, u: UserId, family: FamilyId, seed: u8) -> NewSession {
    NewSession {
        tenant_id: t.id,
        id: SessionId::new(),
        family_id: family,
        user_id: u,
        access_digest: [seed; 32],
        access_expires_at: now() + Duration::minutes(15),
        refresh_digest: [seed.wrapping_add(100); 32],
        refresh_expires_at: now() + Duration::days(14),
        now: now(),
        client_id: None,
    }
}

async fn tenants_round_trip_and_slugs_are_unique(b: Backend) {
    let f = open(b).await;
    let (t, admin) = with_tenant(&f, "acme").await;
    let got = f.store.tenant_by_slug(&t.slug).await.unwrap().unwrap();
    assert_eq!(
        (got.id, got.lockout_threshold, got.status),
        (t.id, 3, TenantStatus::Active)
    );
    assert_eq!(
        f.store.tenant_by_id(t.id).await.unwrap().unwrap().slug,
        t.slug
    );
    assert!(
        f.store
            .tenant_by_slug(&Slug::parse("nope").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let u = f.store.user_by_id(t.id, admin.id).await.unwrap().unwrap();
    assert_eq!(u.email_sealed.unwrap(), b"sealed:admin@acme.example");
    assert_eq!(u.subject_key.unwrap(), admin.subject_key);
    assert_eq!(f.store.tenant_keys(t.id).await.unwrap().len(), 2);

    // Same slug again: conflict, and nothing of the second attempt is left behind.
    let mut t2 = tenant("acme");
    t2.id = TenantId::new();
    let admin2 = user(&t2, "admin2@acme.example");
    assert!(matches!(
        f.store.create_tenant(&t2, &key_rows(&t2), &admin2).await,
        Err(StoreError::Conflict("tenant"))
    ));
    assert!(f.store.tenant_by_id(t2.id).await.unwrap().is_none());
    assert!(
        f.store
            .user_by_id(t2.id, admin2.id)
            .await
            .unwrap()
            .is_none()
    );
}

async fn users_are_scoped_to_their_tenant(b: Backend) {
    let f = open(b).await;
    let (a, _) = with_tenant(&f, "alpha").await;
    let (bt, _) = with_tenant(&f, "beta").await;
    let ann = user(&a, "ann@example.com");
    f.store
        .insert_user(&ann, &strongroom_store::ChangeLog::none())
        .await
        .unwrap();
    // The same address may exist in another tenant, not twice in one.
    f.store
        .insert_user(
            &user(&bt, "ann@example.com"),
            &strongroom_store::ChangeLog::none(),
        )
        .await
        .unwrap();
    assert!(matches!(
        f.store
            .insert_user(
                &user(&a, "ann@example.com"),
                &strongroom_store::ChangeLog::none()
            )
            .await,
        Err(StoreError::Conflict("user"))
    ));

    assert!(
        f.store.user_by_id(bt.id, ann.id).await.unwrap().is_none(),
        "other tenant's id must not resolve"
    );
    assert!(
        f.store
            .update_user(
                bt.id,
                ann.id,
                &UserPatch::default(),
                now(),
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !f.store
            .forget_user(bt.id, ann.id, now(), &strongroom_store::ChangeLog::none())
            .await
            .unwrap()
    );
    assert_eq!(f.store.list_users(a.id).await.unwrap().len(), 2);
    assert!(
        f.store
            .list_users(a.id)
            .await
            .unwrap()
            .iter()
            .all(|u| u.tenant_id == a.id)
    );
    let found = f
        .store
        .user_by_email_index(a.id, &idx(&a, "ann@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, ann.id);
}

async fn update_patches_only_given_fields(b: Backend) {
    let f = open(b).await;
    let (t, _) = with_tenant(&f, "acme").await;
    let mut u = user(&t, "ann@example.com");
    u.license_expires_at = Some(now());
    f.store
        .insert_user(&u, &strongroom_store::ChangeLog::none())
        .await
        .unwrap();
    let patch = UserPatch {
        name_sealed: Some(b"sealed:Anna".to_vec()),
        ..Default::default()
    };
    let got = f
        .store
        .update_user(
            t.id,
            u.id,
            &patch,
            now(),
            &strongroom_store::ChangeLog::none(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.name_sealed.unwrap(), b"sealed:Anna");
    assert_eq!(got.roles, u.roles);
    assert_eq!(got.license_expires_at, u.license_expires_at);
    let patch = UserPatch {
        roles: Some([Role::Coach].into_iter().collect()),
        license_expires_at: Some(None),
        ..Default::default()
    };
    let got = f
        .store
        .update_user(
            t.id,
            u.id,
            &patch,
            now(),
            &strongroom_store::ChangeLog::none(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(got.roles.contains(Role::Coach) && !got.roles.contains(Role::Participant));
    assert_eq!(got.license_expires_at, None);
}

async fn failures_block_at_the_threshold_and_password_reset_clears(b: Backend) {
    let f = open(b).await;
    let (t, _) = with_tenant(&f, "acme").await;
    let u = user(&t, "ann@example.com");
    f.store
        .insert_user(&u, &strongroom_store::ChangeLog::none())
        .await
        .unwrap();
    let c1 = f
        .store
        .record_login_failure(t.id, u.id, 3, now())
        .await
        .unwrap();
    assert_eq!(
        c1,
        FailureCount {
            failed: 1,
            blocked_now: false
        }
    );
    f.store.clear_login_failures(t.id, u.id).await.unwrap();
    for expected in 1..=3 {
        let c = f
            .store
            .record_login_failure(t.id, u.id, 3, now())
            .await
            .unwrap();
        assert_eq!(c.failed, expected);
        assert_eq!(c.blocked_now, expected == 3);
    }
    assert_eq!(
        f.store
            .user_by_id(t.id, u.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        UserStatus::Blocked
    );
    let c = f
        .store
        .record_login_failure(t.id, u.id, 3, now())
        .await
        .unwrap();
    assert!(!c.blocked_now, "only the failure that blocks reports it");

    assert!(
        f.store
            .set_password(t.id, u.id, "$new", false, now())
            .await
            .unwrap()
    );
    let got = f.store.user_by_id(t.id, u.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.status,
            got.failed_logins,
            got.password_hash.as_deref(),
            got.must_change_password
        ),
        (UserStatus::Active, 0, Some("$new"), false)
    );
}

async fn unknown_addresses_are_counted_too(b: Backend) {
    let f = open(b).await;
    let (t, _) = with_tenant(&f, "acme").await;
    let i = idx(&t, "ghost@example.com");
    assert_eq!(f.store.unknown_failures(t.id, &i).await.unwrap(), 0);
    for n in 1..=3 {
        assert_eq!(
            f.store
                .record_unknown_failure(t.id, &i, 3, now())
                .await
                .unwrap()
                .failed,
            n
        );
    }
    assert_eq!(f.store.unknown_failures(t.id, &i).await.unwrap(), 3);
    let (t2, _) = with_tenant(&f, "beta").await;
    assert_eq!(f.store.unknown_failures(t2.id, &i).await.unwrap(), 0);
}

async fn sessions_rotate_and_reuse_revokes_the_family(b: Backend) {
    let f = open(b).await;
    let (t, admin) = with_tenant(&f, "acme").await;
    let (other, _) = with_tenant(&f, "beta").await;
    let family = FamilyId::new();
    let s1 = session(&t, admin.id, family, 1);
    f.store.insert_session(&s1).await.unwrap();
    let p = f
        .store
        .principal_by_access(t.id, &s1.access_digest, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.user_id, p.family_id, p.must_change_password),
        (admin.id, family, true)
    );
    assert!(
        f.store
            .principal_by_access(other.id, &s1.access_digest, now())
            .await
            .unwrap()
            .is_none(),
        "token of another tenant"
    );
    assert!(
        f.store
            .principal_by_access(t.id, &s1.access_digest, now() + Duration::minutes(16))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );

    // Rotation: the successor inherits family and user; the old pair stops working.
    let s2 = session(&t, UserId::from(uuid::Uuid::nil()), FamilyId::new(), 2);
    assert_eq!(
        f.store
            .rotate_refresh(t.id, &s1.refresh_digest, &s2, now())
            .await
            .unwrap(),
        RefreshOutcome::Rotated(admin.id)
    );
    assert!(
        f.store
            .principal_by_access(t.id, &s1.access_digest, now())
            .await
            .unwrap()
            .is_none()
    );
    let p2 = f
        .store
        .principal_by_access(t.id, &s2.access_digest, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((p2.user_id, p2.family_id), (admin.id, family));

    // Reuse of the spent token: the whole family dies.
    let s3 = session(&t, admin.id, FamilyId::new(), 3);
    assert_eq!(
        f.store
            .rotate_refresh(t.id, &s1.refresh_digest, &s3, now())
            .await
            .unwrap(),
        RefreshOutcome::Reused
    );
    assert!(
        f.store
            .principal_by_access(t.id, &s2.access_digest, now())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        f.store
            .rotate_refresh(t.id, &s2.refresh_digest, &s3, now())
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    assert_eq!(
        f.store
            .rotate_refresh(t.id, &[9; 32], &s3, now())
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
}

async fn logout_and_password_change_end_sessions(b: Backend) {
    let f = open(b).await;
    let (t, admin) = with_tenant(&f, "acme").await;
    let a = session(&t, admin.id, FamilyId::new(), 1);
    let c = session(&t, admin.id, FamilyId::new(), 2);
    f.store.insert_session(&a).await.unwrap();
    f.store.insert_session(&c).await.unwrap();
    f.store
        .revoke_family(t.id, a.family_id, now())
        .await
        .unwrap();
    assert!(
        f.store
            .principal_by_access(t.id, &a.access_digest, now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.store
            .principal_by_access(t.id, &c.access_digest, now())
            .await
            .unwrap()
            .is_some(),
        "other sessions live on"
    );
    f.store
        .set_password(t.id, admin.id, "$x", false, now())
        .await
        .unwrap();
    assert!(
        f.store
            .principal_by_access(t.id, &c.access_digest, now())
            .await
            .unwrap()
            .is_none()
    );
}

async fn reset_tokens_work_once_and_expire(b: Backend) {
    let f = open(b).await;
    let (t, admin) = with_tenant(&f, "acme").await;
    f.store
        .record_login_failure(t.id, admin.id, 1, now())
        .await
        .unwrap();
    let s = session(&t, admin.id, FamilyId::new(), 1);
    f.store.insert_session(&s).await.unwrap();
    f.store
        .insert_reset(
            t.id,
            &[1; 32],
            admin.id,
            now() + Duration::minutes(30),
            now(),
        )
        .await
        .unwrap();
    // A newer token replaces the older one.
    f.store
        .insert_reset(
            t.id,
            &[2; 32],
            admin.id,
            now() + Duration::minutes(30),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        f.store
            .reset_password(t.id, &[1; 32], "$a", now())
            .await
            .unwrap(),
        None
    );
    let (other, _) = with_tenant(&f, "beta").await;
    assert_eq!(
        f.store
            .reset_password(other.id, &[2; 32], "$a", now())
            .await
            .unwrap(),
        None,
        "another tenant's token"
    );
    assert_eq!(
        f.store
            .reset_password(t.id, &[2; 32], "$a", now())
            .await
            .unwrap(),
        Some(admin.id)
    );
    let u = f.store.user_by_id(t.id, admin.id).await.unwrap().unwrap();
    assert_eq!(
        (u.status, u.password_hash.as_deref()),
        (UserStatus::Active, Some("$a"))
    );
    assert!(
        f.store
            .principal_by_access(t.id, &s.access_digest, now())
            .await
            .unwrap()
            .is_none(),
        "sessions ended"
    );
    assert_eq!(
        f.store
            .reset_password(t.id, &[2; 32], "$b", now())
            .await
            .unwrap(),
        None,
        "single use"
    );

    f.store
        .insert_reset(
            t.id,
            &[3; 32],
            admin.id,
            now() + Duration::minutes(30),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        f.store
            .reset_password(t.id, &[3; 32], "$c", now() + Duration::minutes(31))
            .await
            .unwrap(),
        None,
        "expired"
    );
}

async fn forgetting_removes_personal_fields_and_access(b: Backend) {
    let f = open(b).await;
    let (t, _) = with_tenant(&f, "acme").await;
    let u = user(&t, "ann@example.com");
    f.store
        .insert_user(&u, &strongroom_store::ChangeLog::none())
        .await
        .unwrap();
    let g = Group {
        tenant_id: t.id,
        id: GroupId::new(),
        name: TenantName::parse("G").unwrap(),
        created_at: now(),
    };
    f.store.insert_group(&g).await.unwrap();
    f.store
        .put_member(t.id, g.id, u.id, MembershipRole::Participant)
        .await
        .unwrap();
    let s = session(&t, u.id, FamilyId::new(), 1);
    f.store.insert_session(&s).await.unwrap();
    assert!(
        f.store
            .forget_user(t.id, u.id, now(), &strongroom_store::ChangeLog::none())
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .forget_user(t.id, u.id, now(), &strongroom_store::ChangeLog::none())
            .await
            .unwrap(),
        "idempotent: second time finds nothing"
    );
    let got = f.store.user_by_id(t.id, u.id).await.unwrap().unwrap();
    assert!(got.email_sealed.is_none() && got.name_sealed.is_none() && got.password_hash.is_none());
    assert!(
        got.subject_key.is_none(),
        "the subject key is destroyed (crypto-shredding)"
    );
    assert_eq!(got.status, UserStatus::Deleted);
    assert!(
        f.store
            .user_by_email_index(t.id, &u.email_index)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.store
            .principal_by_access(t.id, &s.access_digest, now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(f.store.members(t.id, g.id).await.unwrap().is_empty());
    assert_eq!(
        f.store.list_users(t.id).await.unwrap().len(),
        1,
        "only the admin is listed"
    );
    // The address is free again.
    f.store
        .insert_user(
            &user(&t, "ann@example.com"),
            &strongroom_store::ChangeLog::none(),
        )
        .await
        .unwrap();
}

async fn groups_and_members(b: Backend) {
    let f = open(b).await;
    let (t, admin) = with_tenant(&f, "acme").await;
    let (other, other_admin) = with_tenant(&f, "beta").await;
    let g = Group {
        tenant_id: t.id,
        id: GroupId::new(),
        name: TenantName::parse("G").unwrap(),
        created_at: now(),
    };
    f.store.insert_group(&g).await.unwrap();
    let dup = Group {
        id: GroupId::new(),
        ..g.clone()
    };
    assert!(matches!(
        f.store.insert_group(&dup).await,
        Err(StoreError::Conflict("group"))
    ));
    assert_eq!(
        f.store
            .group_by_id(t.id, g.id)
            .await
            .unwrap()
            .unwrap()
            .name
            .as_str(),
        "G"
    );
    assert!(f.store.group_by_id(other.id, g.id).await.unwrap().is_none());

    f.store
        .put_member(t.id, g.id, admin.id, MembershipRole::Participant)
        .await
        .unwrap();
    f.store
        .put_member(t.id, g.id, admin.id, MembershipRole::Coach)
        .await
        .unwrap();
    assert_eq!(
        f.store.members(t.id, g.id).await.unwrap(),
        vec![Member {
            user_id: admin.id,
            role: MembershipRole::Coach
        }]
    );
    assert!(matches!(
        f.store
            .put_member(t.id, g.id, other_admin.id, MembershipRole::Coach)
            .await,
        Err(StoreError::NotFound("user"))
    ));
    assert!(matches!(
        f.store
            .put_member(other.id, g.id, other_admin.id, MembershipRole::Coach)
            .await,
        Err(StoreError::NotFound("group"))
    ));
}

async fn login_history_newest_first(b: Backend) {
    let f = open(b).await;
    let (t, admin) = with_tenant(&f, "acme").await;
    let base = now();
    for (i, outcome) in [
        LoginOutcome::WrongPassword,
        LoginOutcome::Success,
        LoginOutcome::Blocked,
    ]
    .into_iter()
    .enumerate()
    {
        let e = LoginEvent {
            tenant_id: t.id,
            id: LoginEventId::new(),
            user_id: Some(admin.id),
            at: base + Duration::seconds(i64::try_from(i).unwrap()),
            ip_sealed: Some(b"sealed:192.0.2.7".to_vec()),
            outcome,
        };
        f.store.append_login(&e).await.unwrap();
    }
    f.store
        .append_login(&LoginEvent {
            tenant_id: t.id,
            id: LoginEventId::new(),
            user_id: None,
            at: base,
            ip_sealed: None,
            outcome: LoginOutcome::UnknownAccount,
        })
        .await
        .unwrap();
    let h = f
        .store
        .login_history(t.id, admin.id, None, 2)
        .await
        .unwrap();
    assert_eq!(
        h.iter().map(|e| e.outcome).collect::<Vec<_>>(),
        vec![LoginOutcome::Blocked, LoginOutcome::Success]
    );
    assert_eq!(h[0].ip_sealed.as_deref(), Some(&b"sealed:192.0.2.7"[..]));
}

async fn tenant_keys_accumulate_wrappings_and_never_overwrite(b: Backend) {
    let f = open(b).await;
    let (t, _) = with_tenant(&f, "acme").await;
    let (other, _) = with_tenant(&f, "beta").await;
    let rows = f.store.tenant_keys(t.id).await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.purpose, r.version))
            .collect::<Vec<_>>(),
        [(KeyPurpose::BlindIndex, 1), (KeyPurpose::Kek, 1)]
    );
    // Inserting an existing wrapping again changes nothing; a wrapping under another root adds one.
    let mut again = key_rows(&t);
    again[0].wrapped = vec![9; 60];
    f.store.insert_tenant_keys(&again).await.unwrap();
    let after = f.store.tenant_keys(t.id).await.unwrap();
    assert!(
        after.iter().all(|r| r.wrapped == vec![2; 60]),
        "existing wrappings are never overwritten"
    );
    let mut rewrapped = key_rows(&t);
    for r in &mut rewrapped {
        r.root_key_id = [3; 16];
    }
    f.store.insert_tenant_keys(&rewrapped).await.unwrap();
    assert_eq!(f.store.tenant_keys(t.id).await.unwrap().len(), 4);
    assert_eq!(
        f.store.tenant_keys(other.id).await.unwrap().len(),
        2,
        "per tenant"
    );
}

fn record_write(t: &Tenant, c: &Collection, subject: UserId, data: &str) -> RecordWrite {
    let id = RecordId::new();
    RecordWrite {
        record: RecordRow {
            tenant_id: t.id,
            id,
            collection_id: c.id,
            subject_id: subject,
            group_id: None,
            parent_id: None,
            visibility: strongroom_domain::Visibility::Private,
            hidden: false,
            data: data.into(),
            version: 1,
            created_by: subject,
            created_at: now(),
            updated_at: now(),
            ends_on: None,
            deleted_at: None,
            held_at: None,
        },
        index: vec![IndexEntry {
            field: "title".into(),
            digest: [7; 32],
        }],
        history: HistoryRow {
            record_id: id,
            version: 1,
            at: now(),
            actor_id: subject,
            action: "create".into(),
            fields: vec!["title".into()],
            data_before: None,
        },
    }
}

async fn records_are_versioned_indexed_and_scoped(b: Backend) {
    let f = open(b).await;
    let (t, admin) = with_tenant(&f, "acme").await;
    let (other, _) = with_tenant(&f, "other").await;
    let c = Collection {
        tenant_id: t.id,
        id: CollectionId::new(),
        name: "notes".into(),
        fields: "[]".into(),
        created_by: admin.id,
        created_at: now(),
        retention: None,
    };
    f.store.insert_collection(&c).await.unwrap();
    assert!(matches!(
        f.store
            .insert_collection(&Collection {
                id: CollectionId::new(),
                ..c.clone()
            })
            .await,
        Err(StoreError::Conflict(_))
    ));
    let w = record_write(&t, &c, admin.id, r#"{"title":"a"}"#);
    f.store
        .insert_record(&w, &strongroom_store::ChangeLog::none())
        .await
        .unwrap();
    // A subject from another tenant is refused by the foreign key, nothing half-written.
    let mut foreign = record_write(&t, &c, UserId::new(), "{}");
    foreign.record.subject_id = UserId::new();
    assert!(matches!(
        f.store
            .insert_record(&foreign, &strongroom_store::ChangeLog::none())
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        f.store
            .record(t.id, foreign.record.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.store
            .record_history(t.id, foreign.record.id)
            .await
            .unwrap()
            .is_empty()
    );

    let got = f.store.record(t.id, w.record.id).await.unwrap().unwrap();
    assert_eq!(got.record, w.record);
    assert_eq!(got.collection, c);
    assert_eq!(got.subject_key.as_ref(), Some(&admin.subject_key));
    assert!(
        f.store
            .record(other.id, w.record.id)
            .await
            .unwrap()
            .is_none()
    );

    let hits = f
        .store
        .search_records(t.id, c.id, "title", &[7; 32], None, 10)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert!(
        f.store
            .search_records(other.id, c.id, "title", &[7; 32], None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Optimistic update: the right version wins once, a stale one changes nothing.
    let mut next = w.clone();
    next.record.data = r#"{"title":"b"}"#.into();
    next.record.version = 2;
    next.index = vec![IndexEntry {
        field: "title".into(),
        digest: [8; 32],
    }];
    next.history = HistoryRow {
        version: 2,
        action: "update".into(),
        data_before: Some(w.record.data.clone()),
        ..w.history.clone()
    };
    assert!(
        f.store
            .update_record(&next, 1, &strongroom_store::ChangeLog::none())
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .update_record(&next, 1, &strongroom_store::ChangeLog::none())
            .await
            .unwrap()
    );
    assert!(
        f.store
            .search_records(t.id, c.id, "title", &[7; 32], None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.store
            .search_records(t.id, c.id, "title", &[8; 32], None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let h = f.store.record_history(t.id, w.record.id).await.unwrap();
    assert_eq!(h.iter().map(|e| e.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(h[1].data_before.as_deref(), Some(r#"{"title":"a"}"#));

    // Files: a replacement returns the old row (its blob is the caller's to delete), and bumps
    // the record's version with a history entry.
    let file = |name: &str| FileRow {
        record_id: w.record.id,
        name: name.into(),
        file_id: FileId::new(),
        blob_key: format!("k/{}", uuid::Uuid::now_v7()),
        content_type: "video/mp4".into(),
        size: 10,
        created_by: admin.id,
        created_at: now(),
    };
    let h = HistoryRow {
        action: "put_file".into(),
        ..w.history.clone()
    };
    let first = file("v.mp4");
    assert_eq!(
        f.store
            .put_file(t.id, &first, &h, &strongroom_store::ChangeLog::none())
            .await
            .unwrap(),
        None
    );
    let second = file("v.mp4");
    assert_eq!(
        f.store
            .put_file(t.id, &second, &h, &strongroom_store::ChangeLog::none())
            .await
            .unwrap(),
        Some(first)
    );
    assert_eq!(
        f.store.files(t.id, w.record.id).await.unwrap(),
        vec![second.clone()]
    );
    assert_eq!(
        f.store.file(t.id, w.record.id, "v.mp4").await.unwrap(),
        Some(second.clone())
    );
    assert!(
        f.store
            .file(other.id, w.record.id, "v.mp4")
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        f.store
            .put_file(other.id, &second, &h, &strongroom_store::ChangeLog::none())
            .await,
        Err(StoreError::NotFound(_))
    ));
    let got = f.store.record(t.id, w.record.id).await.unwrap().unwrap();
    assert_eq!(got.record.version, 4);
}

async fn policies_are_stored_under_a_version_guard(b: Backend) {
    let f = open(b).await;
    let (t, admin) = with_tenant(&f, "acme").await;
    assert!(f.store.policies(t.id).await.unwrap().is_none());
    let row = |v: u64, text: &str| PolicyRow {
        template: "training".into(),
        policies: text.into(),
        version: v,
        updated_by: admin.id,
        updated_at: now(),
    };
    assert!(
        f.store
            .put_policies(t.id, &row(1, "a"), 0, &strongroom_store::ChangeLog::none())
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .put_policies(t.id, &row(1, "b"), 0, &strongroom_store::ChangeLog::none())
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .put_policies(t.id, &row(2, "c"), 5, &strongroom_store::ChangeLog::none())
            .await
            .unwrap()
    );
    assert!(
        f.store
            .put_policies(t.id, &row(2, "d"), 1, &strongroom_store::ChangeLog::none())
            .await
            .unwrap()
    );
    let got = f.store.policies(t.id).await.unwrap().unwrap();
    assert_eq!((got.version, got.policies.as_str()), (2, "d"));
}

/// Soft deletion, holds, purges with tombstones, end dates and the hold on crypto-shredding.
async fn deletion_respects_holds_and_leaves_tombstones(b: Backend) {
    let f = open(b).await;
    let (t, admin) = with_tenant(&f, "acme").await;
    let (other, _) = with_tenant(&f, "other").await;
    let c = Collection {
        tenant_id: t.id,
        id: CollectionId::new(),
        name: "contracts".into(),
        fields: "[]".into(),
        created_by: admin.id,
        created_at: now(),
        retention: None,
    };
    f.store.insert_collection(&c).await.unwrap();
    let a = record_write(&t, &c, admin.id, r#"{"title":"a","ends":"2020-01-31"}"#);
    let b2 = record_write(&t, &c, admin.id, r#"{"title":"b","ends":"2024-06-30"}"#);
    let plain = record_write(&t, &c, admin.id, r#"{"title":"c"}"#);
    for w in [&a, &b2, &plain] {
        f.store
            .insert_record(w, &strongroom_store::ChangeLog::none())
            .await
            .unwrap();
    }
    let at = now();
    let later = at + time::Duration::days(1);

    // Soft deletion: tenant-scoped, once, hidden from search, undone by restore.
    assert!(
        !f.store
            .soft_delete_record(
                other.id,
                a.record.id,
                admin.id,
                now(),
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    assert!(
        f.store
            .soft_delete_record(
                t.id,
                a.record.id,
                admin.id,
                at,
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .soft_delete_record(
                t.id,
                a.record.id,
                admin.id,
                at,
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    let got = f.store.record(t.id, a.record.id).await.unwrap().unwrap();
    assert_eq!(got.record.deleted_at, Some(at));
    assert_eq!(
        f.store
            .search_records(t.id, c.id, "title", &[7; 32], None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        f.store.deleted_before(t.id, later, 10).await.unwrap(),
        [a.record.id]
    );
    assert!(
        f.store
            .deleted_before(t.id, at, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .deleted_before(other.id, later, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A hold: no soft deletion, no purge, no crypto-shredding of the subject.
    assert!(
        f.store
            .set_record_hold(
                t.id,
                b2.record.id,
                Some((admin.id, now())),
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .set_record_hold(
                t.id,
                b2.record.id,
                Some((admin.id, now())),
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .soft_delete_record(
                t.id,
                b2.record.id,
                admin.id,
                now(),
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .purge_record(
                t.id,
                b2.record.id,
                TombstoneReason::LegalRetention,
                now(),
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    assert_eq!(f.store.held_records(t.id).await.unwrap(), 1);
    assert_eq!(f.store.held_records(other.id).await.unwrap(), 0);
    assert!(
        !f.store
            .destroy_subject_key(t.id, admin.id, now())
            .await
            .unwrap()
    );
    assert!(
        f.store
            .subject_key(t.id, admin.id.0)
            .await
            .unwrap()
            .is_some()
    );

    // End dates copied from the end field when the period is set, and cleared with it.
    f.store
        .set_collection_retention(
            t.id,
            c.id,
            Some(r#"{"end_field":"ends","years":1}"#),
            Some("ends"),
        )
        .await
        .unwrap();
    let got = f.store.record(t.id, b2.record.id).await.unwrap().unwrap();
    assert_eq!(got.record.ends_on.as_deref(), Some("2024-06-30"));
    assert_eq!(
        got.collection.retention.as_deref(),
        Some(r#"{"end_field":"ends","years":1}"#)
    );
    // Held records are not due; ended ones are, in date order; other tenants see nothing.
    assert_eq!(
        f.store
            .ended_before(t.id, c.id, "2025-01-01", 10)
            .await
            .unwrap(),
        [a.record.id]
    );
    assert!(
        f.store
            .ended_before(other.id, c.id, "2025-01-01", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .set_record_hold(
                t.id,
                b2.record.id,
                None,
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    assert_eq!(
        f.store
            .ended_before(t.id, c.id, "2025-01-01", 10)
            .await
            .unwrap(),
        [a.record.id, b2.record.id]
    );
    assert!(
        f.store
            .ended_before(t.id, c.id, "2020-01-31", 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Purging: the record, its history and index go in one step; a tombstone stays.
    assert!(
        f.store
            .tombstone(t.id, a.record.id.0, "")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !f.store
            .purge_record(
                other.id,
                a.record.id,
                TombstoneReason::Deleted,
                now(),
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    assert!(
        f.store
            .purge_record(
                t.id,
                a.record.id,
                TombstoneReason::Deleted,
                now(),
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .purge_record(
                t.id,
                a.record.id,
                TombstoneReason::Deleted,
                now(),
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    assert!(f.store.record(t.id, a.record.id).await.unwrap().is_none());
    assert!(
        f.store
            .record_history(t.id, a.record.id)
            .await
            .unwrap()
            .is_empty()
    );
    let tomb = f
        .store
        .tombstone(t.id, a.record.id.0, "")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (tomb.subject_id, tomb.reason.as_str()),
        (Some(admin.id), "deleted")
    );
    assert!(
        f.store
            .tombstone(other.id, a.record.id.0, "")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !f.store
            .restore_record(t.id, a.record.id, &strongroom_store::ChangeLog::none())
            .await
            .unwrap()
    );

    // Without holds the key goes; the retention period can be removed again.
    assert!(
        f.store
            .destroy_subject_key(t.id, admin.id, now())
            .await
            .unwrap()
    );
    assert!(
        f.store
            .subject_key(t.id, admin.id.0)
            .await
            .unwrap()
            .is_none()
    );
    f.store
        .set_collection_retention(t.id, c.id, None, None)
        .await
        .unwrap();
    assert!(
        f.store
            .ended_before(t.id, c.id, "2999-01-01", 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Rules: absent, then set, then replaced.
    assert!(f.store.retention_rules(t.id).await.unwrap().is_none());
    f.store
        .put_retention_rules(t.id, "{\"a\":1}", admin.id, now(), &ChangeLog::none())
        .await
        .unwrap();
    f.store
        .put_retention_rules(t.id, "{\"a\":2}", admin.id, now(), &ChangeLog::none())
        .await
        .unwrap();
    assert_eq!(
        f.store.retention_rules(t.id).await.unwrap().as_deref(),
        Some("{\"a\":2}")
    );
    assert!(f.store.retention_rules(other.id).await.unwrap().is_none());
}

fn new_job(t: &Tenant, key: &str, run_at: Timestamp) -> NewJob {
    NewJob {
        id: JobId::new(),
        tenant_id: t.id,
        kind: JobKind::Hide,
        subject_id: None,
        dedupe_key: key.into(),
        param: 7,
        run_at,
        now: run_at,
        object: None,
    }
}

async fn state(f: &Fixture, t: &Tenant, id: JobId) -> JobState {
    f.store
        .jobs_of_kind(t.id, JobKind::Hide)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.job.id == id)
        .unwrap()
}

/// The durable job queue: one job per dedupe key, nothing claimed before it is due, a lease
/// that keeps a claimed job from a second worker until it expires (a crashed worker's job is
/// claimed again), a retry at the backoff time it was given, and giving up after the last
/// attempt (kept as `failed`, never claimed again).
async fn the_job_queue_leases_retries_and_gives_up(b: Backend) {
    let f = open(b).await;
    let (t, _) = with_tenant(&f, "acme").await;
    let t0 = now();
    let job = new_job(&t, "k1", t0);
    assert!(f.store.enqueue(&job).await.unwrap());
    assert!(
        !f.store
            .enqueue(&NewJob {
                id: JobId::new(),
                ..job.clone()
            })
            .await
            .unwrap(),
        "the same dedupe key schedules once"
    );
    assert_eq!(
        f.store
            .jobs_of_kind(t.id, JobKind::Hide)
            .await
            .unwrap()
            .len(),
        1
    );
    let lease = Duration::minutes(5);
    let claim = |at: Timestamp| {
        let store = f.store.clone();
        async move {
            store
                .claim_jobs(at, at + lease, 10, Queue::Tenants)
                .await
                .unwrap()
        }
    };
    assert!(
        claim(t0 - Duration::seconds(1)).await.is_empty(),
        "not due yet"
    );
    let first = claim(t0).await;
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].id, first[0].attempts, first[0].param),
        (job.id, 1, 7)
    );
    assert!(
        claim(t0 + Duration::minutes(1)).await.is_empty(),
        "leased to the first worker"
    );
    // The first worker crashed: once its lease expired another claims the job.
    let again = claim(t0 + Duration::minutes(6)).await;
    assert_eq!((again.len(), again[0].attempts), (1, 2));
    // A failure: pending again at the backoff time, not before.
    let at = t0 + Duration::minutes(6);
    let retry_at = at + Duration::minutes(4);
    f.store
        .retry_job(job.id, 3, retry_at, "boom", at)
        .await
        .unwrap();
    let s = state(&f, &t, job.id).await;
    assert_eq!(
        (s.status, s.outcome.as_deref()),
        (JobStatus::Pending, Some("boom"))
    );
    assert!(claim(retry_at - Duration::seconds(1)).await.is_empty());
    let third = claim(retry_at).await;
    assert_eq!(third[0].attempts, 3);
    // The last attempt failed too: given up, kept for inspection, never claimed again.
    f.store
        .retry_job(
            job.id,
            3,
            retry_at + Duration::minutes(8),
            "boom again",
            retry_at,
        )
        .await
        .unwrap();
    let s = state(&f, &t, job.id).await;
    assert_eq!(s.status, JobStatus::Failed);
    assert!(claim(t0 + Duration::days(30)).await.is_empty());
    // A finished job is done and stays done; finishing twice changes nothing.
    let other = new_job(&t, "k2", t0);
    f.store.enqueue(&other).await.unwrap();
    assert_eq!(claim(t0).await.len(), 1);
    f.store.finish_job(other.id, "ok", t0).await.unwrap();
    f.store.finish_job(other.id, "again", t0).await.unwrap();
    let s = state(&f, &t, other.id).await;
    assert_eq!(
        (s.status, s.outcome.as_deref()),
        (JobStatus::Done, Some("ok"))
    );
    assert!(claim(t0 + Duration::days(30)).await.is_empty());

    // The installation's own jobs (backups, replication) go to the installation worker only,
    // carry their object, and their age is the lag /metrics shows.
    let own = NewJob {
        tenant_id: TenantId::INSTALLATION,
        kind: JobKind::ReplicaSync,
        object: Some("tenants/x/files/y".into()),
        param: strongroom_domain::to_millis(t0),
        ..new_job(&t, "replica:1", t0)
    };
    let later = NewJob {
        param: strongroom_domain::to_millis(t0 + Duration::minutes(10)),
        run_at: t0 + Duration::minutes(10),
        ..new_job(&t, "replica:later", t0)
    };
    f.store
        .enqueue(&NewJob {
            tenant_id: TenantId::INSTALLATION,
            kind: JobKind::ReplicaSync,
            ..later
        })
        .await
        .unwrap();
    assert_eq!(
        f.store
            .oldest_open_job(JobKind::ReplicaSync, t0)
            .await
            .unwrap(),
        None
    );
    f.store.enqueue(&own).await.unwrap();
    assert_eq!(
        f.store
            .oldest_open_job(JobKind::ReplicaSync, t0)
            .await
            .unwrap(),
        Some(t0)
    );
    assert!(
        claim(t0 + Duration::days(31)).await.is_empty(),
        "not a tenant's job"
    );
    let snapshot = NewJob {
        tenant_id: TenantId::INSTALLATION,
        kind: JobKind::BackupRun,
        ..new_job(&t, "backup.run:1", t0)
    };
    f.store.enqueue(&snapshot).await.unwrap();
    let snapshots = f
        .store
        .claim_jobs(t0, t0 + lease, 10, Queue::Snapshots)
        .await
        .unwrap();
    assert_eq!(
        snapshots.iter().map(|j| j.id).collect::<Vec<_>>(),
        [snapshot.id],
        "a lane of their own"
    );
    let mine = f
        .store
        .claim_jobs(t0, t0 + lease, 10, Queue::Installation)
        .await
        .unwrap();
    assert_eq!(
        (mine.len(), mine[0].object.as_deref()),
        (1, Some("tenants/x/files/y"))
    );
    f.store.finish_job(own.id, "copied", t0).await.unwrap();
    assert_eq!(
        f.store
            .oldest_open_job(JobKind::ReplicaSync, t0)
            .await
            .unwrap(),
        None,
        "a job not due yet is no lag"
    );
}

/// The second factor: pending until confirmed (then never overwritten), each time step
/// accepted once and only forward — by one of two racing writers —, each recovery code spent
/// once, and everything gone when the factor is removed or the person forgotten.
async fn the_second_factor_accepts_each_step_and_recovery_code_once(b: Backend) {
    let f = open(b).await;
    let (t, u) = with_tenant(&f, "acme").await;
    let s = &f.store;
    assert_eq!(s.user_totp(t.id, u.id).await.unwrap(), None);
    assert!(
        s.put_pending_totp(t.id, u.id, &[1; 48], now())
            .await
            .unwrap()
    );
    assert!(
        s.put_pending_totp(t.id, u.id, &[2; 48], now())
            .await
            .unwrap(),
        "a pending secret is replaced by a new enrolment"
    );
    let pending = s.user_totp(t.id, u.id).await.unwrap().unwrap();
    assert_eq!((pending.sealed, pending.confirmed_at), (vec![2; 48], None));
    assert!(
        !s.accept_totp_step(t.id, u.id, 5).await.unwrap(),
        "not active yet"
    );
    let codes: Vec<[u8; 32]> = (0..10u8).map(|i| [i; 32]).collect();
    assert!(
        s.confirm_totp(t.id, u.id, 100, &codes, now())
            .await
            .unwrap()
    );
    assert!(
        !s.confirm_totp(t.id, u.id, 101, &codes, now())
            .await
            .unwrap()
    );
    assert!(
        !s.put_pending_totp(t.id, u.id, &[3; 48], now())
            .await
            .unwrap(),
        "no enrolment over an active factor"
    );
    let active = s.user_totp(t.id, u.id).await.unwrap().unwrap();
    assert_eq!((active.sealed, active.last_step), (vec![2; 48], Some(100)));
    assert!(active.confirmed_at.is_some());
    assert!(
        !s.accept_totp_step(t.id, u.id, 100).await.unwrap(),
        "the confirming code again"
    );
    assert!(s.accept_totp_step(t.id, u.id, 101).await.unwrap());
    assert!(
        !s.accept_totp_step(t.id, u.id, 101).await.unwrap(),
        "replayed"
    );
    assert!(
        !s.accept_totp_step(t.id, u.id, 99).await.unwrap(),
        "an older one"
    );
    let (x, y) = tokio::join!(
        s.accept_totp_step(t.id, u.id, 102),
        s.accept_totp_step(t.id, u.id, 102)
    );
    assert_eq!(
        u8::from(x.unwrap()) + u8::from(y.unwrap()),
        1,
        "one of two racing logins"
    );
    assert!(
        s.use_recovery_code(t.id, u.id, &[3; 32], now())
            .await
            .unwrap()
    );
    assert!(
        !s.use_recovery_code(t.id, u.id, &[3; 32], now())
            .await
            .unwrap(),
        "spent"
    );
    assert!(
        !s.use_recovery_code(t.id, u.id, &[99; 32], now())
            .await
            .unwrap(),
        "unknown"
    );
    assert_eq!(s.recovery_codes_left(t.id, u.id).await.unwrap(), 9);
    // Another tenant's user of the same id sees nothing.
    let (other, _) = with_tenant(&f, "other").await;
    assert_eq!(s.user_totp(other.id, u.id).await.unwrap(), None);
    assert!(
        !s.use_recovery_code(other.id, u.id, &[4; 32], now())
            .await
            .unwrap()
    );
    s.remove_totp(t.id, u.id, &ChangeLog::none()).await.unwrap();
    assert_eq!(s.user_totp(t.id, u.id).await.unwrap(), None);
    assert_eq!(s.recovery_codes_left(t.id, u.id).await.unwrap(), 0);
    // Forgetting removes a factor with the other credentials.
    assert!(
        s.put_pending_totp(t.id, u.id, &[5; 48], now())
            .await
            .unwrap()
    );
    assert!(s.confirm_totp(t.id, u.id, 7, &codes, now()).await.unwrap());
    assert!(
        s.forget_user(t.id, u.id, now(), &strongroom_store::ChangeLog::none())
            .await
            .unwrap()
    );
    assert_eq!(s.user_totp(t.id, u.id).await.unwrap(), None);
    assert_eq!(s.recovery_codes_left(t.id, u.id).await.unwrap(), 0);
}

/// Every backup, drill and restore is recorded; the newest of each kind and outcome is read
/// back (what /metrics and the TOM report state), and the counts per kind and outcome.
async fn backup_runs_are_recorded_and_the_newest_read_back(b: Backend) {
    let f = open(b).await;
    let t0 = now();
    let run = |kind: &str, at: Timestamp, ok: bool| strongroom_store::BackupRun {
        id: uuid::Uuid::now_v7(),
        kind: kind.into(),
        at,
        snapshot: Some("s1".into()),
        bytes: 1 << 40,
        millis: 1234,
        ok,
        detail: (!ok).then(|| "table users: chunk ab is missing".to_owned()),
    };
    assert_eq!(f.store.last_backup_run("backup", true).await.unwrap(), None);
    let first = run("backup", t0, true);
    let newer = run("backup", t0 + Duration::hours(1), true);
    let failed = run("backup", t0 + Duration::hours(2), false);
    let drill = run("drill", t0, true);
    for r in [&newer, &first, &failed, &drill] {
        f.store.record_backup_run(r).await.unwrap();
    }
    assert_eq!(
        f.store.last_backup_run("backup", true).await.unwrap(),
        Some(newer)
    );
    assert_eq!(
        f.store.last_backup_run("backup", false).await.unwrap(),
        Some(failed)
    );
    assert_eq!(
        f.store.last_backup_run("drill", true).await.unwrap(),
        Some(drill)
    );
    assert_eq!(
        f.store.count_backup_runs().await.unwrap(),
        vec![
            ("backup".to_owned(), false, 1),
            ("backup".to_owned(), true, 2),
            ("drill".to_owned(), true, 1)
        ]
    );
    // A kind the table does not know is refused by the store.
    assert!(
        f.store
            .record_backup_run(&run("nap", t0, true))
            .await
            .is_err()
    );
}

/// Two workers claiming at once (PostgreSQL: two connections, `FOR UPDATE SKIP LOCKED`;
/// SQLite: the single writer) never get the same job, and together get every due one.
async fn concurrent_claimers_never_share_a_job(b: Backend) {
    let f = open(b).await;
    let (t, _) = with_tenant(&f, "acme").await;
    let t0 = now();
    let mut ids = std::collections::BTreeSet::new();
    for i in 0..60 {
        let j = new_job(&t, &format!("k{i}"), t0);
        ids.insert(j.id);
        f.store.enqueue(&j).await.unwrap();
    }
    let worker = |store: Arc<dyn Store>| async move {
        let mut got = Vec::new();
        loop {
            let batch = store
                .claim_jobs(t0, t0 + Duration::minutes(5), 7, Queue::Tenants)
                .await
                .unwrap();
            if batch.is_empty() {
                return got;
            }
            got.extend(batch.into_iter().map(|j| j.id));
            tokio::task::yield_now().await;
        }
    };
    let (a, b2) = tokio::join!(
        tokio::spawn(worker(f.store.clone())),
        tokio::spawn(worker(f.store.clone()))
    );
    let (a, b2) = (a.unwrap(), b2.unwrap());
    let mut all: Vec<_> = a.iter().chain(b2.iter()).copied().collect();
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!(all.len(), n, "a job was claimed twice");
    assert_eq!(
        all.into_iter().collect::<std::collections::BTreeSet<_>>(),
        ids
    );
}

// ── Backups: every table dumped at one point in time, loaded into either store ────────────

fn chain_fn(_: TenantId, prev: &[u8; 32], seq: u64, _: &PrivacyEntry) -> [u8; 32] {
    let mut h = *prev;
    h[0] = h[0].wrapping_add(u8::try_from(seq % 251).unwrap());
    h
}

fn client_row(t: &Tenant, by: UserId) -> ClientRow {
    ClientRow {
        tenant_id: t.id,
        id: ClientId::new(),
        name: "Sync".into(),
        scopes: Scopes::parse("records:read:notes users:read").unwrap(),
        secret_digest: Some([3; 32]),
        previous_digest: None,
        previous_until: None,
        created_by: by,
        created_at: now(),
        deleted_at: None,
        kind: ClientKind::Confidential,
        redirect_uris: Vec::new(),
    }
}

/// Clients: a token finds its client with the scopes it was granted until it expires, the
/// client is deleted (then no token finds it, and its row stays, without secrets, to name it),
/// or the tenant closes; a rotation keeps the previous digest until the time given; another
/// tenant sees none of it; pages run newest first.
async fn clients_their_tokens_and_their_end(b: Backend) {
    let f = open(b).await;
    let (t, admin) = with_tenant(&f, "acme").await;
    let (other, _) = with_tenant(&f, "other").await;
    let none = ChangeLog::none();
    let k = client_row(&t, admin.id);
    f.store.insert_client(&k, &none).await.unwrap();
    let granted = Scopes::parse("users:read").unwrap();
    let token = NewClientToken {
        tenant_id: t.id,
        digest: [7; 32],
        client_id: k.id,
        scopes: granted.clone(),
        expires_at: now() + Duration::minutes(15),
        created_at: now(),
    };
    f.store.insert_client_token(&token).await.unwrap();
    let (caller, version) = f
        .store
        .client_by_token(t.id, &[7; 32], now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((caller.id, caller.scopes, version), (k.id, granted, 0));
    assert!(
        f.store
            .client_by_token(other.id, &[7; 32], now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(f.store.client(other.id, k.id).await.unwrap().is_none());
    assert!(
        f.store
            .client_by_token(t.id, &[7; 32], now() + Duration::minutes(15))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    let until = now() + Duration::hours(2);
    assert!(
        f.store
            .rotate_client_secret(t.id, k.id, &[8; 32], until, &none)
            .await
            .unwrap()
    );
    let row = f.store.client(t.id, k.id).await.unwrap().unwrap();
    assert_eq!(
        (row.secret_digest, row.previous_digest, row.previous_until),
        (Some([8; 32]), Some([3; 32]), Some(until))
    );
    let second = client_row(&t, admin.id);
    f.store.insert_client(&second, &none).await.unwrap();
    let page = f.store.list_clients(t.id, None, 1).await.unwrap();
    assert_eq!(page.iter().map(|c| c.id).collect::<Vec<_>>(), [second.id]);
    let rest = f
        .store
        .list_clients(t.id, Some(second.id), 10)
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|c| c.id).collect::<Vec<_>>(), [k.id]);
    assert!(
        f.store
            .list_clients(other.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    assert!(
        !f.store
            .delete_client(other.id, k.id, now(), &none)
            .await
            .unwrap()
    );
    assert!(
        f.store
            .delete_client(t.id, k.id, now(), &none)
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .delete_client(t.id, k.id, now(), &none)
            .await
            .unwrap(),
        "once"
    );
    assert!(
        f.store
            .client_by_token(t.id, &[7; 32], now())
            .await
            .unwrap()
            .is_none()
    );
    let gone = f.store.client(t.id, k.id).await.unwrap().unwrap();
    assert!(
        gone.deleted_at.is_some() && gone.secret_digest.is_none() && gone.previous_digest.is_none()
    );
    assert_eq!(gone.name, "Sync");
    assert!(
        !f.store
            .rotate_client_secret(t.id, k.id, &[9; 32], until, &none)
            .await
            .unwrap()
    );
}

/// A store with a row in every table (each kind of column, NULLs and values).
async fn fill(f: &Fixture) -> Tenant {
    let (t, admin) = with_tenant(f, "acme").await;
    let none = ChangeLog::none();
    let g = Group {
        tenant_id: t.id,
        id: GroupId::new(),
        name: TenantName::parse("Group A").unwrap(),
        created_at: now(),
    };
    f.store.insert_group(&g).await.unwrap();
    f.store
        .put_member(t.id, g.id, admin.id, MembershipRole::Participant)
        .await
        .unwrap();
    f.store
        .insert_session(&session(&t, admin.id, FamilyId::new(), 3))
        .await
        .unwrap();
    f.store
        .insert_reset(t.id, &[9; 32], admin.id, now() + Duration::hours(1), now())
        .await
        .unwrap();
    f.store
        .append_login(&LoginEvent {
            tenant_id: t.id,
            id: LoginEventId::new(),
            user_id: Some(admin.id),
            at: now(),
            ip_sealed: Some(vec![1, 2, 3]),
            outcome: LoginOutcome::Success,
        })
        .await
        .unwrap();
    f.store
        .record_unknown_failure(t.id, &[5; 32], 3, now())
        .await
        .unwrap();
    // A support grant with every column set.
    let r = SupportRequest {
        tenant_id: t.id,
        id: SupportRequestId::new(),
        superuser_id: UserId::new(),
        reason: "ticket".into(),
        kind: SupportKind::ActAs,
        user_id: Some(admin.id),
        minutes: 30,
        status: SupportStatus::Approved,
        created_at: now(),
        pending_until: now() + Duration::hours(24),
        starts_at: Some(now()),
        ends_at: Some(now() + Duration::minutes(30)),
        decided_by: Some(admin.id),
        decided_at: Some(now()),
        break_glass: true,
        first_used_at: None,
    };
    f.store.insert_support_request(&r, &none).await.unwrap();
    let d = DisclosureRow {
        tenant_id: t.id,
        id: uuid::Uuid::now_v7(),
        requester: "Police".into(),
        legal_basis: "warrant".into(),
        scope: format!("subject:{}", admin.id.0),
        status: "open".into(),
        opened_at: now() - Duration::days(8),
        objection_until: now() - Duration::days(1),
        objection_reason: None,
        objected_by: None,
        objected_at: None,
        released_at: None,
        released_by: None,
        final_order: false,
        records_released: None,
        withdrawn_at: None,
    };
    f.store.insert_disclosure(&d, &none).await.unwrap();
    assert!(
        f.store
            .object_disclosure(t.id, d.id, "late", admin.id, now(), &none)
            .await
            .is_ok()
    );
    assert!(
        f.store
            .release_disclosure(t.id, d.id, "Olga", true, 3, now(), &none)
            .await
            .unwrap()
    );
    f.store
        .withdraw_disclosure(t.id, d.id, now(), &none)
        .await
        .unwrap();
    f.store
        .insert_breach(
            &BreachRow {
                tenant_id: t.id,
                id: uuid::Uuid::now_v7(),
                title: "t".into(),
                aware_at: now(),
                nature: "n".into(),
                data_categories: "[]".into(),
                subjects_estimate: 1,
                records_estimate: 2,
                consequences: "c".into(),
                measures: "m".into(),
                status: "notified".into(),
                authority_notified_at: Some(now()),
                subjects_notified_at: Some(now()),
                delay_reason: Some("d".into()),
                not_notifiable_reason: Some("r".into()),
                recorded_by: Some(admin.id),
                created_at: now(),
                updated_at: now(),
            },
            &BreachChange {
                id: uuid::Uuid::now_v7(),
                at: now(),
                actor_id: Some(admin.id),
                fields: "[]".into(),
            },
            &none,
        )
        .await
        .unwrap();
    f.store
        .insert_processor(
            &ProcessorRow {
                tenant_id: t.id,
                id: uuid::Uuid::now_v7(),
                name: "Mailer".into(),
                purpose: "mail".into(),
                data_categories: "[\"e-mail\"]".into(),
                location: "DE".into(),
                transfer_safeguard: Some("SCC".into()),
                dpa_signed_on: Some("2026-01-01".into()),
                created_at: now(),
                updated_at: now(),
            },
            &none,
        )
        .await
        .unwrap();
    f.store
        .insert_access_review(
            &AccessReview {
                tenant_id: t.id,
                id: uuid::Uuid::now_v7(),
                reviewer_id: Some(admin.id),
                reviewer: "Chief".into(),
                at: now(),
                decisions: "[]".into(),
            },
            &[],
            &none,
        )
        .await
        .unwrap();
    f.store
        .insert_support_session(t.id, r.id, &[6; 32], now() + Duration::minutes(15), now())
        .await
        .unwrap();
    // A client mid-rotation (every column holds a value), and a deleted one.
    for deleted in [false, true] {
        let k = client_row(&t, admin.id);
        f.store.insert_client(&k, &none).await.unwrap();
        f.store
            .rotate_client_secret(t.id, k.id, &[4; 32], now() + Duration::hours(1), &none)
            .await
            .unwrap();
        if deleted {
            f.store
                .delete_client(t.id, k.id, now(), &none)
                .await
                .unwrap();
        }
    }
    // An app the admin consented to, a code exchanged for a session of it.
    let app = ClientRow {
        kind: ClientKind::Public,
        secret_digest: None,
        scopes: Scopes::default(),
        redirect_uris: vec!["http://127.0.0.1/cb".into(), "com.example.app:/cb".into()],
        ..client_row(&t, admin.id)
    };
    f.store.insert_client(&app, &none).await.unwrap();
    f.store
        .insert_consent(t.id, admin.id, app.id, now(), &none)
        .await
        .unwrap();
    f.store
        .insert_auth_code(&NewAuthCode {
            tenant_id: t.id,
            digest: [9; 32],
            client_id: app.id,
            user_id: admin.id,
            redirect_uri: "http://127.0.0.1:4000/cb".into(),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            expires_at: now() + Duration::minutes(2),
            created_at: now(),
        })
        .await
        .unwrap();
    assert!(matches!(
        f.store
            .spend_auth_code(t.id, &[9; 32], now())
            .await
            .unwrap(),
        CodeOutcome::Spent { .. }
    ));
    let app_session = NewSession {
        client_id: Some(app.id),
        ..session(&t, admin.id, FamilyId::new(), 77)
    };
    f.store
        .insert_code_session(&app_session, &[9; 32])
        .await
        .unwrap();
    let c = Collection {
        tenant_id: t.id,
        id: CollectionId::new(),
        name: "notes".into(),
        fields: "[]".into(),
        created_by: admin.id,
        created_at: now(),
        retention: Some(r#"{"years":10}"#.into()),
    };
    f.store.insert_collection(&c).await.unwrap();
    let w = record_write(&t, &c, admin.id, r#"{"title":"a"}"#);
    f.store.insert_record(&w, &none).await.unwrap();
    let file = FileRow {
        record_id: w.record.id,
        name: "v.mp4".into(),
        file_id: FileId::new(),
        blob_key: "tenants/x/files/y".into(),
        content_type: "video/mp4".into(),
        size: 10,
        created_by: admin.id,
        created_at: now(),
    };
    f.store
        .put_file(t.id, &file, &w.history, &none)
        .await
        .unwrap();
    // A second record, deleted and purged: a tombstone.
    let gone = record_write(&t, &c, admin.id, r#"{"title":"b"}"#);
    f.store.insert_record(&gone, &none).await.unwrap();
    f.store
        .soft_delete_record(t.id, gone.record.id, admin.id, now(), &none)
        .await
        .unwrap();
    assert!(
        f.store
            .purge_record(t.id, gone.record.id, TombstoneReason::Deleted, now(), &none)
            .await
            .unwrap()
    );
    let entry = PrivacyEntry {
        at: now(),
        actor_id: Some(admin.id.0),
        via: "administrator".into(),
        subject_id: Some(admin.id.0),
        object_type: "record".into(),
        object_id: None,
        action: "read".into(),
        fields: vec!["notes".into()],
        decision: Decision::Allow,
        client_sealed: None,
    };
    f.store
        .append_privacy(t.id, &[entry.clone(), entry], [0; 32], chain_fn)
        .await
        .unwrap();
    let (seq, hash) = f.store.privacy_head(t.id).await.unwrap().unwrap();
    f.store
        .insert_checkpoint(
            t.id,
            &PrivacyCheckpoint {
                seq,
                hash,
                at: now(),
                signature: vec![4; 64],
            },
        )
        .await
        .unwrap();
    let policies = PolicyRow {
        template: "training".into(),
        policies: "permit(principal, action, resource);".into(),
        version: 1,
        updated_by: admin.id,
        updated_at: now(),
    };
    assert!(
        f.store
            .put_policies(t.id, &policies, 0, &none)
            .await
            .unwrap()
    );
    f.store
        .put_retention_rules(
            t.id,
            r#"{"notice_after_days":31}"#,
            admin.id,
            now(),
            &ChangeLog::none(),
        )
        .await
        .unwrap();
    let notice = DeletionNotice {
        tenant_id: t.id,
        id: NoticeId::new(),
        user_id: admin.id,
        what: "recordings".into(),
        expiry_at: now(),
        due_at: now() + Duration::days(14),
        created_at: now(),
        kept_at: None,
        done_at: None,
    };
    assert!(f.store.insert_notice(&notice, &none).await.unwrap());
    f.store
        .enqueue(&new_job(&t, "backup-test", now()))
        .await
        .unwrap();
    assert!(
        f.store
            .put_pending_totp(t.id, admin.id, &[7; 48], now())
            .await
            .unwrap()
    );
    assert!(
        f.store
            .confirm_totp(t.id, admin.id, 42, &[[1; 32], [2; 32]], now())
            .await
            .unwrap()
    );
    assert!(
        f.store
            .use_recovery_code(t.id, admin.id, &[1; 32], now())
            .await
            .unwrap()
    );
    t
}

/// A dump with every table's rows in one order, to compare dumps of two stores.
fn sorted(mut d: backup::Dump) -> backup::Dump {
    for t in &mut d.tables {
        t.rows.sort();
    }
    d
}

/// A SQLite installation moves to PostgreSQL and back: every row of every table arrives,
/// value for value, and the moved store works (its users log in, its chain continues).
async fn a_dump_loads_into_the_other_store(from: Backend) {
    let to = match from {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    };
    let (a, b) = (open(from).await, open(to).await);
    let t = fill(&a).await;
    let dump = a.store.dump().await.unwrap();
    for table in &dump.tables {
        assert!(!table.rows.is_empty(), "{} was not filled", table.table);
    }
    assert!(b.store.is_empty().await.unwrap());
    b.store.load(&dump).await.unwrap();
    assert!(!b.store.is_empty().await.unwrap());
    assert_eq!(sorted(b.store.dump().await.unwrap()), sorted(dump.clone()));
    // The moved store is a working store.
    let admin = b
        .store
        .user_by_email_index(t.id, &idx(&t, "admin@acme.example"))
        .await
        .unwrap()
        .unwrap();
    assert!(admin.subject_key.is_some());
    let (seq, _) = b.store.privacy_head(t.id).await.unwrap().unwrap();
    assert_eq!(seq, 2);
    // Keys travel apart from the data.
    let keys: Vec<_> = dump
        .part(exec::Part::Keys)
        .map(|t| t.table.as_str())
        .collect();
    assert_eq!(keys, ["tenant_keys", "subject_keys"]);
    assert!(
        dump.part(exec::Part::Data)
            .all(|t| !t.table.ends_with("_keys"))
    );
}

/// A load writes only into an empty store, and checks the whole dump before writing: a store
/// with data, another schema version or a cell of the wrong kind are refused, nothing written.
async fn a_load_refuses_anything_but_an_empty_store_and_a_sound_dump(b: Backend) {
    let (a, target) = (open(b).await, open(b).await);
    fill(&a).await;
    let dump = a.store.dump().await.unwrap();
    with_tenant(&target, "other").await;
    let before = sorted(target.store.dump().await.unwrap());
    assert!(matches!(
        target.store.load(&dump).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(sorted(target.store.dump().await.unwrap()), before);

    let empty = open(b).await;
    let mut newer = dump.clone();
    newer.schema_version += 1;
    assert!(empty.store.load(&newer).await.is_err());
    let mut wrong = dump.clone();
    wrong.tables[0].rows[0][0] = exec::Cell::Text(Some("not a uuid".into()));
    assert!(empty.store.load(&wrong).await.is_err());
    // A failure half-way (a row that breaks a foreign key) rolls the whole load back.
    let mut orphan = dump.clone();
    let members = orphan
        .tables
        .iter_mut()
        .find(|t| t.table == "group_members")
        .unwrap();
    members.rows[0][1] = exec::Cell::Uuid(Some(uuid::Uuid::now_v7()));
    assert!(empty.store.load(&orphan).await.is_err());
    assert!(empty.store.is_empty().await.unwrap());
}

/// The table list of backups is the schema of both stores: a table or column added by a
/// migration and not to `sql::BACKUP_TABLES` fails here, so backups never leave data out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_tables_are_the_whole_schema_of_both_stores() {
    use std::collections::BTreeSet;
    let spec: BTreeSet<(String, String)> = sql::BACKUP_TABLES
        .iter()
        .flat_map(|t| {
            t.columns
                .iter()
                .map(|(c, k)| (format!("{}.{c}", t.name), format!("{k:?}")))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    strongroom_store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut st = conn
        .prepare("SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'")
        .unwrap();
    let sqlite: BTreeSet<String> = st
        .query_map([], |r| {
            Ok(format!(
                "{}.{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let left_out = |name: &String| {
        !sql::NOT_BACKED_UP
            .iter()
            .any(|(t, _)| name.starts_with(&format!("{t}.")))
    };
    let sqlite: BTreeSet<String> = sqlite.into_iter().filter(left_out).collect();
    let names: BTreeSet<String> = spec.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        sqlite, names,
        "SQLite's tables and columns against sql::BACKUP_TABLES"
    );

    let db = PgDatabase::create().await;
    strongroom_store::open(&db.url).await.unwrap();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let pg: BTreeSet<(String, String)> = rows
        .into_iter()
        .map(|(t, c, ty)| {
            let kind = match ty.as_str() {
                "uuid" => "Uuid",
                "text" => "Text",
                "bigint" | "integer" | "smallint" => "Int",
                "bytea" => "Bytes",
                "boolean" => "Bool",
                other => panic!("{t}.{c}: a column type backups do not know: {other}"),
            };
            (format!("{t}.{c}"), kind.to_owned())
        })
        .filter(|(n, _)| left_out(n))
        .collect();
    assert_eq!(
        pg, spec,
        "PostgreSQL's columns and types against sql::BACKUP_TABLES"
    );
    assert_eq!(
        backup::SCHEMA_VERSION as usize,
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .unwrap()
            .count()
    );
    assert_eq!(
        backup::SCHEMA_VERSION as usize,
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
            .unwrap()
            .count()
    );
}

both_backends!(
    a_dump_loads_into_the_other_store,
    clients_their_tokens_and_their_end,
    a_load_refuses_anything_but_an_empty_store_and_a_sound_dump,
    the_job_queue_leases_retries_and_gives_up,
    backup_runs_are_recorded_and_the_newest_read_back,
    the_second_factor_accepts_each_step_and_recovery_code_once,
    concurrent_claimers_never_share_a_job,
    deletion_respects_holds_and_leaves_tombstones,
    records_are_versioned_indexed_and_scoped,
    policies_are_stored_under_a_version_guard,
    tenant_keys_accumulate_wrappings_and_never_overwrite,
    tenants_round_trip_and_slugs_are_unique,
    users_are_scoped_to_their_tenant,
    update_patches_only_given_fields,
    failures_block_at_the_threshold_and_password_reset_clears,
    unknown_addresses_are_counted_too,
    sessions_rotate_and_reuse_revokes_the_family,
    logout_and_password_change_end_sessions,
    reset_tokens_work_once_and_expire,
    forgetting_removes_personal_fields_and_access,
    groups_and_members,
    login_history_newest_first,
);
