//! Mutants: deliberately broken adapters, each a wrapper that injects one
//! known bug into a good adapter. The suite must catch every one of them;
//! the mutation score says how many it caught.

use std::sync::Arc;
use std::time::Duration;

use adapters::{
    Account, AdapterError, BrokerAdapter, CancelResult, CancelStatus, Description, ErrorKind,
    Order, OrderResult, OrderStatus, OrderUpdates, Position, Side,
};
use async_trait::async_trait;
use futures_util::StreamExt;

pub struct Mutant {
    pub id: &'static str,
    pub about: &'static str,
    /// The case written to catch this bug (others may catch it too).
    pub caught_by: &'static str,
    pub wrap: fn(Arc<dyn BrokerAdapter>) -> Arc<dyn BrokerAdapter>,
    /// Which adapters the bug can break from outside: a wrapper's bug is
    /// invisible when the adapter inside already prevents its effect.
    pub breaks: fn(&Description) -> bool,
}

fn any(_: &Description) -> bool {
    true
}

pub static MUTANTS: &[Mutant] = &[
    Mutant {
        id: "resubmit_after_timeout",
        caught_by: "ambiguous_submit_never_duplicates",
        about: "gives up on a slow submit and sends the intent again under a fresh id, without reconciling",
        wrap: |a| Arc::new(Bug::new(a, Kind::ResubmitAfterTimeout)),
        breaks: any,
    },
    Mutant {
        id: "filled_on_first_partial",
        caught_by: "partial_fills_accumulate",
        about: "reports an order filled at its first partial fill",
        wrap: |a| Arc::new(Bug::new(a, Kind::FilledOnFirstPartial)),
        breaks: any,
    },
    Mutant {
        id: "drops_retry_after",
        caught_by: "rate_limit_backs_off_and_recovers",
        about: "hands a long throttle back without saying how long to wait (no retry_after_ms)",
        wrap: |a| Arc::new(Bug::new(a, Kind::DropsRetryAfter)),
        breaks: any,
    },
    Mutant {
        id: "too_late_cancel_is_success",
        caught_by: "cancel_after_fill_is_too_late",
        about: "treats a cancel that came too late as a successful cancel",
        wrap: |a| Arc::new(Bug::new(a, Kind::TooLateCancelIsSuccess)),
        breaks: any,
    },
    Mutant {
        id: "drops_average_price",
        caught_by: "average_price_is_quantity_weighted",
        about: "loses the average fill price",
        wrap: |a| Arc::new(Bug::new(a, Kind::DropsAveragePrice)),
        breaks: any,
    },
    Mutant {
        id: "retries_expired_credentials",
        caught_by: "refresh_expiry_requires_reauth",
        about: "keeps retrying with credentials the broker refused",
        wrap: |a| Arc::new(Bug::new(a, Kind::RetriesExpiredCredentials)),
        // An OAuth adapter's token source remembers a refused refresh and
        // sends nothing more: the wrapper's retries never reach the broker.
        breaks: |d| !d.capabilities.token_refresh,
    },
    Mutant {
        id: "loses_short_sign",
        caught_by: "short_from_flat",
        about: "reports short positions as long (quantity without its sign)",
        wrap: |a| Arc::new(Bug::new(a, Kind::LosesShortSign)),
        breaks: any,
    },
    Mutant {
        id: "books_submit_answer_as_fill",
        caught_by: "acceptance_is_not_a_fill",
        about: "reports a market order filled from the submit answer, before the broker filled it",
        wrap: |a| Arc::new(Bug::new(a, Kind::BooksSubmitAsFill)),
        breaks: any,
    },
    Mutant {
        id: "loses_credit_sign",
        caught_by: "multi_leg_credit_spread",
        about: "sends a net-credit spread as a net debit at the same price (a credit price-effect that lost its sign)",
        wrap: |a| Arc::new(Bug::new(a, Kind::LosesCreditSign)),
        breaks: any,
    },
    Mutant {
        id: "ignores_late_rejection",
        caught_by: "rejection_after_acceptance_is_surfaced",
        about: "keeps reporting an order working after the broker rejected it",
        wrap: |a| Arc::new(Bug::new(a, Kind::IgnoresLateRejection)),
        breaks: any,
    },
];

pub fn find(id: &str) -> Option<&'static Mutant> {
    MUTANTS.iter().find(|m| m.id == id)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ResubmitAfterTimeout,
    FilledOnFirstPartial,
    DropsRetryAfter,
    TooLateCancelIsSuccess,
    DropsAveragePrice,
    RetriesExpiredCredentials,
    LosesShortSign,
    BooksSubmitAsFill,
    IgnoresLateRejection,
    LosesCreditSign,
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
        r.map(|r| Self::result(self.kind, r))
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
            (_, r) => r,
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

    async fn get_account(&self) -> Result<Account, AdapterError> {
        self.stubborn(|| self.inner.get_account()).await
    }

    async fn order_updates(&self) -> Result<OrderUpdates, AdapterError> {
        let kind = self.kind;
        let updates = self.inner.order_updates().await?;
        Ok(updates
            .map(move |u| u.map(|r| Bug::result(kind, r)))
            .boxed())
    }
}
