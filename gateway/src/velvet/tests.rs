//! Velvet's rules, each checked over both row stores.

use chrono::TimeZone;
use rand::SeedableRng;

use super::*;
use crate::connection::{HouseholdId, UserId};
use memory::MemoryRows;
use sqlite::SqliteRows;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap()
}

fn connection(id: &str, slug: &str, tier: Tier) -> Connection {
    Connection {
        id: ConnectionId(id.into()),
        user: UserId("u1".into()),
        household: HouseholdId("h1".into()),
        slug: slug.into(),
        brand: slug.into(),
        tier,
        aggregator: (tier == Tier::B).then(|| "snaptrade".into()),
        platform: false,
    }
}

fn velvet<S: RowStore>(rows: S) -> Velvet<S> {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let master = MasterKey::generate(&mut rng);
    Velvet::new(rows, master, rng)
}

/// A store with one connection per tier: `a` (tradier), `b` (ibkr via
/// SnapTrade) and `c` (Plaid).
fn enrolled<S: RowStore>(rows: S) -> Velvet<S> {
    let mut v = velvet(rows);
    for (id, slug, tier) in [
        ("a", "tradier", Tier::A),
        ("b", "ibkr", Tier::B),
        ("c", "plaid", Tier::C),
    ] {
        v.enroll(
            &connection(id, slug, tier),
            &Secret::new(format!("token-of-{id}")),
            t0(),
        )
        .unwrap();
    }
    v
}

fn id(s: &str) -> ConnectionId {
    ConnectionId(s.into())
}

/// Runs one check over the in-memory store and over SQLite.
macro_rules! over_both_stores {
    ($($name:ident => $check:ident;)*) => {
        mod memory_store {
            use super::*;
            $(#[test] fn $name() { $check(MemoryRows::new()) })*
        }
        mod sqlite_store {
            use super::*;
            $(#[test] fn $name() { $check(SqliteRows::in_memory().unwrap()) })*
        }
    };
}

over_both_stores! {
    tier_c_never_hands_out_a_credential_for_an_order => tier_c_refused_for_orders;
    tiers_a_and_b_hand_out_their_own_credential => trading_tiers_open;
    the_store_holds_only_ciphertext => only_ciphertext;
    a_revoked_token_is_never_handed_out_again => revoked_never_again;
    tier_a_is_due_for_rotation_after_90_days => rotation_due_after_90_days;
    rotation_replaces_the_token_and_keeps_its_history => rotation_keeps_history;
    a_row_store_refuses_an_order_capable_tier_c_row => store_refuses_tier_c_without_no_order_write;
    one_row_per_connection => duplicate_refused;
}

fn tier_c_refused_for_orders<S: RowStore>(rows: S) {
    let v = enrolled(rows);
    let row = v.rows().row(&id("c")).unwrap().unwrap();
    assert!(row.no_order_write);
    let refused = v.credential_for_order(&id("c")).unwrap_err();
    assert_eq!(
        refused,
        VelvetError::NoOrderWrite {
            connection: id("c"),
            slug: "plaid".into()
        }
    );
    assert_eq!(refused.kind(), adapters::ErrorKind::ReadOnly);
    // Reading positions is what a Tier C connection is for.
    assert_eq!(
        v.credential_for_read(&id("c")).unwrap().expose(),
        "token-of-c"
    );
}

fn trading_tiers_open<S: RowStore>(rows: S) {
    let v = enrolled(rows);
    for c in ["a", "b"] {
        assert!(!v.rows().row(&id(c)).unwrap().unwrap().no_order_write);
        assert_eq!(
            v.credential_for_order(&id(c)).unwrap().expose(),
            format!("token-of-{c}")
        );
    }
    let missing = v.credential_for_order(&id("z")).unwrap_err();
    assert_eq!(missing.kind(), adapters::ErrorKind::NotFound);
}

fn only_ciphertext<S: RowStore>(rows: S) {
    let v = enrolled(rows);
    for row in v.rows().rows().unwrap() {
        let plain = format!("token-of-{}", row.connection_id);
        assert!(
            !row.token_ciphertext
                .windows(plain.len())
                .any(|w| w == plain.as_bytes()),
            "{} holds its plaintext",
            row.connection_id
        );
        assert!(!format!("{row:?}").contains(&plain));
    }
    let secret = v.credential_for_read(&id("a")).unwrap();
    assert_eq!(format!("{secret:?}"), "Secret(redacted)");
}

fn revoked_never_again<S: RowStore>(rows: S) {
    let mut v = enrolled(rows);
    let at = t0() + Duration::days(3);
    v.revoke(&id("a"), at).unwrap();
    let refused = VelvetError::Revoked {
        connection: id("a"),
        at,
    };
    assert_eq!(v.credential_for_order(&id("a")), Err(refused.clone()));
    assert_eq!(v.credential_for_read(&id("a")), Err(refused.clone()));
    assert_eq!(refused.kind(), adapters::ErrorKind::ReauthRequired);
    // Neither a rotation nor a second revocation brings it back or moves its date.
    assert_eq!(
        v.rotate(&id("a"), &Secret::new("new"), at),
        Err(refused.clone())
    );
    assert_eq!(v.revoke(&id("a"), at + Duration::days(1)), Err(refused));
    assert_eq!(
        v.rows().row(&id("a")).unwrap().unwrap().revoked_at,
        Some(at)
    );
    // The others are untouched.
    assert!(v.credential_for_order(&id("b")).is_ok());
}

fn rotation_due_after_90_days<S: RowStore>(rows: S) {
    let v = enrolled(rows);
    let row = v.rows().row(&id("a")).unwrap().unwrap();
    assert_eq!(row.rotation_due_at, Some(t0() + Duration::days(90)));
    assert_eq!(
        v.rows().row(&id("b")).unwrap().unwrap().rotation_due_at,
        None
    );
    assert_eq!(
        v.rows().row(&id("c")).unwrap().unwrap().rotation_due_at,
        None
    );
    assert!(v
        .rotations_due(t0() + Duration::days(89))
        .unwrap()
        .is_empty());
    assert_eq!(
        v.rotations_due(t0() + Duration::days(90)).unwrap(),
        vec![id("a")]
    );
}

fn rotation_keeps_history<S: RowStore>(rows: S) {
    let mut v = enrolled(rows);
    let at = t0() + Duration::days(91);
    v.rotate(&id("a"), &Secret::new("token-of-a-2"), at)
        .unwrap();
    assert_eq!(
        v.credential_for_order(&id("a")).unwrap().expose(),
        "token-of-a-2"
    );
    assert_eq!(
        v.retired(&id("a")).unwrap(),
        vec![Secret::new("token-of-a")]
    );
    assert_eq!(v.rows().history(&id("a")).unwrap()[0].retired_at, at);
    assert_eq!(
        v.rows().row(&id("a")).unwrap().unwrap().rotation_due_at,
        Some(at + Duration::days(90))
    );
    assert!(v.rotations_due(at).unwrap().is_empty());
    // A rotated Tier C row is still no_order_write.
    v.rotate(&id("c"), &Secret::new("token-of-c-2"), at)
        .unwrap();
    assert!(matches!(
        v.credential_for_order(&id("c")),
        Err(VelvetError::NoOrderWrite { .. })
    ));
}

fn store_refuses_tier_c_without_no_order_write<S: RowStore>(mut rows: S) {
    let row = TokenRow {
        connection_id: id("c2"),
        broker_tier: Tier::C,
        broker_slug: "plaid".into(),
        token_ciphertext: vec![1, 2, 3],
        no_order_write: false,
        revoked_at: None,
        rotation_due_at: None,
    };
    assert!(matches!(rows.insert(row), Err(StoreError::Constraint(_))));
    assert_eq!(rows.row(&id("c2")).unwrap(), None);
}

fn duplicate_refused<S: RowStore>(rows: S) {
    let mut v = enrolled(rows);
    let again = v.enroll(
        &connection("a", "tradier", Tier::A),
        &Secret::new("x"),
        t0(),
    );
    assert_eq!(
        again,
        Err(VelvetError::Store(StoreError::Duplicate(id("a"))))
    );
    assert_eq!(
        v.credential_for_order(&id("a")).unwrap().expose(),
        "token-of-a"
    );
}

#[test]
fn the_database_itself_refuses_to_lift_no_order_write_or_a_revocation() {
    let mut v = enrolled(SqliteRows::in_memory().unwrap());
    v.revoke(&id("b"), t0()).unwrap();
    let db = &v.rows().db;
    for sql in [
        "UPDATE velvet_tokens SET no_order_write = 0 WHERE connection_id = 'c'",
        "UPDATE velvet_tokens SET broker_tier = 'A' WHERE connection_id = 'c'",
        "UPDATE velvet_tokens SET revoked_at = NULL WHERE connection_id = 'b'",
    ] {
        let refused = db.execute(sql, []).unwrap_err();
        assert!(
            matches!(sqlite::database(refused), StoreError::Constraint(_)),
            "{sql}"
        );
    }
    assert!(matches!(
        v.credential_for_order(&id("c")),
        Err(VelvetError::NoOrderWrite { .. })
    ));
}

#[test]
fn a_ciphertext_moved_into_another_row_does_not_open() {
    let v = enrolled(SqliteRows::in_memory().unwrap());
    v.rows()
        .db
        .execute(
            "UPDATE velvet_tokens SET token_ciphertext = \
             (SELECT token_ciphertext FROM velvet_tokens WHERE connection_id = 'c') \
             WHERE connection_id = 'a'",
            [],
        )
        .unwrap();
    assert_eq!(
        v.credential_for_order(&id("a")),
        Err(VelvetError::Unsealable(id("a")))
    );
}

#[test]
fn the_migrations_create_exactly_the_decisions_columns_and_run_once() {
    let dir = std::env::temp_dir().join(format!("velvet-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("velvet.sqlite");
    let _ = std::fs::remove_file(&path);
    {
        let mut v = velvet(SqliteRows::open(&path).unwrap());
        v.enroll(
            &connection("a", "tradier", Tier::A),
            &Secret::new("tok"),
            t0(),
        )
        .unwrap();
        assert_eq!(
            v.rows().columns("velvet_tokens").unwrap(),
            [
                "connection_id",
                "broker_tier",
                "broker_slug",
                "token_ciphertext",
                "no_order_write",
                "revoked_at",
                "rotation_due_at"
            ]
        );
        assert_eq!(
            v.rows().columns("velvet_token_history").unwrap(),
            ["connection_id", "token_ciphertext", "retired_at"]
        );
    }
    // Reopened: the schema is not created twice and the row is still there.
    let v = velvet(SqliteRows::open(&path).unwrap());
    assert_eq!(v.credential_for_order(&id("a")).unwrap().expose(), "tok");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_same_seed_seals_the_same_bytes() {
    let a = enrolled(MemoryRows::new()).rows().rows().unwrap();
    let b = enrolled(SqliteRows::in_memory().unwrap())
        .rows()
        .rows()
        .unwrap();
    assert_eq!(a, b);
}
