//! The engine's append-only event log: every state change, in order, with
//! its simulated time. Serialized as JSON lines, it is the same bytes for the
//! same seed and inputs; its SHA-256 is what determinism tests compare.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::account::AccountKind;
use crate::engine::RejectReason;
use crate::instrument::Instrument;
use crate::order::{OrderId, OrderStatus, OrderType, Side, TimeInForce};
use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    AccountOpened {
        account_id: String,
        kind: AccountKind,
        cash: Decimal,
    },
    OrderAccepted {
        order_id: OrderId,
        account_id: String,
        client_order_id: String,
        instrument: Instrument,
        side: Side,
        quantity: Decimal,
        order_type: OrderType,
        limit_price: Option<Decimal>,
        stop_price: Option<Decimal>,
        time_in_force: TimeInForce,
        legs: usize,
    },
    OrderRejected {
        account_id: String,
        client_order_id: String,
        reason: RejectReason,
        message: String,
    },
    StopTriggered {
        order_id: OrderId,
        price: Decimal,
    },
    Fill {
        order_id: OrderId,
        account_id: String,
        instrument: Instrument,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        fee: Decimal,
        /// The order's status after this fill (for a multi-leg order, after its last leg).
        status: OrderStatus,
    },
    OrderCanceled {
        order_id: OrderId,
        filled_quantity: Decimal,
    },
    OrderExpired {
        order_id: OrderId,
        filled_quantity: Decimal,
    },
    OrderReplaced {
        order_id: OrderId,
        replacement: OrderId,
    },
    /// A long option exercised (or a short one assigned) at expiry.
    OptionExercised {
        account_id: String,
        instrument: Instrument,
        quantity: Decimal,
        assigned: bool,
    },
    OptionExpiredWorthless {
        account_id: String,
        instrument: Instrument,
        quantity: Decimal,
    },
    SessionClosed {
        date: chrono::NaiveDate,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    pub time: Timestamp,
    #[serde(flatten)]
    pub event: EngineEvent,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLog {
    entries: Vec<LogEntry>,
}

impl EventLog {
    pub fn push(&mut self, time: Timestamp, event: EngineEvent) -> u64 {
        let seq = self.entries.len() as u64;
        self.entries.push(LogEntry { seq, time, event });
        seq
    }

    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    /// Entries from sequence number `seq` on: how a consumer (a broker's
    /// stream, a trace) follows the log without copying what it has seen.
    pub fn since(&self, seq: u64) -> &[LogEntry] {
        let start = (seq as usize).min(self.entries.len());
        self.entries.get(start..).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// One JSON object per line, in sequence order.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            // Serializing our own plain data types cannot fail.
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
            out.push('\n');
        }
        out
    }

    /// Hex SHA-256 of `to_jsonl()`.
    pub fn hash(&self) -> String {
        let digest = Sha256::digest(self.to_jsonl().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}
