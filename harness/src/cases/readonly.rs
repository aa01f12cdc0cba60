//! Read-only sources (Tier C): what they import is what the institution
//! holds and did — now, after it trades, across pages and repeated imports —
//! and their errors say what the caller can do. The ground truth is the
//! model's ledger: the institution's accounts and the holder's own history.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use adapters::{ErrorKind, Holdings, Position, ReadOnlySource, Transaction, TransactionKind};
use broker_models::brokerage::{HolderActivity, HolderActivityKind, Ledger};
use broker_models::clock::DEFAULT_EPOCH;
use broker_models::faults::FaultPlan;
use mbt::Timestamp;
use rust_decimal::Decimal;

use crate::brokers::READ_PAGE_SIZE;
use crate::case::{expect_kind, unexpected, Body, Case, Failure, Group, Need, Outcome, ReadCtx};
use crate::ensure;
use crate::trace::Actor;

/// An hour of simulated time: cases move the clock in whole hours, so that
/// an institution posting on the hour never lands between two reads.
pub(crate) const HOUR: i64 = 3_600_000;

pub static CASES: &[Case] = &[
    Case {
        id: "holdings_match_the_institution",
        group: Group::State,
        about: "imported holdings equal the institution's positions, with their freshness, as the institution trades",
        needs: &[Need::ReadOnly],
        plan: "",
        run: Body::ReadOnly(|c| Box::pin(holdings_match_the_institution(c))),
    },
    Case {
        id: "reimport_is_idempotent",
        group: Group::State,
        about: "an import of the history holds every transaction of the window once, the institution's own, however often it runs",
        needs: &[Need::ReadOnly],
        plan: "",
        run: Body::ReadOnly(|c| Box::pin(reimport_is_idempotent(c))),
    },
    Case {
        id: "item_login_required_is_reauth",
        group: Group::Faults,
        about: "a connection whose login only its user can repair is reauth_required at once, with no retry",
        needs: &[Need::ReadOnly],
        plan: r#"
[[rules]]
operations = ["positions", "account"]
fault = { kind = "refresh_expiry" }
"#,
        run: Body::ReadOnly(|c| Box::pin(item_login_required_is_reauth(c))),
    },
    Case {
        id: "read_only_errors_are_typed",
        group: Group::Faults,
        about: "data not ready yet is waited for (and unavailable when it stays so), an institution or source that is down is unavailable, a throttle is rate_limited with a wait",
        needs: &[Need::ReadOnly],
        plan: "",
        run: Body::ReadOnly(|c| Box::pin(read_only_errors_are_typed(c))),
    },
];

/// Why imported positions differ from the institution's account in the
/// ledger (quantities exactly; average prices within the cent vendors round to).
pub(crate) fn positions_differ(
    imported: &[Position],
    ledger: &Ledger,
    account: &str,
) -> Option<String> {
    let Some(view) = ledger.accounts.iter().find(|a| a.account_id == account) else {
        return Some(format!("the institution has no account {account}"));
    };
    let truth: BTreeMap<String, (Decimal, Decimal)> = view
        .positions
        .iter()
        .filter(|p| !p.quantity.is_zero())
        .map(|p| (p.instrument.to_string(), (p.quantity, p.average_price)))
        .collect();
    let seen: BTreeMap<String, (Decimal, Decimal)> = imported
        .iter()
        .filter(|p| !p.quantity.is_zero())
        .map(|p| (p.instrument.to_string(), (p.quantity, p.average_price)))
        .collect();
    if let Some(p) = imported.iter().find(|p| p.account_id != account) {
        return Some(format!(
            "{} imported under account {}",
            p.instrument, p.account_id
        ));
    }
    let cent = Decimal::new(1, 2);
    let close =
        |a: &(Decimal, Decimal), b: &(Decimal, Decimal)| a.0 == b.0 && (a.1 - b.1).abs() <= cent;
    let same = truth.len() == seen.len()
        && truth
            .iter()
            .all(|(k, t)| seen.get(k).is_some_and(|s| close(s, t)));
    (!same).then(|| format!("the institution holds {truth:?}; the source imported {seen:?}"))
}

/// When holdings say they are from, or a failure when they do not say.
pub(crate) fn as_of(h: &Holdings) -> Result<Timestamp, Failure> {
    let text = h.as_of.as_deref().ok_or_else(|| {
        Failure::new("the holdings do not say when the institution last updated them")
    })?;
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| Timestamp::from_datetime(t.with_timezone(&chrono::Utc)))
        .map_err(|e| Failure::new(format!("as_of {text:?} is not RFC 3339: {e}")))
}

/// `t` to the whole second: as precisely as sources state when the
/// institution updated (Plaid's datetimes), so the cases compare at that.
pub(crate) fn to_the_second(t: Timestamp) -> Timestamp {
    Timestamp::from_millis(t.millis().div_euclid(1000).saturating_mul(1000))
}

/// The institution's positions in `account` as of `t` (to the second),
/// from the holder's history: quantity per instrument (buys add, sells
/// take away).
pub(crate) fn held_at(ledger: &Ledger, account: &str, t: Timestamp) -> BTreeMap<String, Decimal> {
    let mut held: BTreeMap<String, Decimal> = BTreeMap::new();
    let t = to_the_second(t);
    for a in ledger
        .holder_activity
        .iter()
        .filter(|a| a.account == account && to_the_second(a.time) <= t)
    {
        let Some(i) = &a.instrument else { continue };
        let signed = match a.kind {
            HolderActivityKind::Buy => a.quantity,
            HolderActivityKind::Sell => -a.quantity,
            _ => continue,
        };
        let q = held.entry(i.to_string()).or_default();
        *q = q.saturating_add(signed);
    }
    held.retain(|_, q| !q.is_zero());
    held
}

/// Requests that reached the broker so far (the wire's request lines).
pub(crate) fn requests_sent(c: &ReadCtx) -> usize {
    c.trace
        .entries()
        .iter()
        .filter(|e| e.actor == Actor::Wire && e.text.contains(" <- "))
        .count()
}

async fn holdings_match_the_institution(c: Arc<ReadCtx>) -> Outcome {
    let account = c.source.account_id().to_string();
    for hour in 0..3 {
        if hour > 0 {
            c.venue.advance(HOUR).await?;
        }
        let h = c
            .source
            .get_holdings()
            .await
            .map_err(|e| unexpected("get_holdings", &e))?;
        let ledger = c.venue.ledger().await?;
        ensure!(
            h.account_id == account,
            "holdings of account {} imported for {account}",
            h.account_id
        );
        if let Some(why) = positions_differ(&h.positions, &ledger, &account) {
            return Err(Failure::new(format!("after {hour}h: {why}")));
        }
        // Nothing is cached here: the holdings are as of the institution's
        // latest posting, neither later than now nor older than that posting.
        let updated = as_of(&h)?;
        ensure!(
            updated <= ledger.now,
            "the holdings claim to be from {updated}, after the institution's now {}",
            ledger.now
        );
        if let Some(last) = ledger.holder_activity.iter().map(|a| a.time).max() {
            ensure!(
                updated >= to_the_second(last),
                "after {hour}h the holdings say they are from {updated}, older than the institution's posting at {last}, and nothing is cached"
            );
        }
    }
    Ok(())
}

/// The contract's word for what the holder did.
fn kind_of(a: &HolderActivity) -> TransactionKind {
    match a.kind {
        HolderActivityKind::Contribution => TransactionKind::Transfer,
        HolderActivityKind::Buy => TransactionKind::Buy,
        HolderActivityKind::Sell => TransactionKind::Sell,
        HolderActivityKind::Dividend => TransactionKind::Dividend,
        HolderActivityKind::Fee => TransactionKind::Fee,
    }
}

/// Why an imported transaction is not the institution's entry.
fn entry_differs(t: &Transaction, a: &HolderActivity) -> Option<String> {
    let date = a.time.date().format("%Y-%m-%d").to_string();
    let want = (
        date.as_str(),
        kind_of(a),
        a.instrument.as_ref(),
        a.quantity,
        a.price,
        a.amount,
        a.fees,
    );
    let got = (
        t.date.as_str(),
        t.kind,
        t.instrument.as_ref(),
        t.quantity,
        t.price,
        t.amount,
        t.fees,
    );
    (want != got).then(|| format!("{}: the institution's {want:?}, imported {got:?}", a.id))
}

async fn import(c: &ReadCtx, start: &str, end: &str) -> Result<Vec<Transaction>, Failure> {
    c.source
        .get_transactions(start, end)
        .await
        .map_err(|e| unexpected("get_transactions", &e))
}

/// Hours of the institution's day the history case lets pass: with the
/// opening session, more rows than two pages of the suite's sources hold.
const HISTORY_HOURS: i64 = 5;
/// How many more hours a quiet holder's history may take (a week).
const MORE_HISTORY_HOURS: usize = 7 * 24;

/// Whether an institution entry is old enough to be in a history that
/// runs `lag` days behind `today`.
fn in_history(a: &HolderActivity, today: chrono::NaiveDate, lag: u32) -> bool {
    today
        .checked_sub_days(chrono::Days::new(u64::from(lag)))
        .is_some_and(|horizon| a.time.date() <= horizon)
}

async fn reimport_is_idempotent(c: Arc<ReadCtx>) -> Outcome {
    let account = c.source.account_id().to_string();
    // A source whose history runs days behind (SnapTrade's) is judged on
    // what is that old; today's entries are not its to show yet.
    let lag = c.source.describe().history_lag_days;
    c.venue.advance(HISTORY_HOURS * HOUR).await?;
    let mut ledger = c.venue.ledger().await?;
    // A quiet holder (some seeds trade little on the first day), or a
    // history that lags, gets more of the institution's days, an hour at a
    // time, until what the history can hold crosses three pages.
    let rows = |l: &Ledger| {
        let today = l.now.date();
        l.holder_activity
            .iter()
            .filter(|a| a.account == account && in_history(a, today, lag))
            .count()
    };
    for _ in 0..MORE_HISTORY_HOURS {
        if rows(&ledger) > 2 * READ_PAGE_SIZE {
            break;
        }
        c.venue.advance(HOUR).await?;
        ledger = c.venue.ledger().await?;
    }
    let today = ledger.now.date();
    // Plaid's longest history is 24 months; the window covers it.
    let start = today
        .checked_sub_days(chrono::Days::new(730))
        .unwrap_or(today)
        .format("%Y-%m-%d")
        .to_string();
    let end = today.format("%Y-%m-%d").to_string();
    let first = import(&c, &start, &end).await?;
    let second = import(&c, &start, &end).await?;
    let mut ids: Vec<&str> = first.iter().map(|t| t.transaction_id.as_str()).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    ensure!(
        ids.len() == before,
        "{} duplicate transactions in one import",
        before - ids.len()
    );
    let by_id = |rows: &[Transaction]| -> BTreeMap<String, Transaction> {
        rows.iter()
            .map(|t| (t.transaction_id.clone(), t.clone()))
            .collect()
    };
    ensure!(
        second.len() == first.len() && by_id(&second) == by_id(&first),
        "importing again gave {} transactions, the first import {}",
        second.len(),
        first.len()
    );
    let truth: Vec<&HolderActivity> = ledger
        .holder_activity
        .iter()
        .filter(|a| a.account == account && in_history(a, today, lag))
        .collect();
    ensure!(
        truth.len() > 2 * READ_PAGE_SIZE,
        "the institution's history of {account} has {} transactions: too few to cross three pages of {READ_PAGE_SIZE}",
        truth.len()
    );
    ensure!(
        first.len() == truth.len(),
        "the institution has {} transactions for {account} in {start}..{end} (a history {lag} day(s) behind); the import has {}",
        truth.len(),
        first.len()
    );
    // Each entry of the institution's is one imported transaction, told by
    // what it is (a source's ids are its own: Plaid shows the
    // institution's, SnapTrade its own), none matched twice.
    let mut unmatched: Vec<&Transaction> = first.iter().collect();
    for a in truth {
        match unmatched.iter().position(|t| entry_differs(t, a).is_none()) {
            Some(i) => {
                unmatched.swap_remove(i);
            }
            None => {
                // The nearest candidate says what differs: one on that day.
                let day = a.time.date().format("%Y-%m-%d").to_string();
                let near = unmatched
                    .iter()
                    .find_map(|t| entry_differs(t, a).filter(|_| t.date == day));
                return Err(Failure::new(format!(
                    "transaction {} ({:?}) was not imported{}",
                    a.id,
                    a.kind,
                    near.map(|why| format!("; the nearest: {why}"))
                        .unwrap_or_default()
                )));
            }
        }
    }
    // A window after the last posting holds nothing.
    let tomorrow = today
        .checked_add_days(chrono::Days::new(1))
        .unwrap_or(today)
        .format("%Y-%m-%d")
        .to_string();
    let later = import(&c, &tomorrow, &tomorrow).await?;
    ensure!(
        later.is_empty(),
        "{} transactions dated after today",
        later.len()
    );
    Ok(())
}

async fn item_login_required_is_reauth(c: Arc<ReadCtx>) -> Outcome {
    let before = requests_sent(&c);
    let r = c.source.get_holdings().await;
    expect_kind("get_holdings", &r, ErrorKind::ReauthRequired)?;
    let sent = requests_sent(&c).saturating_sub(before);
    ensure!(
        sent == 1,
        "get_holdings sent {sent} requests for a login only the user can repair"
    );
    let before = requests_sent(&c);
    let r = c.source.get_transactions("2025-01-01", "2026-01-05").await;
    expect_kind("get_transactions", &r, ErrorKind::ReauthRequired)?;
    let sent = requests_sent(&c).saturating_sub(before);
    ensure!(
        sent == 1,
        "get_transactions sent {sent} requests for a login only the user can repair"
    );
    Ok(())
}

/// Replaces the model's fault plan with one rule, for `window` from now
/// (the model counts windows from its start) or for good.
async fn fault_now(c: &ReadCtx, window: Option<Duration>, fault: &str) -> Outcome {
    let until = match window {
        Some(w) => {
            let now = c.venue.ledger().await?.now;
            let elapsed = u64::try_from(now.millis() - DEFAULT_EPOCH.millis()).unwrap_or(0);
            let w = u64::try_from(w.as_millis()).unwrap_or(u64::MAX);
            format!("until_ms = {}\n", elapsed.saturating_add(w))
        }
        None => String::new(),
    };
    let text = format!("[[rules]]\n{until}fault = {fault}\n");
    let plan = FaultPlan::from_toml(&text, "read_only_errors_are_typed")
        .map_err(|e| Failure::new(e.to_string()))?;
    c.venue.set_faults(&plan).await?;
    Ok(())
}

async fn read_only_errors_are_typed(c: Arc<ReadCtx>) -> Outcome {
    // The first calls after a link: not ready for a second and a half. The
    // source waits for the data; it met "not ready" at least once.
    let before = c.venue.faults_applied().await?.len();
    fault_now(
        &c,
        Some(Duration::from_millis(1_500)),
        "{ kind = \"not_ready\" }",
    )
    .await?;
    c.source
        .get_holdings()
        .await
        .map_err(|e| unexpected("get_holdings while the data was being prepared", &e))?;
    let met = c.venue.faults_applied().await?.len().saturating_sub(before);
    ensure!(
        met > 0,
        "the data was ready before the source asked: the case tested nothing"
    );

    // Not ready for longer than a call waits: a transient error, typed.
    fault_now(&c, None, "{ kind = \"not_ready\" }").await?;
    let r = c.source.get_transactions("2025-01-01", "2026-01-05").await;
    expect_kind(
        "get_transactions while the data is not ready",
        &r,
        ErrorKind::Unavailable,
    )?;

    fault_now(&c, None, "{ kind = \"downstream_outage\" }").await?;
    let r = c.source.get_holdings().await;
    expect_kind(
        "get_holdings with the institution down",
        &r,
        ErrorKind::Unavailable,
    )?;

    fault_now(&c, None, "{ kind = \"outage\" }").await?;
    let r = c.source.get_account().await;
    expect_kind(
        "get_account with the source down",
        &r,
        ErrorKind::Unavailable,
    )?;

    fault_now(&c, None, "{ kind = \"rate_limit\" }").await?;
    let r = c.source.get_holdings().await;
    expect_kind("get_holdings while throttled", &r, ErrorKind::RateLimited)?;
    if let Err(e) = &r {
        ensure!(
            e.retry_after_ms.is_some_and(|w| w > 0),
            "a throttle without a wait: the caller cannot know when to come back"
        );
    }
    c.venue.set_faults(&FaultPlan::default()).await?;
    Ok(())
}
