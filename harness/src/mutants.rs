//! Mutants: deliberately broken adapters, each a wrapper that injects one
//! known bug into a good adapter (one that trades, or a read-only source:
//! `source`), or, for a vendor's own trap, replaces one call with one that
//! falls into it (`location`). A path mutant leaves the adapter alone and
//! builds the gateway's order path around it with one bug in one of its
//! parts (`Wrap::Path`). The suite must catch every one of them; the
//! mutation score says how many it caught.

mod location;
mod source;

use std::sync::Arc;
use std::time::Duration;

use adapters::http::HttpSetup;
use adapters::{
    Account, AdapterError, BrokerAdapter, CancelResult, CancelStatus, Description, ErrorKind,
    Holdings, Order, OrderResult, OrderStatus, OrderUpdates, Position, ReadOnlySource, Side,
};
use async_trait::async_trait;
use futures_util::StreamExt;

use crate::brokers::Built;
use crate::error::CannotBreak;
use crate::order_path::PathFlaw;
use crate::world::ClientEnv;

pub struct Mutant {
    pub id: &'static str,
    pub about: &'static str,
    /// The case written to catch this bug (others may catch it too).
    pub caught_by: &'static str,
    pub wrap: Wrap,
    /// Which adapters the bug can break from outside: a wrapper's bug is
    /// invisible when the adapter inside already prevents its effect.
    pub breaks: fn(&Description) -> bool,
}

/// What a mutant wraps: an adapter that trades, or a read-only source.
#[derive(Clone, Copy)]
pub enum Wrap {
    /// `env` is how the world's client reaches its brokers, for a mutant
    /// that speaks a wire itself (`location`).
    Trading(fn(Arc<dyn BrokerAdapter>, &ClientEnv) -> Arc<dyn BrokerAdapter>),
    /// A read-only source's bug, with the source's own way to its broker
    /// (a bug in a source's code can send whatever it likes there).
    ReadOnly(fn(Arc<dyn ReadOnlySource>, Reach) -> Arc<dyn ReadOnlySource>),
    /// A bug of the order path the tiers cases build around any adapter.
    Path(PathFlaw),
}

/// How the adapter under test reaches its broker: the connection's base
/// URL and the transport it was built with.
#[derive(Clone)]
pub struct Reach {
    pub base_url: String,
    pub setup: HttpSetup,
}

impl Mutant {
    /// The adapter with this mutant's bug in it, or why the bug cannot
    /// break it (the reason starts "the mutant cannot break").
    /// The order path's bug, for a path mutant.
    pub fn flaw(&self) -> Option<PathFlaw> {
        match self.wrap {
            Wrap::Path(flaw) => Some(flaw),
            _ => None,
        }
    }

    pub fn apply(
        &self,
        built: Built,
        reach: Option<Reach>,
        env: &ClientEnv,
    ) -> Result<Built, CannotBreak> {
        apply(self.wrap, self.breaks, built, reach, env)
    }
}

/// [`Mutant::apply`] from its parts (a world's client takes them along).
pub fn apply(
    wrap: Wrap,
    breaks: fn(&Description) -> bool,
    built: Built,
    reach: Option<Reach>,
    env: &ClientEnv,
) -> Result<Built, CannotBreak> {
    let d = built.describe();
    let cannot = |why: String| {
        Err(CannotBreak {
            adapter: d.name.clone(),
            why,
        })
    };
    if !breaks(&d) {
        return match wrap {
            Wrap::Path(_) => cannot(format!(
                "the bug is in a part of the order path that {} never reaches",
                d.name
            )),
            _ => cannot("the adapter already prevents the bug's effect".into()),
        };
    }
    match (wrap, built) {
        (Wrap::Trading(w), Built::Trading(a)) => Ok(Built::Trading(w(a, env))),
        (Wrap::Trading(_), Built::ReadOnly(_)) => cannot(format!(
            "it is a bug of adapters that trade, and {} is a read-only source",
            d.name
        )),
        (Wrap::ReadOnly(_), Built::Trading(_)) => cannot(format!(
            "it is a bug of read-only sources, and {} trades",
            d.name
        )),
        // The adapter is sound; the path built around it is not.
        (Wrap::Path(_), built) => Ok(built),
        (Wrap::ReadOnly(w), Built::ReadOnly(s)) => match reach {
            Some(reach) => Ok(Built::ReadOnly(w(s, reach))),
            None => cannot("the source has no broker to reach".into()),
        },
    }
}

fn any(_: &Description) -> bool {
    true
}

/// Bugs of what stands between Raxx and an aggregator's brokerages.
fn tier_b(d: &Description) -> bool {
    d.tier == adapters::Tier::B
}

pub static MUTANTS: &[Mutant] = &[
    Mutant {
        id: "resubmit_after_timeout",
        caught_by: "ambiguous_submit_never_duplicates",
        about: "gives up on a slow submit and sends the intent again under a fresh id, without reconciling",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::ResubmitAfterTimeout))),
        breaks: any,
    },
    Mutant {
        id: "resends_timed_out_submit",
        caught_by: "latency_beyond_timeout_reconciles",
        about: "sends a timed-out submit again at once under the same id, though the first may still land",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::ResendsTimedOutSubmit))),
        // Where the vendor refuses a second order under a client order id
        // it holds (Alpaca), the resend is harmless; others take the copy.
        breaks: |d| {
            broker_models::vendor::vendor(&d.broker).map_or(true, |v| !v.unique_client_ids)
        },
    },
    Mutant {
        id: "filled_on_first_partial",
        caught_by: "partial_fills_accumulate",
        about: "reports an order filled at its first partial fill",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::FilledOnFirstPartial))),
        breaks: any,
    },
    Mutant {
        id: "drops_retry_after",
        caught_by: "rate_limit_backs_off_and_recovers",
        about: "hands a long throttle back without saying how long to wait (no retry_after_ms)",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::DropsRetryAfter))),
        breaks: any,
    },
    Mutant {
        id: "too_late_cancel_is_success",
        caught_by: "cancel_after_fill_is_too_late",
        about: "treats a cancel that came too late as a successful cancel",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::TooLateCancelIsSuccess))),
        breaks: any,
    },
    Mutant {
        id: "drops_average_price",
        caught_by: "average_price_is_quantity_weighted",
        about: "loses the average fill price",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::DropsAveragePrice))),
        breaks: any,
    },
    Mutant {
        id: "retries_expired_credentials",
        caught_by: "refresh_expiry_requires_reauth",
        about: "keeps retrying with credentials the broker refused",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::RetriesExpiredCredentials))),
        // An OAuth adapter's token source remembers a refused refresh and
        // sends nothing more: the wrapper's retries never reach the broker.
        breaks: |d| !d.capabilities.token_refresh,
    },
    Mutant {
        id: "loses_short_sign",
        caught_by: "short_from_flat",
        about: "reports short positions as long (quantity without its sign)",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::LosesShortSign))),
        // No short position to lose the sign of where shorting is not offered.
        breaks: |d| d.capabilities.short_selling,
    },
    Mutant {
        id: "unknown_order_is_auth_error",
        caught_by: "unknown_order_is_not_found",
        about: "reads a refusal of an unknown order id as dead credentials (Tradier's 401 \"Unauthorized Account\")",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::UnknownOrderIsAuthError))),
        breaks: any,
    },
    Mutant {
        id: "books_submit_answer_as_fill",
        caught_by: "acceptance_is_not_a_fill",
        about: "reports a market order filled from the submit answer, before the broker filled it",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::BooksSubmitAsFill))),
        breaks: any,
    },
    Mutant {
        id: "sends_bracket_as_simple",
        caught_by: "bracket_exits_work_after_the_entry_fills",
        about: "drops a bracket's take-profit and stop-loss and sends the entry alone",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::SendsBracketAsSimple))),
        breaks: |d| d.capabilities.brackets,
    },
    Mutant {
        id: "ignores_location",
        caught_by: "ambiguous_submit_never_duplicates",
        about: "never reads the order id from a Schwab 201's Location: a 201 that never arrives is taken for a failed submit, and the order is sent again",
        wrap: Wrap::Trading(location::wrap),
        // Schwab's wire: its place answers 201 with the id only in Location.
        breaks: |d| d.broker == broker_models::schwab::VENDOR.slug,
    },
    Mutant {
        id: "loses_credit_sign",
        caught_by: "multi_leg_credit_spread",
        about: "sends a net-credit spread as a net debit at the same price (a credit price-effect that lost its sign)",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::LosesCreditSign))),
        breaks: |d| d.capabilities.multi_leg,
    },
    Mutant {
        id: "fits_id_to_a_tag",
        caught_by: "unusual_client_ids_reconcile",
        about: "makes the caller's id fit a vendor tag by overwriting what the tag cannot hold (`a_b` becomes `a-b`): the order is no longer found under the caller's id",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::FitsIdToATag))),
        breaks: any,
    },
    Mutant {
        id: "ignores_late_rejection",
        caught_by: "rejection_after_acceptance_is_surfaced",
        about: "keeps reporting an order working after the broker rejected it",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::IgnoresLateRejection))),
        breaks: any,
    },
    // Through an aggregator (Tier B).
    Mutant {
        id: "broken_connection_as_outage",
        caught_by: "downstream_connection_broken_is_typed",
        about: "reports a broken connection behind the aggregator as a passing outage: the user is told to wait, not to reconnect",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::BrokenConnectionAsOutage))),
        breaks: tier_b,
    },
    Mutant {
        id: "outage_as_refusal",
        caught_by: "aggregator_outage_is_transitive",
        about: "reports the aggregator's outage (or an outcome it left unknown) as the broker refusing the order",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::OutageAsRefusal))),
        breaks: tier_b,
    },
    Mutant {
        id: "drops_holdings_age",
        caught_by: "stale_holdings_report_their_age",
        about: "drops the age of holdings read through the aggregator's cache, so cached holdings pass for current",
        wrap: Wrap::Trading(|a, _| Arc::new(Bug::new(a, Kind::DropsHoldingsAge))),
        breaks: tier_b,
    },
    // Read-only sources (Tier C).
    Mutant {
        id: "imports_stale_as_current",
        caught_by: "stale_holdings_report_their_age",
        about: "drops when the institution last updated the holdings, so data from a cache passes for current",
        wrap: Wrap::ReadOnly(|s, r| source::wrap(s, r, source::Bug::DropsAsOf)),
        breaks: any,
    },
    Mutant {
        id: "options_in_shares",
        caught_by: "holdings_match_the_institution",
        about: "imports option holdings in shares (a vendor's shares-equivalent) instead of contracts",
        wrap: Wrap::ReadOnly(|s, r| source::wrap(s, r, source::Bug::OptionsInShares)),
        breaks: |d| d.capabilities.options,
    },
    Mutant {
        id: "skips_a_page",
        caught_by: "reimport_is_idempotent",
        about: "loses the second page of the transaction history (its offset moved twice)",
        wrap: Wrap::ReadOnly(|s, r| source::wrap(s, r, source::Bug::SkipsAPage)),
        breaks: any,
    },
    Mutant {
        id: "repeats_a_page",
        caught_by: "reimport_is_idempotent",
        about: "imports the first page of the transaction history twice (no de-duplication by id)",
        wrap: Wrap::ReadOnly(|s, r| source::wrap(s, r, source::Bug::RepeatsAPage)),
        breaks: any,
    },
    Mutant {
        id: "login_required_as_expired",
        caught_by: "item_login_required_is_reauth",
        about: "reports a login only its user can repair as an expired token (auth_expired, not reauth_required)",
        wrap: Wrap::ReadOnly(|s, r| source::wrap(s, r, source::Bug::LoginRequiredAsExpired)),
        breaks: any,
    },
    Mutant {
        id: "retries_login_required",
        caught_by: "item_login_required_is_reauth",
        about: "keeps asking with a login the institution refused",
        wrap: Wrap::ReadOnly(|s, r| source::wrap(s, r, source::Bug::RetriesLoginRequired)),
        breaks: any,
    },
    Mutant {
        id: "source_throttle_without_wait",
        caught_by: "read_only_errors_are_typed",
        about: "hands a throttle back without saying how long to wait (no retry_after_ms)",
        wrap: Wrap::ReadOnly(|s, r| source::wrap(s, r, source::Bug::ThrottleWithoutWait)),
        breaks: any,
    },
    Mutant {
        id: "unavailable_as_unknown",
        caught_by: "read_only_errors_are_typed",
        about: "reports a source or institution that cannot answer now (down, data not ready) as an unknown error, not unavailable",
        wrap: Wrap::ReadOnly(|s, r| source::wrap(s, r, source::Bug::UnavailableAsUnknown)),
        breaks: any,
    },
    Mutant {
        id: "reaches_for_an_order",
        caught_by: "read_only_never_places_orders",
        about: "sends an order-shaped request to its broker on its own (a rebalance bolted onto an import)",
        wrap: Wrap::ReadOnly(|s, r| source::wrap(s, r, source::Bug::ReachesForAnOrder)),
        breaks: any,
    },
    Mutant {
        id: "kill_switch_stops_paper",
        caught_by: "kill_switch_refuses_exactly_its_scope",
        about: "order path: the kill switches stop paper orders too",
        wrap: Wrap::Path(PathFlaw::KillSwitchStopsPaper),
        breaks: trades,
    },
    Mutant {
        id: "kill_switch_stops_cancels",
        caught_by: "kill_switch_refuses_exactly_its_scope",
        about: "order path: the kill switches stop cancels too, trapping users in live orders",
        wrap: Wrap::Path(PathFlaw::KillSwitchStopsCancels),
        breaks: trades,
    },
    Mutant {
        id: "tier_c_refused_only_above_the_store",
        caught_by: "tier_c_refused_in_the_store",
        about: "order path: the token store forgot no_order_write, leaving Tier C to its callers",
        wrap: Wrap::Path(PathFlaw::TierCOnlyAboveTheStore),
        breaks: |d| d.capabilities.read_only,
    },
    Mutant {
        id: "audit_after_the_broker",
        caught_by: "audit_entry_before_broker",
        about: "order path: the audit sink writes an entry when the next one comes, after the broker saw the order",
        wrap: Wrap::Path(PathFlaw::AuditAfterTheBroker),
        breaks: trades,
    },
    Mutant {
        id: "forgets_revocations",
        caught_by: "revoked_token_never_reaches_a_broker",
        about: "order path: the token store reads rows without their revocation",
        wrap: Wrap::Path(PathFlaw::ForgetsRevocations),
        breaks: trades,
    },
    Mutant {
        id: "nets_the_household",
        caught_by: "household_never_netted",
        about: "order path: a sell goes to whichever account of the household holds the shares",
        wrap: Wrap::Path(PathFlaw::NetsTheHousehold),
        breaks: trades,
    },
    Mutant {
        id: "one_outage_stops_all",
        caught_by: "aggregator_outage_spares_tier_a",
        about: "order path: one broker's outage trips a breaker that stops every connection",
        wrap: Wrap::Path(PathFlaw::OneOutageStopsAll),
        breaks: trades,
    },
    Mutant {
        id: "skips_broker_revoke",
        caught_by: "revoked_token_never_reaches_a_broker",
        about: "order path: a revocation marks the token store only, and the grant still works at the vendor",
        wrap: Wrap::Path(PathFlaw::SkipsBrokerRevoke),
        breaks: revocable,
    },
    Mutant {
        id: "rewrites_live_orders",
        caught_by: "rules_fire_alike_everywhere",
        about: "order path: the rules' orders are changed on their way to a broker (one more share than fired)",
        wrap: Wrap::Path(PathFlaw::RewritesLiveOrders),
        breaks: trades,
    },
];

/// Where a revocation has a vendor to reach: a vendor with a revoke
/// (Plaid, SnapTrade).
fn revocable(d: &Description) -> bool {
    broker_models::vendor::vendor(&d.broker).is_ok_and(|v| v.revocable)
}

/// Bugs of the order path's live side: a read-only source has none.
fn trades(d: &Description) -> bool {
    !d.capabilities.read_only
}

pub fn find(id: &str) -> Option<&'static Mutant> {
    MUTANTS.iter().find(|m| m.id == id)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ResubmitAfterTimeout,
    ResendsTimedOutSubmit,
    FilledOnFirstPartial,
    DropsRetryAfter,
    TooLateCancelIsSuccess,
    DropsAveragePrice,
    RetriesExpiredCredentials,
    LosesShortSign,
    UnknownOrderIsAuthError,
    BooksSubmitAsFill,
    SendsBracketAsSimple,
    IgnoresLateRejection,
    LosesCreditSign,
    FitsIdToATag,
    BrokenConnectionAsOutage,
    OutageAsRefusal,
    DropsHoldingsAge,
}

struct Bug {
    inner: Arc<dyn BrokerAdapter>,
    kind: Kind,
}

impl Bug {
    fn new(inner: Arc<dyn BrokerAdapter>, kind: Kind) -> Self {
        Self { inner, kind }
    }

    /// What every order result goes through on its way out.
    fn result(kind: Kind, mut r: OrderResult) -> OrderResult {
        match kind {
            Kind::FilledOnFirstPartial if r.status == OrderStatus::PartiallyFilled => {
                r.status = OrderStatus::Filled;
            }
            Kind::DropsAveragePrice => r.average_fill_price = None,
            Kind::IgnoresLateRejection if r.status == OrderStatus::Rejected => {
                r.status = OrderStatus::Accepted;
                r.reject_reason = None;
            }
            _ => {}
        }
        r
    }

    fn results(&self, r: Result<OrderResult, AdapterError>) -> Result<OrderResult, AdapterError> {
        self.errors(r.map(|r| Self::result(self.kind, r)))
    }

    /// What every error on an order's id goes through on its way out.
    fn errors<T>(&self, r: Result<T, AdapterError>) -> Result<T, AdapterError> {
        r.map_err(|mut e| {
            e.kind = match (self.kind, e.kind) {
                (Kind::UnknownOrderIsAuthError, ErrorKind::NotFound) => ErrorKind::ReauthRequired,
                (Kind::OutageAsRefusal, ErrorKind::Unavailable | ErrorKind::Timeout) => {
                    ErrorKind::Rejected
                }
                (Kind::BrokenConnectionAsOutage, ErrorKind::ReauthRequired) => {
                    ErrorKind::Unavailable
                }
                (_, kind) => kind,
            };
            e
        })
    }

    /// Calls `op` again and again while the broker refuses the credentials.
    async fn stubborn<T, F, Fut>(&self, mut op: F) -> Result<T, AdapterError>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Result<T, AdapterError>> + Send,
        T: Send,
    {
        let mut r = op().await;
        if self.kind == Kind::RetriesExpiredCredentials {
            for _ in 0..10 {
                match &r {
                    Err(e)
                        if matches!(e.kind, ErrorKind::AuthExpired | ErrorKind::ReauthRequired) =>
                    {
                        r = op().await;
                    }
                    _ => break,
                }
            }
        }
        r
    }
}

#[async_trait]
impl BrokerAdapter for Bug {
    fn describe(&self) -> Description {
        self.inner.describe()
    }

    fn account_id(&self) -> &str {
        self.inner.account_id()
    }

    async fn submit_order(&self, order: &Order) -> Result<OrderResult, AdapterError> {
        match self.kind {
            Kind::ResubmitAfterTimeout => {
                // Its own, shorter patience; then a "new attempt" with a new id.
                let first = tokio::time::timeout(
                    Duration::from_millis(1_000),
                    self.inner.submit_order(order),
                )
                .await;
                match first {
                    Ok(r) => r,
                    Err(_) => {
                        let mut again = order.clone();
                        again.client_order_id = format!("{}-retry", order.client_order_id);
                        self.inner.submit_order(&again).await
                    }
                }
            }
            Kind::ResendsTimedOutSubmit => match self.inner.submit_order(order).await {
                Err(e) if e.kind == ErrorKind::Timeout => self.inner.submit_order(order).await,
                r => r,
            },
            Kind::DropsRetryAfter => self.inner.submit_order(order).await.map_err(|mut e| {
                e.retry_after_ms = None;
                e
            }),
            Kind::LosesCreditSign if order.is_multi_leg() && order.side == Side::Sell => {
                // The price stays positive; only its direction is lost.
                let mut debit = order.clone();
                debit.side = Side::Buy;
                self.inner.submit_order(&debit).await
            }
            Kind::FitsIdToATag => {
                let mut fitted = order.clone();
                fitted.client_order_id = order
                    .client_order_id
                    .chars()
                    .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
                    .take(255)
                    .collect();
                self.inner.submit_order(&fitted).await
            }
            Kind::SendsBracketAsSimple => {
                // "The entry is what matters; the exits can follow later."
                let bare = Order {
                    exits: None,
                    ..order.clone()
                };
                self.inner.submit_order(&bare).await
            }
            Kind::BooksSubmitAsFill => self.inner.submit_order(order).await.map(|mut r| {
                // "A market order fills at once": the answer booked as the fill.
                r.status = OrderStatus::Filled;
                r.filled_quantity = order.quantity;
                r.remaining_quantity = rust_decimal::Decimal::ZERO;
                r
            }),
            _ => {
                let r = self.stubborn(|| self.inner.submit_order(order)).await;
                self.results(r)
            }
        }
    }

    async fn cancel_order(&self, id: &str) -> Result<CancelResult, AdapterError> {
        let r = self.inner.cancel_order(id).await;
        match (self.kind, r) {
            (Kind::TooLateCancelIsSuccess, Err(e)) if e.kind == ErrorKind::TooLateToCancel => {
                Ok(CancelResult {
                    broker_order_id: id.to_string(),
                    status: CancelStatus::Canceled,
                })
            }
            (_, r) => self.errors(r),
        }
    }

    async fn replace_order(
        &self,
        id: &str,
        changes: &adapters::Replace,
    ) -> Result<OrderResult, AdapterError> {
        let r = self.inner.replace_order(id, changes).await;
        self.results(r)
    }

    async fn get_order(&self, id: &str) -> Result<OrderResult, AdapterError> {
        let r = self.stubborn(|| self.inner.get_order(id)).await;
        self.results(r)
    }

    async fn get_positions(&self) -> Result<Vec<Position>, AdapterError> {
        let r = self.stubborn(|| self.inner.get_positions()).await;
        if self.kind == Kind::LosesShortSign {
            return r.map(|ps| {
                ps.into_iter()
                    .map(|mut p| {
                        p.quantity = p.quantity.abs();
                        p
                    })
                    .collect()
            });
        }
        r
    }

    async fn get_holdings(&self) -> Result<Holdings, AdapterError> {
        let r = self.stubborn(|| self.inner.get_holdings()).await;
        match self.kind {
            Kind::DropsHoldingsAge => r.map(|h| Holdings { as_of: None, ..h }),
            _ => r,
        }
    }

    async fn get_account(&self) -> Result<Account, AdapterError> {
        self.stubborn(|| self.inner.get_account()).await
    }

    fn credential_leaks(&self) -> Vec<String> {
        self.inner.credential_leaks()
    }

    async fn order_updates(&self) -> Result<OrderUpdates, AdapterError> {
        let kind = self.kind;
        let updates = self.inner.order_updates().await?;
        Ok(updates
            .map(move |u| u.map(|r| Bug::result(kind, r)))
            .boxed())
    }

    async fn revoke(&self) -> Result<bool, AdapterError> {
        self.inner.revoke().await
    }
}
