//! Turns a fault plan into per-request decisions, drawn from the seed.

use rand::RngCore;

use mbt::rng::{below, SimRng};

use super::plan::{Fault, FaultPlan, Operation, OutageMode};

/// What a request meets instead of (or besides) a normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Outage(OutageMode),
    RateLimited {
        retry_after_ms: u64,
    },
    Reject {
        reason: String,
    },
    /// Access tokens issued up to `since_ms` (the rule's start) are expired;
    /// for static credentials, every request in the window is refused.
    TokenExpired {
        since_ms: u64,
    },
    /// Refresh tokens (and access tokens) issued up to `since_ms` are dead.
    RefreshExpired {
        since_ms: u64,
    },
    LostResponse,
    /// The data is not ready yet: try again later.
    NotReady,
    /// The institution behind the broker is down (only `brokerage`, when named).
    DownstreamOutage {
        brokerage: Option<String>,
    },
}

impl Decision {
    /// Whether the plan took down `brokerage` (an aggregator's slug for a
    /// brokerage behind it) for this request.
    pub fn downstream_down(&self, brokerage: &str) -> bool {
        matches!(&self.outcome, Some(Outcome::DownstreamOutage { brokerage: Some(b) }) if b == brokerage)
    }

    /// What the plan did to a request, in words for traces; None when it did nothing.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.latency_ms > 0 {
            parts.push(format!("latency {}ms", self.latency_ms));
        }
        match &self.outcome {
            Some(Outcome::Outage(mode)) => parts.push(format!("outage ({mode:?})").to_lowercase()),
            Some(Outcome::RateLimited { retry_after_ms }) => {
                parts.push(format!("rate limited, retry after {retry_after_ms}ms"))
            }
            Some(Outcome::Reject { reason }) => parts.push(format!("rejected: {reason}")),
            Some(Outcome::TokenExpired { .. }) => parts.push("access token expired".into()),
            Some(Outcome::RefreshExpired { .. }) => parts.push("refresh token expired".into()),
            Some(Outcome::LostResponse) => parts.push("response lost after commit".into()),
            Some(Outcome::NotReady) => parts.push("data not ready yet".into()),
            Some(Outcome::DownstreamOutage { brokerage: None }) => {
                parts.push("the institution behind the broker is down".into())
            }
            Some(Outcome::DownstreamOutage {
                brokerage: Some(slug),
            }) => parts.push(format!("brokerage {slug} behind the aggregator is down")),
            None => {}
        }
        if let Some(units) = self.partial_fill {
            parts.push(format!("fills sliced to {units} per market event"));
        }
        if let Some(age) = self.stale_ms {
            parts.push(format!("answered from a cache {age}ms old"));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

impl StreamFaults {
    /// What the plan does to a stream being opened, in words; None when nothing.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(n) = self.disconnect_after {
            parts.push(format!("drops after {n} events"));
        }
        if self.duplicate {
            parts.push("sends events twice".to_string());
        }
        if self.reorder {
            parts.push("swaps events".to_string());
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// A seeded draw that comes out true with `probability` (0..=1).
pub fn draw_hit(rng: &mut SimRng, probability: f64) -> bool {
    if probability >= 1.0 {
        return true;
    }
    // Compare in integers: a u32 draw against the probability scaled to 2^32.
    let threshold = (probability * 4_294_967_296.0) as u64;
    u64::from(rng.next_u32()) < threshold
}

/// Everything the plan decided for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub latency_ms: u64,
    /// The first matching fault that changes the answer; later ones are not drawn.
    pub outcome: Option<Outcome>,
    /// For a submit: fill at most this many units per market event.
    pub partial_fill: Option<u32>,
    /// For a read: answer from a cache this old.
    pub stale_ms: Option<u64>,
}

/// What the plan does to one order (rules that pick it out, and per-request triggers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFaults {
    pub reject: Option<String>,
    /// Taken, then rejected at acceptance, with this reason.
    pub reject_after_accept: Option<String>,
    pub partial_fill: Option<u32>,
    /// Committed, then the response never reaches the client.
    pub lose_response: bool,
}

impl OrderFaults {
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(r) = &self.reject {
            parts.push(format!("rejected: {r}"));
        }
        if let Some(r) = &self.reject_after_accept {
            parts.push(format!("rejected after acceptance: {r}"));
        }
        if let Some(n) = self.partial_fill {
            parts.push(format!("fills sliced to {n} per market event"));
        }
        if self.lose_response {
            parts.push("response lost after commit".to_string());
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// How a stream misbehaves for the connection being opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamFaults {
    pub disconnect_after: Option<u32>,
    pub duplicate: bool,
    pub reorder: bool,
}

#[derive(Debug, Clone)]
pub struct FaultInjector {
    plan: FaultPlan,
    rng: SimRng,
}

impl FaultInjector {
    pub fn new(plan: FaultPlan, rng: SimRng) -> Self {
        Self { plan, rng }
    }

    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// Replaces the plan; the random stream carries on, so a run stays reproducible.
    pub fn set_plan(&mut self, plan: FaultPlan) {
        self.plan = plan;
    }

    fn hit(rng: &mut SimRng, probability: f64) -> bool {
        draw_hit(rng, probability)
    }

    pub fn decide(&mut self, op: Operation, elapsed_ms: u64) -> Decision {
        let mut d = Decision::default();
        // Order-matching rules apply to the order itself, in `decide_order`.
        let rules = self.plan.rules.iter().filter(|r| r.order.is_none());
        for rule in rules.filter(|r| r.applies(op, elapsed_ms)) {
            // Stream faults shape streams; network faults are the network's.
            let elsewhere = rule.fault.is_network()
                || matches!(
                    rule.fault,
                    Fault::StreamDisconnect { .. } | Fault::StreamDuplicate | Fault::StreamReorder
                );
            if elsewhere || (d.outcome.is_some() && !matches!(rule.fault, Fault::Latency { .. })) {
                continue;
            }
            if !Self::hit(&mut self.rng, rule.probability) {
                continue;
            }
            match &rule.fault {
                Fault::Latency { min_ms, max_ms } => {
                    d.latency_ms += min_ms + below(&mut self.rng, max_ms - min_ms + 1);
                }
                Fault::PartialFill { units_per_event } if op == Operation::SubmitOrder => {
                    d.partial_fill = Some(*units_per_event);
                }
                Fault::StaleRead { age_ms } if !op.is_mutation() => d.stale_ms = Some(*age_ms),
                Fault::Outage { mode } => d.outcome = Some(Outcome::Outage(*mode)),
                Fault::RateLimit { retry_after_ms } => {
                    d.outcome = Some(Outcome::RateLimited {
                        retry_after_ms: *retry_after_ms,
                    })
                }
                Fault::Reject { reason } if op == Operation::SubmitOrder => {
                    d.outcome = Some(Outcome::Reject {
                        reason: reason.clone(),
                    })
                }
                Fault::TokenExpiry => {
                    d.outcome = Some(Outcome::TokenExpired {
                        since_ms: rule.from_ms,
                    })
                }
                Fault::RefreshExpiry => {
                    d.outcome = Some(Outcome::RefreshExpired {
                        since_ms: rule.from_ms,
                    })
                }
                Fault::LostResponse => d.outcome = Some(Outcome::LostResponse),
                Fault::NotReady if !op.is_mutation() => d.outcome = Some(Outcome::NotReady),
                Fault::DownstreamOutage { brokerage } => {
                    d.outcome = Some(Outcome::DownstreamOutage {
                        brokerage: brokerage.clone(),
                    })
                }
                _ => {}
            }
        }
        d
    }

    /// What the order-matching rules do to one submitted order, the
    /// `ordinal`-th the broker received.
    pub fn decide_order(
        &mut self,
        request: &mbt::OrderRequest,
        ordinal: u64,
        elapsed_ms: u64,
    ) -> OrderFaults {
        let mut f = OrderFaults::default();
        for rule in &self.plan.rules {
            // A rejection after acceptance belongs to the order even when
            // the rule picks out no order in particular.
            let targets = match &rule.order {
                Some(m) => m.matches(request, ordinal),
                None => matches!(rule.fault, Fault::RejectAfterAccept { .. }),
            };
            let picked = targets && rule.applies(Operation::SubmitOrder, elapsed_ms);
            if !picked || !Self::hit(&mut self.rng, rule.probability) {
                continue;
            }
            match &rule.fault {
                Fault::Reject { reason } => f.reject = Some(reason.clone()),
                Fault::RejectAfterAccept { reason } => f.reject_after_accept = Some(reason.clone()),
                Fault::PartialFill { units_per_event } => f.partial_fill = Some(*units_per_event),
                Fault::LostResponse => f.lose_response = true,
                _ => {}
            }
        }
        f
    }

    pub fn stream_faults(&mut self, elapsed_ms: u64) -> StreamFaults {
        let mut s = StreamFaults::default();
        for rule in self
            .plan
            .rules
            .iter()
            .filter(|r| r.applies(Operation::Stream, elapsed_ms))
        {
            let relevant = matches!(
                rule.fault,
                Fault::StreamDisconnect { .. } | Fault::StreamDuplicate | Fault::StreamReorder
            );
            if !relevant || !Self::hit(&mut self.rng, rule.probability) {
                continue;
            }
            match rule.fault {
                Fault::StreamDisconnect { after_events } => s.disconnect_after = Some(after_events),
                Fault::StreamDuplicate => s.duplicate = true,
                Fault::StreamReorder => s.reorder = true,
                _ => {}
            }
        }
        s
    }
}

/// Per-request triggers, the way DriveWealth's sandbox uses magic values: a
/// client order id (or Tradier tag) starting with one of these prefixes forces
/// one behaviour for that order without any fault plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `sim-partial-…`: fills in slices of one unit per market event.
    PartialFill,
    /// `sim-reject-…`: refused as the vendor refuses an order.
    Reject,
    /// `sim-lost-…`: committed, then the response is lost.
    LostResponse,
    /// `sim-hang-…`: committed, then no response until the client gives up.
    Hang,
}

impl Trigger {
    pub const PREFIXES: [(&'static str, Trigger); 4] = [
        ("sim-partial-", Trigger::PartialFill),
        ("sim-reject-", Trigger::Reject),
        ("sim-lost-", Trigger::LostResponse),
        ("sim-hang-", Trigger::Hang),
    ];

    /// What the trigger does, in words for traces.
    pub fn describe(self) -> &'static str {
        match self {
            Trigger::PartialFill => "fills sliced to 1 per market event",
            Trigger::Reject => "rejected",
            Trigger::LostResponse => "response lost after commit",
            Trigger::Hang => "no answer until the client gives up",
        }
    }

    pub fn from_client_id(client_order_id: &str) -> Option<Trigger> {
        Self::PREFIXES
            .iter()
            .find(|(p, _)| client_order_id.starts_with(p))
            .map(|(_, t)| *t)
    }

    /// The trigger as what it does to its order.
    pub fn faults(self) -> OrderFaults {
        match self {
            Trigger::PartialFill => OrderFaults {
                partial_fill: Some(1),
                ..OrderFaults::default()
            },
            Trigger::Reject => OrderFaults {
                reject: Some("rejected by sim-reject trigger".into()),
                ..OrderFaults::default()
            },
            Trigger::LostResponse | Trigger::Hang => OrderFaults {
                lose_response: true,
                ..OrderFaults::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::plan::FaultRule;
    use mbt::rng::rng_for;

    fn rule(fault: Fault, probability: f64) -> FaultRule {
        FaultRule {
            operations: vec![],
            from_ms: 0,
            until_ms: None,
            probability,
            order: None,
            fault,
        }
    }

    #[test]
    fn same_seed_same_decisions() {
        let plan = FaultPlan {
            rules: vec![
                rule(
                    Fault::Latency {
                        min_ms: 5,
                        max_ms: 500,
                    },
                    0.5,
                ),
                rule(
                    Fault::Outage {
                        mode: OutageMode::Status,
                    },
                    0.2,
                ),
            ],
        };
        let run = |seed| {
            let mut f = FaultInjector::new(plan.clone(), rng_for(seed, "faults"));
            (0..200)
                .map(|i| f.decide(Operation::GetOrder, i))
                .collect::<Vec<_>>()
        };
        let a = run(1);
        assert_eq!(a, run(1));
        assert_ne!(a, run(2));
        let outages = a.iter().filter(|d| d.outcome.is_some()).count();
        assert!(
            (20..=60).contains(&outages),
            "{outages} outages of 200 at p=0.2"
        );
        assert!(a
            .iter()
            .all(|d| d.latency_ms == 0 || (5..=500).contains(&d.latency_ms)));
    }

    #[test]
    fn first_outcome_wins_and_faults_respect_their_operations() {
        let plan = FaultPlan {
            rules: vec![
                rule(
                    Fault::Reject {
                        reason: "no".into(),
                    },
                    1.0,
                ),
                rule(Fault::LostResponse, 1.0),
                rule(Fault::PartialFill { units_per_event: 2 }, 1.0),
            ],
        };
        let mut f = FaultInjector::new(plan, rng_for(1, "faults"));
        let submit = f.decide(Operation::SubmitOrder, 0);
        assert_eq!(
            submit.outcome,
            Some(Outcome::Reject {
                reason: "no".into()
            })
        );
        let read = f.decide(Operation::GetOrder, 0);
        assert_eq!(read.outcome, Some(Outcome::LostResponse));
        assert_eq!(read.partial_fill, None);
    }

    #[test]
    fn triggers_by_prefix() {
        assert_eq!(
            Trigger::from_client_id("sim-partial-1"),
            Some(Trigger::PartialFill)
        );
        assert_eq!(
            Trigger::from_client_id("sim-lost-x"),
            Some(Trigger::LostResponse)
        );
        assert_eq!(Trigger::from_client_id("intent-1"), None);
    }
}
