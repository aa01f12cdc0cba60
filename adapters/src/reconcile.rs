//! The retry and reconciliation rules every HTTP adapter follows, written
//! once: reads are retried on transient errors with back-off; a submit that
//! may have reached the broker is looked up (by client order id, tag, or
//! order listing — the vendor decides how) before it is ever sent again, so
//! one intent never becomes two broker orders.

use std::future::Future;
use std::time::Duration;

use crate::contract::{CancelResult, CancelStatus, OrderResult, OrderStatus};
use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::Backoff;

/// Waits out a throttle the broker asked for before sending anything; a
/// wait longer than the policy allows is handed back as `rate_limited`.
async fn respect_hold(backoff: &Backoff) -> Result<()> {
    if let Some(wait) = backoff.held_for() {
        if wait > backoff.policy.max_wait {
            return Err(AdapterError::rate_limited(
                u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "the broker asked for no requests until its rate-limit window resets",
            ));
        }
        tokio::time::sleep(wait).await;
    }
    Ok(())
}

/// Remembers a throttle the broker announced, for every later request.
fn note(backoff: &Backoff, err: &AdapterError) {
    if let (ErrorKind::RateLimited, Some(ms)) = (err.kind, err.retry_after_ms) {
        backoff.hold_for(Duration::from_millis(ms));
    }
}

/// How long to wait before retrying after `err`, or None when it must not be retried.
fn wait_for(backoff: &Backoff, retry: u32, err: &AdapterError) -> Option<Duration> {
    if !err.kind.is_transient() {
        return None;
    }
    let asked = err.retry_after_ms.map(Duration::from_millis);
    if asked.is_some_and(|w| w > backoff.policy.max_wait) {
        // Sleeping that long inside one call would hide the throttle from
        // the caller; report it instead and let the caller schedule.
        return None;
    }
    Some(backoff.delay(retry, asked))
}

/// Runs an idempotent request, retrying transient failures (unavailable,
/// timeout, rate limited) with back-off, honouring the broker's requested wait.
pub async fn retry_read<T, F, Fut>(backoff: &Backoff, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        respect_hold(backoff).await?;
        let e = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        note(backoff, &e);
        match wait_for(backoff, attempts, &e) {
            Some(wait) if backoff.may_retry(attempts) => tokio::time::sleep(wait).await,
            _ => return Err(e),
        }
    }
}

/// What a lookup after an ambiguous submit found.
pub enum Lookup<T> {
    Found(T),
    /// The broker has no order for this intent: it is safe to send again.
    Absent,
}

/// Whether a broker refuses a second order under a client id it already
/// holds: what makes sending again after a timeout safe or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// The broker refuses the second (Alpaca's unique `client_order_id`):
    /// a resend can never become a second order.
    Refused,
    /// Nothing stops a second order (Tradier's `tag`, tastytrade's
    /// `external-identifier`, Schwab with no client id at all).
    Possible,
}

/// Submits with reconciliation. `send` places the order once; `lookup`
/// asks the broker whether an order for this intent exists. After any
/// transient failure of `send` the order is looked up first, and only sent
/// again when the broker is known not to have it. When the broker cannot be
/// asked, the error stays ambiguous (`timeout`) rather than risking a duplicate.
///
/// A timed-out request may still be on its way and land after the lookup
/// (a slow broker commits what it received): absent is no proof. Where
/// `duplicates` are possible, such an order is not sent again; the outcome
/// is reported unknown (`timeout`), and the caller's later submit of the
/// same intent looks it up again first.
pub async fn submit_reconciled<T, S, SF, L, LF>(
    backoff: &Backoff,
    duplicates: Duplicates,
    mut send: S,
    mut lookup: L,
) -> Result<T>
where
    S: FnMut() -> SF,
    SF: Future<Output = Result<T>>,
    L: FnMut() -> LF,
    LF: Future<Output = Result<Lookup<T>>>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        respect_hold(backoff).await?;
        let err = match send().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        note(backoff, &err);
        let Some(wait) = wait_for(backoff, attempts, &err) else {
            return Err(err);
        };
        // A rate limit or a refused connection means the broker did not take
        // the order; anything else (a timeout, a dropped connection, a 5xx)
        // may have been committed before the answer was lost.
        let may_have_landed = !matches!(err.kind, ErrorKind::RateLimited);
        if may_have_landed {
            match retry_read(backoff, &mut lookup).await {
                Ok(Lookup::Found(v)) => return Ok(v),
                Ok(Lookup::Absent)
                    if err.kind == ErrorKind::Timeout && duplicates == Duplicates::Possible =>
                {
                    return Err(AdapterError::timeout(format!(
                        "the order's outcome is unknown: {err}; the broker does not hold it yet, but the request may still land, and the broker would take a second copy, so it was not sent again"
                    )))
                }
                Ok(Lookup::Absent) => {}
                Err(lookup_err) => {
                    return Err(AdapterError::timeout(format!(
                        "the order's outcome is unknown: {err}; and the broker could not be asked ({lookup_err})"
                    )))
                }
            }
        }
        if !backoff.may_retry(attempts) {
            return Err(err);
        }
        tokio::time::sleep(wait).await;
    }
}

/// Sends a replace (or modify) once. A replace is not idempotent, so
/// nothing ambiguous is resent: only a rate limit (the broker did not take
/// the request) is retried with back-off. After a timeout, a broken
/// connection or a 5xx the outcome is unknown, and `read_back` decides it
/// from the order itself (it answers the replacement when the order shows
/// the changes, else the error, still unknown).
pub async fn replace_once<T, S, SF, R, RF>(
    backoff: &Backoff,
    mut send: S,
    read_back: R,
) -> Result<T>
where
    S: FnMut() -> SF,
    SF: Future<Output = Result<T>>,
    R: FnOnce(AdapterError) -> RF,
    RF: Future<Output = Result<T>>,
{
    // retry_read retries what it sees as a transient error; only a rate
    // limit is shown to it as one, every other outcome passes through.
    let sent = retry_read(backoff, || {
        let attempt = send();
        async move {
            match attempt.await {
                Err(e) if e.kind == ErrorKind::RateLimited => Err(e),
                outcome => Ok(outcome),
            }
        }
    })
    .await;
    match sent.and_then(|outcome| outcome) {
        Err(e) if matches!(e.kind, ErrorKind::Timeout | ErrorKind::Unavailable) => {
            read_back(e).await
        }
        outcome => outcome,
    }
}

/// The original order, read back after a replace whose outcome is
/// unknown; when even that fails the outcome stays unknown (`err`, with why).
pub async fn original_or_unknown<T>(
    err: &AdapterError,
    id: &str,
    read: impl Future<Output = Result<T>>,
) -> Result<T> {
    read.await
        .map_err(|e| still_unknown(err, format!("order {id} could not be read back ({e})")))
}

/// A replace's outcome, with a refusal because the order is no longer
/// working made `rejected`: vendors answer it with their cancel refusal
/// (Tradier's "finalized", tastytrade's `cannot_update_order`, Schwab's),
/// which reads as too late to cancel; for a replace the order is unchanged
/// and no cancel was asked for.
pub fn replace_refused<T>(vendor: &str, id: &str, outcome: Result<T>) -> Result<T> {
    match outcome {
        Err(e) if e.kind == ErrorKind::TooLateToCancel => Err(AdapterError {
            kind: ErrorKind::Rejected,
            message: format!("{vendor} cannot replace order {id}: {}", e.message),
            ..e
        }),
        outcome => outcome,
    }
}

/// The broker took a replace, and reading the result back failed: the
/// outcome is known, so the read's transient error is `unknown` (retrying
/// the replace would change the order twice). `what` says what was done.
pub fn read_back_failed(what: String, e: AdapterError) -> AdapterError {
    AdapterError {
        message: format!(
            "{what}, but the order could not be read back: {}",
            e.message
        ),
        kind: if e.kind.is_transient() {
            ErrorKind::Unknown
        } else {
            e.kind
        },
        ..e
    }
}

/// The error for a replace whose outcome the order read back cannot tell:
/// the original error, with why it stays unknown.
pub fn still_unknown(err: &AdapterError, why: impl std::fmt::Display) -> AdapterError {
    AdapterError {
        message: format!("{}; {why}", err.message),
        ..err.clone()
    }
}

/// After a cancel refused as too late: the order's own state decides. One
/// already canceled makes the second cancel a success (cancels are
/// idempotent); any other final state is too late, said with the state.
pub async fn cancel_refused<F, Fut>(
    broker_order_id: &str,
    refusal: AdapterError,
    read: F,
) -> Result<CancelResult>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<OrderResult>>,
{
    match read().await {
        Ok(o) if o.status == OrderStatus::Canceled => Ok(CancelResult {
            broker_order_id: broker_order_id.to_string(),
            status: CancelStatus::Canceled,
        }),
        Ok(o) => Err(AdapterError {
            message: format!("order {broker_order_id} is already {}", o.broker_status),
            ..refusal
        }),
        Err(_) => Err(refusal),
    }
}

/// A cancel whose answer only says the request was taken (Alpaca's 204,
/// Tradier's `ok`, Schwab's empty 200): cancels are asynchronous, so the
/// order read back says where it stands. A cancel refused as too late is
/// settled by [`cancel_refused`]; an order that reached another final
/// state first is too late, said with that state.
pub async fn cancel_settled<F, Fut>(
    broker_order_id: &str,
    sent: Result<()>,
    read: F,
) -> Result<CancelResult>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<OrderResult>>,
{
    match sent {
        Ok(()) => {}
        Err(e) if e.kind == ErrorKind::TooLateToCancel => {
            return cancel_refused(broker_order_id, e, &read).await
        }
        Err(e) => return Err(e),
    }
    let status = match read().await {
        Ok(o) if o.status == OrderStatus::Canceled => CancelStatus::Canceled,
        Ok(o) if o.status.is_terminal() => {
            return Err(AdapterError::new(
                ErrorKind::TooLateToCancel,
                format!(
                    "order {broker_order_id} became {} before the cancel took effect",
                    o.broker_status
                ),
            ))
        }
        // Not final yet, or not readable now: the cancel is on its way.
        _ => CancelStatus::PendingCancel,
    };
    Ok(CancelResult {
        broker_order_id: broker_order_id.to_string(),
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::RetryPolicy;
    use std::cell::Cell;

    fn backoff() -> Backoff {
        Backoff::new(RetryPolicy::default(), 1)
    }

    #[tokio::test(start_paused = true)]
    async fn reads_retry_transient_errors_and_stop_on_others() {
        let calls = Cell::new(0);
        let r = retry_read(&backoff(), || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 3 {
                    Err(AdapterError::unavailable("down"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r, Ok(3));
        calls.set(0);
        let r: Result<()> = retry_read(&backoff(), || {
            calls.set(calls.get() + 1);
            async { Err(AdapterError::not_found("no")) }
        })
        .await;
        assert_eq!(r.unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_told_to_one_call_holds_back_the_next() {
        let b = backoff();
        let r: Result<()> = retry_read(&b, || async {
            Err(AdapterError::rate_limited(60_000, "slow down"))
        })
        .await;
        assert_eq!(r.unwrap_err().kind, ErrorKind::RateLimited);
        // The next call does not reach the broker while the window is closed.
        let sent = Cell::new(0);
        let r = retry_read(&b, || {
            sent.set(sent.get() + 1);
            async { Ok(1) }
        })
        .await;
        assert_eq!(r.unwrap_err().kind, ErrorKind::RateLimited);
        assert_eq!(sent.get(), 0);
        // A short throttle is waited out, then the call goes through.
        let short = backoff();
        short.hold_for(Duration::from_millis(1500));
        let start = tokio::time::Instant::now();
        assert_eq!(retry_read(&short, || async { Ok(2) }).await, Ok(2));
        assert_eq!(start.elapsed(), Duration::from_millis(1500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_retry_after_is_reported_not_slept() {
        let r: Result<()> = retry_read(&backoff(), || async {
            Err(AdapterError::rate_limited(60_000, "slow down"))
        })
        .await;
        assert_eq!(r.unwrap_err().retry_after_ms, Some(60_000));
    }

    #[tokio::test(start_paused = true)]
    async fn an_ambiguous_submit_is_found_not_resent() {
        let sends = Cell::new(0);
        let r = submit_reconciled(
            &backoff(),
            Duplicates::Possible,
            || {
                sends.set(sends.get() + 1);
                async { Err::<&str, _>(AdapterError::timeout("lost")) }
            },
            || async { Ok(Lookup::Found("the order")) },
        )
        .await;
        assert_eq!(r, Ok("the order"));
        assert_eq!(sends.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_absent_order_is_sent_again_and_unanswerable_lookups_stay_ambiguous() {
        let sends = Cell::new(0);
        let r = submit_reconciled(
            &backoff(),
            Duplicates::Possible,
            || {
                sends.set(sends.get() + 1);
                let n = sends.get();
                async move {
                    if n == 1 {
                        Err(AdapterError::unavailable("503"))
                    } else {
                        Ok(n)
                    }
                }
            },
            || async { Ok(Lookup::Absent) },
        )
        .await;
        assert_eq!(r, Ok(2));

        sends.set(0);
        let r = submit_reconciled(
            &backoff(),
            Duplicates::Possible,
            || {
                sends.set(sends.get() + 1);
                async { Err::<(), _>(AdapterError::timeout("lost")) }
            },
            || async { Err(AdapterError::unavailable("still down")) },
        )
        .await;
        assert_eq!(r.unwrap_err().kind, ErrorKind::Timeout);
        assert_eq!(sends.get(), 1, "never resent without knowing");
    }

    /// A timed-out submit may still land after the lookup: only a broker
    /// that refuses a second copy is sent it again.
    #[tokio::test(start_paused = true)]
    async fn a_timed_out_submit_is_resent_only_where_duplicates_are_refused() {
        for (duplicates, resent) in [(Duplicates::Refused, true), (Duplicates::Possible, false)] {
            let sends = Cell::new(0);
            let r = submit_reconciled(
                &backoff(),
                duplicates,
                || {
                    sends.set(sends.get() + 1);
                    let n = sends.get();
                    async move {
                        if n == 1 {
                            Err(AdapterError::timeout("no answer"))
                        } else {
                            Ok(n)
                        }
                    }
                },
                || async { Ok(Lookup::Absent) },
            )
            .await;
            if resent {
                assert_eq!(r, Ok(2));
            } else {
                let e = r.unwrap_err();
                assert_eq!(e.kind, ErrorKind::Timeout);
                assert!(e.message.contains("not sent again"), "{e}");
                assert_eq!(sends.get(), 1);
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_replace_is_sent_once_and_an_unknown_outcome_is_read_back() {
        let sends = Cell::new(0);
        let r = replace_once(
            &backoff(),
            || {
                sends.set(sends.get() + 1);
                let n = sends.get();
                async move {
                    if n == 1 {
                        Err(AdapterError::rate_limited(100, "429"))
                    } else {
                        Err::<&str, _>(AdapterError::timeout("lost"))
                    }
                }
            },
            |e| async move { Err(still_unknown(&e, "the order does not show the changes")) },
        )
        .await;
        let e = r.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(e.message.ends_with("does not show the changes"), "{e}");
        assert_eq!(sends.get(), 2, "a 429 is retried, a timeout never resent");
        let r = replace_once(
            &backoff(),
            || async { Err::<&str, _>(AdapterError::rejected("not open")) },
            |_| async { Ok("read back") },
        )
        .await;
        assert_eq!(r.unwrap_err().kind, ErrorKind::Rejected);
    }

    #[tokio::test(start_paused = true)]
    async fn rejections_are_not_retried() {
        let sends = Cell::new(0);
        let r = submit_reconciled(
            &backoff(),
            Duplicates::Possible,
            || {
                sends.set(sends.get() + 1);
                async { Err::<(), _>(AdapterError::rejected("buying power")) }
            },
            || async { Ok(Lookup::Absent) },
        )
        .await;
        assert_eq!(r.unwrap_err().kind, ErrorKind::Rejected);
        assert_eq!(sends.get(), 1);
    }
}
