//! Fault plans: what goes wrong, where, when, and how often — as data.
//!
//! ```toml
//! # scenarios/faults/submit-outage.toml
//! [[rules]]
//! operations = ["submit_order"]   # omit for every operation
//! from_ms = 0                     # simulated ms since the plan was installed
//! until_ms = 5000                 # exclusive; omit for "until the end"
//! probability = 1.0               # drawn from the seed; default 1
//! fault = { kind = "outage", mode = "status" }
//! ```
//!
//! A rule can also pick out orders, for faults that belong to one order
//! rather than to a request — without riding on a client order id, which
//! not every vendor has (Schwab):
//!
//! ```toml
//! [[rules]]
//! order = { symbol = "AAPL", quantity = "7", nth = 2 }   # every key optional
//! fault = { kind = "partial_fill", units_per_event = 1 }
//! ```
//!
//! Decisions are drawn from the world seed, so one plan and one seed give
//! the same faults on every run.

use std::fmt;
use std::path::Path;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use mbt::{OrderRequest, Side};

/// What a request asks the broker to do, independent of any vendor's paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    SubmitOrder,
    CancelOrder,
    ReplaceOrder,
    GetOrder,
    ListOrders,
    Positions,
    Account,
    /// Opening or reading an order-status stream.
    Stream,
    /// Token issue and refresh.
    Auth,
    /// Anything else the vendor serves (profile, clock, quotes, …).
    Other,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::SubmitOrder => "submit_order",
            Operation::CancelOrder => "cancel_order",
            Operation::ReplaceOrder => "replace_order",
            Operation::GetOrder => "get_order",
            Operation::ListOrders => "list_orders",
            Operation::Positions => "positions",
            Operation::Account => "account",
            Operation::Stream => "stream",
            Operation::Auth => "auth",
            Operation::Other => "other",
        }
    }

    /// Whether the operation changes broker state (and so can be committed
    /// before its response is lost).
    pub fn is_mutation(self) -> bool {
        matches!(
            self,
            Operation::SubmitOrder | Operation::CancelOrder | Operation::ReplaceOrder
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an outage shows itself to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OutageMode {
    /// HTTP 503 with the vendor's own body.
    #[default]
    Status,
    /// The connection is dropped without a response.
    Refuse,
    /// No response until the client gives up (held for `hang_ms`, then dropped).
    Hang,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The broker is down for the matched operations.
    Outage {
        #[serde(default)]
        mode: OutageMode,
    },
    /// Extra response latency, uniform in `[min_ms, max_ms]`.
    Latency { min_ms: u64, max_ms: u64 },
    /// HTTP 429 with the vendor's rate-limit headers, on top of the documented limiter.
    RateLimit {
        #[serde(default = "default_retry_after_ms")]
        retry_after_ms: u64,
    },
    /// The order is refused with the vendor's rejection for `reason`.
    Reject {
        #[serde(default = "default_reject_reason")]
        reason: String,
    },
    /// The broker takes the order (the submit succeeds) and rejects it when
    /// it would have accepted it: the rejection after acceptance.
    RejectAfterAccept {
        #[serde(default = "default_reject_reason")]
        reason: String,
    },
    /// The access token is answered as expired (401 with the vendor's body).
    TokenExpiry,
    /// The refresh token is expired too: only a new authorization helps.
    RefreshExpiry,
    /// The broker commits the operation, then the response never arrives.
    LostResponse,
    /// Submitted orders fill at most `units_per_event` per market event.
    PartialFill { units_per_event: u32 },
    /// The order-status stream drops after `after_events` events.
    StreamDisconnect { after_events: u32 },
    /// Stream events are sent twice.
    StreamDuplicate,
    /// Pairs of stream events are swapped.
    StreamReorder,
    /// Reads answer from a cache `age_ms` old (SnapTrade's holdings cache).
    StaleRead { age_ms: u64 },
    /// The data a read asks for is not ready yet (an aggregator still
    /// extracting it after a link): the vendor's "try again later"
    /// (Plaid's PRODUCT_NOT_READY). A window makes it "the first calls".
    NotReady,
    /// The institution or broker behind an aggregator does not answer,
    /// while the aggregator itself is up (Plaid's INSTITUTION_DOWN). With
    /// `brokerage` (an aggregator's slug for it, SnapTrade's `ETRADE`), only
    /// that one is down and the aggregator's other brokerages answer.
    DownstreamOutage {
        #[serde(default)]
        brokerage: Option<String>,
    },
    /// The network between client and broker drops everything in the
    /// window. Applied by the harness's simulated network (turmoil), not by
    /// the model; a model served on a real socket ignores it.
    NetworkPartition,
    /// The network holds everything in the window and delivers it when the
    /// window ends (a stalled link). Applied by the harness like a partition.
    NetworkHold,
}

impl Fault {
    /// Whether the network, not the broker, carries out this fault.
    pub fn is_network(&self) -> bool {
        matches!(self, Fault::NetworkPartition | Fault::NetworkHold)
    }
}

fn default_retry_after_ms() -> u64 {
    1_000
}

fn default_reject_reason() -> String {
    "simulated rejection".to_string()
}

fn default_probability() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Operations the rule applies to; empty means all.
    #[serde(default)]
    pub operations: Vec<Operation>,
    #[serde(default)]
    pub from_ms: u64,
    #[serde(default)]
    pub until_ms: Option<u64>,
    /// Chance per matching request, 0..=1. A probability is a dial on a
    /// seeded draw, not money, so it may be a float.
    #[serde(default = "default_probability")]
    pub probability: f64,
    /// Only orders that match (order-level faults: reject, partial fill,
    /// lost response); the rule then applies when the order is submitted.
    #[serde(default)]
    pub order: Option<OrderMatch>,
    pub fault: Fault,
}

/// Which orders a rule picks out; every given key must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderMatch {
    /// The equity symbol, or the option's OCC symbol (or its underlying).
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub side: Option<Side>,
    #[serde(default)]
    pub quantity: Option<Decimal>,
    /// The n-th order the broker received (1-based, refused ones counted).
    #[serde(default)]
    pub nth: Option<u64>,
}

impl OrderMatch {
    pub fn matches(&self, request: &OrderRequest, ordinal: u64) -> bool {
        let i = &request.instrument;
        self.symbol
            .as_deref()
            .is_none_or(|s| i.to_string() == s || i.underlying() == s)
            && self.side.is_none_or(|s| s == request.side)
            && self.quantity.is_none_or(|q| q == request.quantity)
            && self.nth.is_none_or(|n| n == ordinal)
    }
}

impl FaultRule {
    pub fn applies(&self, op: Operation, elapsed_ms: u64) -> bool {
        (self.operations.is_empty() || self.operations.contains(&op))
            && elapsed_ms >= self.from_ms
            && self.until_ms.is_none_or(|u| elapsed_ms < u)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read fault plan {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("fault plan {path}: {message}")]
    Parse { path: String, message: String },
    #[error("fault plan {path}: rule {index}: {message}")]
    Invalid {
        path: String,
        index: usize,
        message: String,
    },
}

impl FaultPlan {
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, PlanError> {
        let plan: FaultPlan = toml::from_str(text).map_err(|e| PlanError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        plan.validate(origin)?;
        Ok(plan)
    }

    pub fn from_file(path: &Path) -> Result<Self, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    pub fn validate(&self, origin: &str) -> Result<(), PlanError> {
        for (index, rule) in self.rules.iter().enumerate() {
            let invalid = |message: &str| {
                Err(PlanError::Invalid {
                    path: origin.to_string(),
                    index,
                    message: message.to_string(),
                })
            };
            if !(0.0..=1.0).contains(&rule.probability) {
                return invalid("probability must be between 0 and 1");
            }
            if rule.until_ms.is_some_and(|u| u <= rule.from_ms) {
                return invalid("until_ms must be after from_ms");
            }
            let order_level = matches!(
                rule.fault,
                Fault::Reject { .. }
                    | Fault::RejectAfterAccept { .. }
                    | Fault::PartialFill { .. }
                    | Fault::LostResponse
            );
            if rule.order.is_some() && !order_level {
                return invalid(
                    "an order-matching rule takes an order-level fault: reject, reject_after_accept, partial_fill or lost_response",
                );
            }
            match rule.fault {
                Fault::Latency { min_ms, max_ms } if min_ms > max_ms => {
                    return invalid("latency min_ms must not exceed max_ms")
                }
                Fault::PartialFill { units_per_event: 0 } => {
                    return invalid("partial_fill units_per_event must be at least 1")
                }
                // A link is down for everyone or not at all, for a window.
                ref f
                    if f.is_network()
                        && (!rule.operations.is_empty() || rule.probability < 1.0) =>
                {
                    return invalid(
                        "network faults take a time window only (no operations, no probability)",
                    )
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_fault_kind() {
        let text = r#"
            [[rules]]
            operations = ["submit_order"]
            until_ms = 5000
            fault = { kind = "outage", mode = "hang" }
            [[rules]]
            probability = 0.25
            fault = { kind = "latency", min_ms = 10, max_ms = 400 }
            [[rules]]
            fault = { kind = "rate_limit" }
            [[rules]]
            fault = { kind = "reject", reason = "insufficient buying power" }
            [[rules]]
            fault = { kind = "token_expiry" }
            [[rules]]
            fault = { kind = "refresh_expiry" }
            [[rules]]
            fault = { kind = "lost_response" }
            [[rules]]
            fault = { kind = "reject_after_accept" }
            [[rules]]
            fault = { kind = "partial_fill", units_per_event = 3 }
            [[rules]]
            fault = { kind = "stream_disconnect", after_events = 2 }
            [[rules]]
            fault = { kind = "stream_duplicate" }
            [[rules]]
            fault = { kind = "stream_reorder" }
            [[rules]]
            fault = { kind = "stale_read", age_ms = 60000 }
            [[rules]]
            fault = { kind = "not_ready" }
            [[rules]]
            fault = { kind = "downstream_outage" }
            [[rules]]
            until_ms = 1500
            fault = { kind = "network_partition" }
            [[rules]]
            from_ms = 2000
            until_ms = 3000
            fault = { kind = "network_hold" }
        "#;
        let plan = FaultPlan::from_toml(text, "inline").unwrap();
        assert_eq!(plan.rules.len(), 17);
        assert!(plan.rules[15].fault.is_network() && !plan.rules[14].fault.is_network());
        assert_eq!(
            plan.rules[0].fault,
            Fault::Outage {
                mode: OutageMode::Hang
            }
        );
        assert_eq!(
            plan.rules[2].fault,
            Fault::RateLimit {
                retry_after_ms: 1000
            }
        );
        assert!(plan.rules[0].applies(Operation::SubmitOrder, 4999));
        assert!(!plan.rules[0].applies(Operation::SubmitOrder, 5000));
        assert!(!plan.rules[0].applies(Operation::GetOrder, 0));
        assert!(plan.rules[1].applies(Operation::GetOrder, 123_456));
    }

    #[test]
    fn bad_plans_name_the_problem() {
        let unknown =
            FaultPlan::from_toml("[[rules]]\nfault = { kind = \"meteor\" }", "p.toml").unwrap_err();
        assert!(
            unknown.to_string().contains("p.toml") && unknown.to_string().contains("meteor"),
            "{unknown}"
        );
        let typo = FaultPlan::from_toml(
            "[[rules]]\nfrom_sm = 1\nfault = { kind = \"outage\" }",
            "p.toml",
        )
        .unwrap_err();
        assert!(typo.to_string().contains("from_sm"), "{typo}");
        let prob = FaultPlan::from_toml(
            "[[rules]]\nprobability = 2.0\nfault = { kind = \"outage\" }",
            "p.toml",
        )
        .unwrap_err();
        assert!(prob.to_string().contains("rule 0: probability"), "{prob}");
        let lat = FaultPlan::from_toml(
            "[[rules]]\nfault = { kind = \"latency\", min_ms = 5, max_ms = 1 }",
            "p",
        )
        .unwrap_err();
        assert!(lat.to_string().contains("min_ms"));
        let net = FaultPlan::from_toml(
            "[[rules]]\noperations = [\"submit_order\"]\nfault = { kind = \"network_partition\" }",
            "p",
        )
        .unwrap_err();
        assert!(net.to_string().contains("network faults"), "{net}");
        let order = FaultPlan::from_toml(
            "[[rules]]\norder = { nth = 1 }\nfault = { kind = \"outage\" }",
            "p",
        )
        .unwrap_err();
        assert!(order.to_string().contains("order-level fault"), "{order}");
    }

    #[test]
    fn order_rules_pick_orders_by_symbol_side_quantity_and_ordinal() {
        let plan = FaultPlan::from_toml(
            "[[rules]]\norder = { symbol = \"AAPL\", side = \"sell\", quantity = \"7\", nth = 2 }\nfault = { kind = \"lost_response\" }",
            "p",
        )
        .unwrap();
        let m = plan.rules[0].order.clone().unwrap();
        let sell = OrderRequest::market("A", "c", "AAPL", Side::Sell, Decimal::from(7));
        assert!(m.matches(&sell, 2));
        assert!(!m.matches(&sell, 3));
        let buy = OrderRequest::market("A", "c", "AAPL", Side::Buy, Decimal::from(7));
        assert!(!m.matches(&buy, 2));
        let other = OrderRequest::market("A", "c", "MSFT", Side::Sell, Decimal::from(7));
        assert!(!m.matches(&other, 2));
    }
}
