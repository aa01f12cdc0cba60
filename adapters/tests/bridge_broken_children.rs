//! The process bridge against children that misbehave on purpose (and one
//! that behaves): whatever the child does, the bridge answers with a typed
//! error in bounded time and never panics.

use std::time::Duration;

use adapters::bridge::{BridgeConfig, ExternalAdapter};
use adapters::{BrokerAdapter, CancelStatus, ErrorKind, Instrument, Order, OrderStatus, Side};
use futures_util::StreamExt;
use rust_decimal_macros::dec;
use serde_json::json;
use tokio::time::Instant;

const SECRET: &str = "sk-very-secret-0042";

/// A fake adapter in Python; `sys.argv[1]` picks how it misbehaves after `describe`.
const FAKE: &str = r#"
import sys, json, os, time
mode = sys.argv[1]
DESC = {"name": "fake", "broker": "fake", "tier": "A", "request_timeout_ms": 200,
        "capabilities": {"equities": True, "options": False, "multi_leg": False, "replace": False,
                         "streaming": False, "read_only": False,
                         "order_types": ["market", "limit"], "time_in_force": ["day"]}}
ORDER = {"broker_order_id": "b-1", "client_order_id": "c-1", "status": "accepted",
         "filled_quantity": "0", "remaining_quantity": "10", "average_fill_price": None,
         "reject_reason": None, "broker_status": "new"}
FILLED = dict(ORDER, status="filled", filled_quantity="10", remaining_quantity="0",
              average_fill_price="189.5", broker_status="filled")
def out(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
def log(s):
    print(s, file=sys.stderr, flush=True)
if mode.startswith("tier_b"):
    DESC["tier"] = "B"
log("fake adapter up in mode " + mode)
for line in sys.stdin:
    req = json.loads(line); rid = req["id"]; m = req["method"]; p = req["params"]
    log("got " + m)
    if m == "describe":
        if mode == "garbage_describe":
            print("Welcome to my adapter!"); sys.stdout.flush(); continue
        out({"jsonrpc": "2.0", "id": rid, "result": DESC}); continue
    if mode == "crash":
        log("Traceback (most recent call last): boom in " + m); sys.exit(7)
    if mode == "garbage":
        print("hello, this is not json at all"); sys.stdout.flush(); continue
    if mode == "wrong_id":
        out({"jsonrpc": "2.0", "id": rid + 100, "result": {}}); continue
    if mode == "no_result":
        out({"jsonrpc": "2.0", "id": rid}); continue
    if mode == "hang":
        time.sleep(3600)
    if mode == "rate_limited":
        out({"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": "slow down",
             "data": {"kind": "rate_limited", "retry_after_ms": 1500, "broker_code": "42910000"}}}); continue
    if mode == "leak":
        log("creds " + os.environ["RAXX_CREDENTIALS"]); print("oops " + os.environ["RAXX_CREDENTIALS"]); sys.stdout.flush(); continue
    if m == "get_order" and p.get("broker_order_id") == "slow":
        time.sleep(1.5)  # past the bridge's deadline: this answer arrives late
    results = {
        "submit_order": ORDER,
        "cancel_order": {"broker_order_id": p.get("broker_order_id"), "status": "canceled"},
        "get_order": FILLED,
        "get_positions": {"positions": [{"account_id": "ACC1", "instrument": {"kind": "equity", "symbol": "AAPL"},
                                         "quantity": "-5", "average_price": "189.5"}]},
        "get_account": {"account_id": "ACC1", "cash": "1000.50", "buying_power": "2001", "equity": "1500"},
        "shutdown": {},
    }
    if mode in ("tier_b", "tier_b_other_account"):
        results["get_holdings"] = {"account_id": "OTHER" if mode == "tier_b_other_account" else "ACC1",
                                   "positions": results["get_positions"]["positions"],
                                   "as_of": "2026-01-05T14:30:00Z"}
    if m in results:
        out({"jsonrpc": "2.0", "id": rid, "result": results[m]})
    else:
        out({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "method not found"}})
    if m == "shutdown":
        log("bye"); sys.exit(0)
"#;

fn config(command: Vec<String>) -> BridgeConfig {
    BridgeConfig {
        command,
        broker: "fake".into(),
        base_url: "http://127.0.0.1:9".into(),
        credentials: json!({"key_id": "PKFAKE0001", "secret_key": SECRET}),
        account_id: "ACC1".into(),
        pace: 1,
        env: Vec::new(),
    }
}

fn fake(mode: &str) -> BridgeConfig {
    config(vec![
        "python3".into(),
        "-c".into(),
        FAKE.into(),
        mode.into(),
    ])
}

async fn spawn(mode: &str) -> ExternalAdapter {
    ExternalAdapter::spawn(fake(mode))
        .await
        .unwrap_or_else(|e| panic!("fake child in mode {mode} did not start: {e}"))
}

fn order() -> Order {
    Order::market("c-1", "AAPL", Side::Buy, dec!(10))
}

/// Fails the test if `fut` takes longer than `limit` (wall time: real children).
async fn bounded<T>(limit: Duration, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, fut)
        .await
        .expect("the bridge answered in bounded time")
}

#[tokio::test]
async fn a_child_that_exits_at_once_is_an_unknown_error_with_its_stderr() {
    let cfg = config(BridgeConfig::shell(
        "echo 'cannot import requests' >&2; exit 3",
    ));
    let err = bounded(Duration::from_secs(10), ExternalAdapter::spawn(cfg))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unknown);
    assert!(err.message.contains("adapter process exited"), "{err}");
    assert!(err.message.contains('3'), "{err}");
    assert!(err.message.contains("cannot import requests"), "{err}");
}

#[tokio::test]
async fn a_command_that_does_not_exist_is_an_error_not_a_panic() {
    let err = ExternalAdapter::spawn(config(vec!["/nonexistent/raxx-adapter".into()]))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unknown);
    let err = ExternalAdapter::spawn(config(vec![])).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unknown);
}

#[tokio::test]
async fn a_child_that_crashes_mid_call_reports_its_exit_and_stderr() {
    let a = spawn("crash").await;
    let err = bounded(Duration::from_secs(10), a.submit_order(&order()))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unknown);
    assert!(err.message.contains("adapter process exited"), "{err}");
    assert!(err.message.contains('7'), "{err}");
    assert!(err.message.contains("boom in submit_order"), "{err}");
    // Later calls fail at once with the same story.
    let again = bounded(Duration::from_secs(1), a.get_account())
        .await
        .unwrap_err();
    assert_eq!(again.kind, ErrorKind::Unknown);
    assert!(again.message.contains("adapter process exited"), "{again}");
}

#[tokio::test]
async fn garbage_is_an_unknown_error_quoting_the_line() {
    let a = spawn("garbage").await;
    let err = bounded(Duration::from_secs(10), a.get_account())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unknown);
    assert!(err.message.contains("hello, this is not json"), "{err}");

    let err = ExternalAdapter::spawn(fake("garbage_describe"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unknown);
    assert!(err.message.contains("Welcome to my adapter"), "{err}");
}

#[tokio::test]
async fn a_wrong_id_or_a_missing_result_is_an_unknown_error() {
    let a = spawn("wrong_id").await;
    let err = bounded(Duration::from_secs(10), a.get_account())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unknown);
    assert!(err.message.contains("while request"), "{err}");

    let a = spawn("no_result").await;
    let err = bounded(Duration::from_secs(10), a.get_order("b-1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unknown);
    assert!(err.message.contains("without a result"), "{err}");
}

#[tokio::test]
async fn a_hanging_child_times_out_in_bounded_time() {
    let a = spawn("hang").await;
    // request_timeout_ms 200 → a read gets 200 ms + the 1 s margin.
    assert_eq!(a.deadline("get_account"), Duration::from_millis(1_200));
    assert_eq!(a.deadline("submit_order"), Duration::from_millis(1_800));
    let started = Instant::now();
    let err = bounded(Duration::from_secs(5), a.get_account())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1_100) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let err = bounded(Duration::from_secs(5), a.submit_order(&order()))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    drop(a); // kills the child
}

#[tokio::test]
async fn a_late_answer_is_discarded_by_id() {
    let a = spawn("ok").await;
    // The child answers this one after 1.5 s; the bridge gives up at 1.2 s.
    let err = a.get_order("slow").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    // The late FILLED order arrives first on the pipe; it must not be taken
    // as the account.
    let acct = bounded(Duration::from_secs(5), a.get_account())
        .await
        .expect("the account, not the late order");
    assert_eq!(acct.account_id, "ACC1");
    assert_eq!(acct.cash, dec!(1000.50));
}

#[tokio::test]
async fn an_adapter_error_with_data_is_typed() {
    let a = spawn("rate_limited").await;
    let err = a.submit_order(&order()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert_eq!(err.retry_after_ms, Some(1500));
    assert_eq!(err.broker_code.as_deref(), Some("42910000"));
    assert_eq!(err.message, "slow down");
}

#[tokio::test]
async fn a_well_behaved_child_round_trips_every_method() {
    let a = spawn("ok").await;
    let d = a.describe();
    assert_eq!(d.name, "fake");
    assert_eq!(d.request_timeout_ms, Some(200));
    assert_eq!(a.account_id(), "ACC1");

    let r = a.submit_order(&order()).await.unwrap();
    assert_eq!(r.status, OrderStatus::Accepted);
    assert_eq!(r.remaining_quantity, dec!(10));
    assert_eq!(r.broker_status, "new");
    let r = a.get_order("b-1").await.unwrap();
    assert_eq!(r.status, OrderStatus::Filled);
    assert_eq!(r.average_fill_price, Some(dec!(189.5)));
    let c = a.cancel_order("b-1").await.unwrap();
    assert_eq!(c.status, CancelStatus::Canceled);
    assert_eq!(c.broker_order_id, "b-1");
    let p = a.get_positions().await.unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].instrument, Instrument::equity("AAPL"));
    assert_eq!(p[0].quantity, dec!(-5));
    let acct = a.get_account().await.unwrap();
    assert_eq!(acct.buying_power, dec!(2001));

    // Stderr is captured line by line.
    let lines = a.stderr_lines();
    assert_eq!(
        lines.first().map(String::as_str),
        Some("fake adapter up in mode ok")
    );
    assert!(lines.iter().any(|l| l == "got get_positions"), "{lines:?}");

    bounded(Duration::from_secs(5), a.shutdown()).await.unwrap();
    let err = a.get_account().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unknown);
}

/// Holdings with their age come only from a Tier B child, which must say
/// it; any other's are its positions, and it is never asked.
#[tokio::test]
async fn a_tier_b_child_says_how_old_its_holdings_are() {
    let a = spawn("ok").await;
    let h = a.get_holdings().await.unwrap();
    assert_eq!((h.positions.len(), h.as_of), (1, None));
    assert!(!a.stderr_lines().iter().any(|l| l == "got get_holdings"));

    let b = spawn("tier_b").await;
    let h = b.get_holdings().await.unwrap();
    assert_eq!(h.as_of.as_deref(), Some("2026-01-05T14:30:00Z"));
    assert_eq!(h.positions[0].quantity, dec!(-5));

    let err = spawn("tier_b_without")
        .await
        .get_holdings()
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unknown, "{err}");
    let err = spawn("tier_b_other_account")
        .await
        .get_holdings()
        .await
        .unwrap_err();
    assert!(err.message.contains("OTHER"), "{err}");
}

#[tokio::test]
async fn order_updates_poll_the_orders_submitted_through_the_bridge() {
    let a = spawn("ok")
        .await
        .with_poll_interval(Duration::from_millis(20));
    let mut updates = a.order_updates().await.unwrap();
    let submitted = a.submit_order(&order()).await.unwrap();
    assert_eq!(submitted.status, OrderStatus::Accepted);
    // The submit's own answer is the first update; polling finds the fill.
    let mut seen = Vec::new();
    while seen.last() != Some(&OrderStatus::Filled) {
        let u = bounded(Duration::from_secs(5), updates.next())
            .await
            .expect("the stream is open")
            .unwrap();
        assert_eq!(u.broker_order_id, "b-1");
        seen.push(u.status);
    }
    assert_eq!(seen, [OrderStatus::Accepted, OrderStatus::Filled]);
    // When the child is gone the stream says so and ends.
    a.shutdown().await.unwrap();
    let last = bounded(Duration::from_secs(5), updates.next()).await;
    assert!(matches!(last, Some(Err(_))), "{last:?}");
    assert!(bounded(Duration::from_secs(5), updates.next())
        .await
        .is_none());
}

#[tokio::test]
async fn credentials_never_reach_errors_stderr_or_debug() {
    let cfg = fake("leak");
    assert!(!format!("{cfg:?}").contains(SECRET));
    let a = ExternalAdapter::spawn(cfg).await.unwrap();
    assert!(!format!("{a:?}").contains(SECRET));
    let err = a.get_account().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unknown);
    assert!(!err.message.contains(SECRET), "{err}");
    assert!(err.message.contains("[redacted]"), "{err}");
    // Stderr is read by its own task: give it a moment to catch up.
    let mut lines = a.stderr_lines();
    for _ in 0..100 {
        if lines.iter().any(|l| l.starts_with("creds")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        lines = a.stderr_lines();
    }
    assert!(lines.iter().any(|l| l.contains("[redacted]")), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains(SECRET)), "{lines:?}");
}
