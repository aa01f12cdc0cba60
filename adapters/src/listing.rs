//! Reconciliation by listing, for brokers that keep no client order id and
//! take a second copy of any order (Schwab, SnapTrade): after an ambiguous
//! submit the only way to find the order is by what it is, among the
//! orders the broker lists for the account.
//!
//! The rule: a listed order is this submit's when the vendor's spec says it
//! is what was sent (each vendor compares its own fields: symbol, side,
//! quantity, order type, time in force, prices), it was placed no earlier
//! than the submit was first sent less the vendor's clock skew, and no
//! other intent of this adapter has claimed its id. Outcomes: exactly one
//! such order is the submit's; none means it never landed and may be sent
//! again; several identical ones cannot be told apart (another app, or the
//! user at the broker, placed the same order in that window): the outcome
//! stays unknown, they are named, and nothing is sent again or picked.
//!
//! The client order id lives in the adapter only ([`Intents`]: broker id →
//! intent), for the orders it placed or found.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use crate::error::{AdapterError, ErrorKind, Result};
use crate::http::{Backoff, Clock};
use crate::reconcile::{submit_reconciled, Duplicates, Lookup};

/// A listed order that is what the submit asked for (the vendor's spec
/// said so), with its broker id and when the broker says it was placed.
pub struct Candidate<O> {
    pub id: String,
    /// Unix ms; None when the broker does not say (such an order cannot be
    /// shown to be recent, so it is not this submit's).
    pub placed_ms: Option<i64>,
    pub order: O,
}

/// The intents of one adapter: which broker order serves which client
/// order id, and when an intent whose submit ended unknown was first sent.
#[derive(Debug, Default)]
pub struct Intents {
    /// Broker order id → client order id.
    owners: Mutex<BTreeMap<String, String>>,
    /// Client order id → when it was first sent (Unix ms): a repeat of an
    /// intent whose outcome is unknown looks for its order from then.
    unresolved: Mutex<BTreeMap<String, i64>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Intents {
    /// The client order id of a broker order (empty when this adapter
    /// neither placed nor found it).
    pub fn client_order_id(&self, broker_order_id: &str) -> String {
        locked(&self.owners)
            .get(broker_order_id)
            .cloned()
            .unwrap_or_default()
    }

    pub fn remember(&self, broker_order_id: &str, client_order_id: &str) {
        locked(&self.owners).insert(broker_order_id.to_string(), client_order_id.to_string());
    }

    /// The broker order that already serves `client_order_id`, if any.
    pub fn order_of(&self, client_order_id: &str) -> Option<String> {
        locked(&self.owners)
            .iter()
            .find(|(_, c)| c.as_str() == client_order_id)
            .map(|(id, _)| id.clone())
    }

    /// The rule's outcome for the candidates a listing gave (see the
    /// module): `from_ms` is the submit's first send less the clock skew.
    /// The one found is remembered as the intent's.
    pub fn claim<O>(
        &self,
        client_order_id: &str,
        from_ms: i64,
        candidates: Vec<Candidate<O>>,
    ) -> Result<Lookup<O>> {
        let mut left: Vec<Candidate<O>> = {
            let owners = locked(&self.owners);
            candidates
                .into_iter()
                .filter(|c| c.placed_ms.is_some_and(|t| t >= from_ms))
                .filter(|c| {
                    owners
                        .get(&c.id)
                        .is_none_or(|owner| owner == client_order_id)
                })
                .collect()
        };
        match left.len() {
            0 => Ok(Lookup::Absent),
            1 => {
                let one = left.remove(0);
                self.remember(&one.id, client_order_id);
                Ok(Lookup::Found(one.order))
            }
            n => {
                let ids: Vec<&str> = left.iter().map(|c| c.id.as_str()).collect();
                Err(AdapterError::unknown(format!(
                    "{n} identical orders were placed since the submit ({}): which one is intent {client_order_id:.60}'s cannot be told; nothing was sent again",
                    ids.join(", ")
                )))
            }
        }
    }

    /// Submits an intent that has no broker order yet. `send` places it
    /// once; `find` lists and claims (both are given the intent's first
    /// send time). An intent whose earlier submit ended unknown is looked
    /// for before anything is sent; after a failure that may have landed
    /// the order is looked for, and sent again only when absent and not
    /// possibly still on its way ([`submit_reconciled`], duplicates possible).
    pub async fn submit<T, S, SF, L, LF>(
        &self,
        clock: &dyn Clock,
        backoff: &Backoff,
        client_order_id: &str,
        mut send: S,
        mut find: L,
    ) -> Result<T>
    where
        S: FnMut(i64) -> SF,
        SF: Future<Output = Result<T>>,
        L: FnMut(i64) -> LF,
        LF: Future<Output = Result<Lookup<T>>>,
    {
        let (first_sent, earlier) = {
            let mut unresolved = locked(&self.unresolved);
            match unresolved.get(client_order_id) {
                Some(&t) => (t, true),
                None => {
                    let now = clock.now_ms();
                    unresolved.insert(client_order_id.to_string(), now);
                    (now, false)
                }
            }
        };
        if earlier {
            if let Lookup::Found(r) = find(first_sent).await? {
                locked(&self.unresolved).remove(client_order_id);
                return Ok(r);
            }
        }
        let placed = submit_reconciled(
            backoff,
            // No client order id: nothing at the broker refuses a second copy.
            Duplicates::Possible,
            || send(first_sent),
            || find(first_sent),
        )
        .await;
        // Only an outcome still unknown keeps the intent's first send time.
        if !matches!(&placed, Err(e) if e.kind == ErrorKind::Timeout || e.kind == ErrorKind::Unknown)
        {
            locked(&self.unresolved).remove(client_order_id);
        }
        placed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::RetryPolicy;
    use std::cell::Cell;

    fn candidate(id: &str, placed_ms: Option<i64>) -> Candidate<String> {
        Candidate {
            id: id.to_string(),
            placed_ms,
            order: id.to_string(),
        }
    }

    #[test]
    fn one_recent_unclaimed_candidate_is_the_order() {
        let intents = Intents::default();
        intents.remember("taken", "intent-a");
        let found = intents
            .claim(
                "intent-b",
                1_000,
                vec![
                    candidate("old", Some(999)),
                    candidate("undated", None),
                    candidate("taken", Some(2_000)),
                    candidate("mine", Some(1_000)),
                ],
            )
            .unwrap();
        assert!(matches!(found, Lookup::Found(ref o) if o == "mine"));
        assert_eq!(intents.client_order_id("mine"), "intent-b");
        assert_eq!(intents.order_of("intent-b").as_deref(), Some("mine"));
        // An order the intent already claimed is still its own.
        let again = intents
            .claim("intent-b", 1_000, vec![candidate("mine", Some(1_000))])
            .unwrap();
        assert!(matches!(again, Lookup::Found(_)));
        assert!(matches!(
            intents
                .claim("intent-c", 1_000, Vec::<Candidate<String>>::new())
                .unwrap(),
            Lookup::Absent
        ));
    }

    #[test]
    fn several_candidates_are_named_and_none_is_picked() {
        let intents = Intents::default();
        let Err(e) = intents.claim(
            "intent",
            0,
            vec![candidate("x-1", Some(5)), candidate("x-2", Some(6))],
        ) else {
            panic!("two candidates cannot be told apart");
        };
        assert_eq!(e.kind, ErrorKind::Unknown);
        assert!(e.message.contains("x-1, x-2"), "{e}");
        assert_eq!(intents.order_of("intent"), None);
    }

    struct At(i64);
    impl Clock for At {
        fn now_ms(&self) -> i64 {
            self.0
        }
    }

    /// An intent whose submit ended unknown is looked for first on its
    /// next submit, from its first send time, and not sent again when found.
    #[tokio::test(start_paused = true)]
    async fn a_repeat_of_an_unknown_intent_looks_before_it_sends() {
        let intents = Intents::default();
        let backoff = Backoff::new(RetryPolicy::default(), 1);
        let sends = Cell::new(0);
        let first: Result<&str> = intents
            .submit(
                &At(100),
                &backoff,
                "intent",
                |_| {
                    sends.set(sends.get() + 1);
                    async { Err(AdapterError::timeout("lost")) }
                },
                |_| async { Ok(Lookup::Absent) },
            )
            .await;
        assert_eq!(first.unwrap_err().kind, ErrorKind::Timeout);
        let asked_from = Cell::new(0);
        let second = intents
            .submit(
                &At(100),
                &backoff,
                "intent",
                |_| {
                    sends.set(sends.get() + 1);
                    async { Ok("sent again") }
                },
                |sent| {
                    asked_from.set(sent);
                    async { Ok(Lookup::Found("found")) }
                },
            )
            .await;
        assert_eq!(second, Ok("found"));
        assert_eq!((sends.get(), asked_from.get()), (1, 100));
        // Settled: a later submit of the intent starts afresh.
        let third = intents
            .submit(
                &At(500),
                &backoff,
                "intent",
                |sent| async move { Ok(if sent == 500 { "fresh" } else { "stale" }) },
                |_| async { Ok(Lookup::Absent) },
            )
            .await;
        assert_eq!(third, Ok("fresh"));
    }
}
