//! A strategy's rules trading one connection through the order path.
//!
//! At each [`Trader::step`] the trader reads what became of the orders it
//! has working, tells the rules, shows them the market, and sends what they
//! fire through the [`OrderPath`], paper or live, exactly as fired. What
//! the rules were told is kept ([`Trader::journal`]): fed again to fresh
//! rules ([`replay`]) it fires the same orders, which is how a run shows
//! that its orders came from the rules and their inputs alone.

use std::collections::BTreeMap;

use adapters::{ErrorKind, Order, OrderResult, OrderStatus};
use chrono::{DateTime, Utc};
use mbt::Instrument;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::connection::ConnectionId;
use crate::kill::Mode;
use crate::router::{OrderPath, PathError};
use crate::rules::{Fire, Rules, Seen};
use crate::velvet::RowStore;

/// What happened in a step, in order: the timeline of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Happened {
    /// The rules fired an order (sent as it is, or sent again).
    Fired { order: Order, again: bool },
    /// The path and broker answered a submit.
    Answered { result: OrderResult },
    /// The path or the broker refused a request.
    Refused {
        client_order_id: String,
        kind: ErrorKind,
        http_status: u16,
        message: String,
    },
    /// A working order changed state (a fill, a cancel, an expiry…).
    Changed { result: OrderResult },
    /// The rules asked to cancel an entry that waited too long.
    CancelAsked { client_order_id: String },
}

/// An order the trader sent and has not seen end.
#[derive(Debug, Clone)]
struct Working {
    broker_order_id: String,
    last: (OrderStatus, Decimal),
}

pub struct Trader {
    connection: ConnectionId,
    mode: Mode,
    rules: Rules,
    working: BTreeMap<String, Working>,
    /// Orders whose submit may or may not have reached the broker (an
    /// outage, a timeout, a throttle): sent again under the same client
    /// order id, which the adapter contract makes safe.
    in_doubt: Vec<Order>,
    fired: Vec<Fire>,
    journal: Vec<Seen>,
}

impl Trader {
    pub fn new(connection: ConnectionId, mode: Mode, rules: Rules) -> Trader {
        Trader {
            connection,
            mode,
            rules,
            working: BTreeMap::new(),
            in_doubt: Vec::new(),
            fired: Vec::new(),
            journal: Vec::new(),
        }
    }

    /// Everything the rules fired so far, in order.
    pub fn fired(&self) -> &[Fire] {
        &self.fired
    }

    /// Everything the rules were told, in order.
    pub fn journal(&self) -> &[Seen] {
        &self.journal
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Orders sent and not yet ended, by client order id → broker order id.
    pub fn working(&self) -> impl Iterator<Item = (&str, &str)> {
        self.working
            .iter()
            .map(|(cid, w)| (cid.as_str(), w.broker_order_id.as_str()))
    }

    /// One moment: what became of the working orders, then the market.
    pub async fn step<S: RowStore>(
        &mut self,
        path: &OrderPath<S>,
        at: DateTime<Utc>,
        marks: BTreeMap<Instrument, Decimal>,
    ) -> Vec<Happened> {
        let mut out = Vec::new();
        self.follow_working(path, &mut out).await;
        for order in std::mem::take(&mut self.in_doubt) {
            self.send(path, order, true, &mut out).await;
        }
        for fire in self.tell(Seen::Tick { at, marks }) {
            self.fired.push(fire.clone());
            match fire {
                Fire::Submit(order) => self.send(path, order, false, &mut out).await,
                Fire::Cancel { client_order_id } => {
                    self.cancel(path, client_order_id, &mut out).await
                }
            }
        }
        out
    }

    /// Reads the working orders once more, without a tick: the end of a run.
    pub async fn settle<S: RowStore>(&mut self, path: &OrderPath<S>) -> Vec<Happened> {
        let mut out = Vec::new();
        self.follow_working(path, &mut out).await;
        out
    }

    fn tell(&mut self, seen: Seen) -> Vec<Fire> {
        let fires = self.rules.on(&seen);
        self.journal.push(seen);
        fires
    }

    /// Reads each working order; a change is told to the rules. A read
    /// that fails (an outage) is tried again at the next step.
    async fn follow_working<S: RowStore>(&mut self, path: &OrderPath<S>, out: &mut Vec<Happened>) {
        let ids: Vec<(String, Working)> = self
            .working
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (cid, w) in ids {
            let Ok(result) = path
                .order(&self.connection, self.mode, &w.broker_order_id)
                .await
            else {
                continue;
            };
            if (result.status, result.filled_quantity) != w.last {
                out.push(Happened::Changed {
                    result: result.clone(),
                });
                self.observe(&cid, &result);
            }
        }
    }

    /// Keeps a working order's latest state; an ended one is told to the
    /// rules and forgotten.
    fn observe(&mut self, cid: &str, result: &OrderResult) {
        if result.status.is_terminal() {
            self.working.remove(cid);
            self.tell(Seen::Order {
                client_order_id: cid.to_string(),
                status: result.status,
                filled_quantity: result.filled_quantity,
                average_fill_price: result.average_fill_price,
            });
        } else {
            self.working.insert(
                cid.to_string(),
                Working {
                    broker_order_id: result.broker_order_id.clone(),
                    last: (result.status, result.filled_quantity),
                },
            );
        }
    }

    async fn send<S: RowStore>(
        &mut self,
        path: &OrderPath<S>,
        order: Order,
        again: bool,
        out: &mut Vec<Happened>,
    ) {
        out.push(Happened::Fired {
            order: order.clone(),
            again,
        });
        match path.submit(&self.connection, self.mode, &order).await {
            Ok(result) => {
                out.push(Happened::Answered {
                    result: result.clone(),
                });
                self.observe(&order.client_order_id, &result);
            }
            Err(e) => {
                out.push(refused(&order.client_order_id, &e));
                if in_doubt(&e) {
                    self.in_doubt.push(order);
                } else {
                    self.tell(Seen::Order {
                        client_order_id: order.client_order_id,
                        status: OrderStatus::Rejected,
                        filled_quantity: Decimal::ZERO,
                        average_fill_price: None,
                    });
                }
            }
        }
    }

    async fn cancel<S: RowStore>(
        &mut self,
        path: &OrderPath<S>,
        cid: String,
        out: &mut Vec<Happened>,
    ) {
        out.push(Happened::CancelAsked {
            client_order_id: cid.clone(),
        });
        let Some(w) = self.working.get(&cid) else {
            return;
        };
        // The cancel's outcome shows in the order's next read.
        if let Err(e) = path
            .cancel(&self.connection, self.mode, &w.broker_order_id)
            .await
        {
            out.push(refused(&cid, &e));
        }
    }
}

/// A refusal after which the order may still exist at the broker.
fn in_doubt(e: &PathError) -> bool {
    matches!(
        e,
        PathError::Broker(b)
            if matches!(b.kind, ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::RateLimited)
    )
}

fn refused(cid: &str, e: &PathError) -> Happened {
    Happened::Refused {
        client_order_id: cid.to_string(),
        kind: e.kind(),
        http_status: e.http_status(),
        message: e.to_string(),
    }
}

/// What fresh rules fire when told `journal`: a run's own orders, when
/// they came from the rules and their inputs alone.
pub fn replay(mut rules: Rules, journal: &[Seen]) -> Vec<Fire> {
    journal.iter().flat_map(|seen| rules.on(seen)).collect()
}

#[cfg(test)]
mod tests;
