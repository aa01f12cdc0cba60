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
use crate::tail::{self, Tail};
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

/// The log. A long-running server may forget its oldest entries
/// (`forget_before`); sequence numbers and `len` still count them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventLog {
    /// Numbered by sequence: an entry's number is its `seq`.
    entries: Tail<LogEntry>,
    /// When the first entry ever was logged.
    first_time: Option<Timestamp>,
}

impl EventLog {
    pub fn push(&mut self, time: Timestamp, event: EngineEvent) -> u64 {
        let seq = self.entries.next_number();
        self.entries.push(LogEntry { seq, time, event });
        self.first_time.get_or_insert(time);
        seq
    }

    /// The entries kept, oldest first: every entry unless some were forgotten.
    pub fn entries(&self) -> tail::Iter<'_, LogEntry> {
        self.entries.iter()
    }

    /// Entries from sequence number `seq` on: how a consumer (a broker's
    /// stream, a trace) follows the log without copying what it has seen.
    /// A consumer that fell behind what was forgotten gets what is kept.
    pub fn since(&self, seq: u64) -> tail::Iter<'_, LogEntry> {
        self.entries.since(seq)
    }

    /// How many entries were ever logged: the next entry's sequence number.
    pub fn len(&self) -> usize {
        usize::try_from(self.entries.next_number()).unwrap_or(usize::MAX)
    }

    /// When the first entry ever was logged, forgotten or not.
    pub fn first_time(&self) -> Option<Timestamp> {
        self.first_time
    }

    /// Forgets the entries before sequence number `seq`. Only a served
    /// model does, which nothing compares by hash: folding each entry into
    /// a running hash cost a quarter of an order's time there.
    pub fn forget_before(&mut self, seq: u64) {
        self.entries.forget_before(seq);
    }

    /// How many entries were forgotten.
    pub fn forgotten(&self) -> u64 {
        self.entries.forgotten()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// One JSON object per line, in sequence order (the entries kept).
    pub fn to_jsonl(&self) -> String {
        self.entries.iter().map(json_line).collect()
    }

    /// Hex SHA-256 of `to_jsonl()`: of the whole log when nothing was
    /// forgotten, which is how determinism tests use it.
    pub fn hash(&self) -> String {
        let digest = Sha256::digest(self.to_jsonl().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One entry as its JSON line, newline included.
fn json_line(e: &LogEntry) -> String {
    // Serializing our own plain data types cannot fail.
    let mut line = serde_json::to_string(e).unwrap_or_default();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgetting_keeps_numbers_and_the_first_time() {
        let mut all = EventLog::default();
        for d in 1..=5u32 {
            let date = chrono::NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
            all.push(
                Timestamp::from_millis(i64::from(d)),
                EngineEvent::SessionClosed { date },
            );
        }
        let mut trimmed = all.clone();
        trimmed.forget_before(3);
        assert_eq!(trimmed.len(), 5);
        assert_eq!(trimmed.entries().len(), 2);
        assert_eq!(trimmed.since(0).next().map(|e| e.seq), Some(3));
        assert_eq!(trimmed.since(4).len(), 1);
        assert_eq!(trimmed.forgotten(), 3);
        assert_eq!(trimmed.first_time(), all.first_time());
        let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 9).unwrap();
        assert_eq!(
            trimmed.push(
                Timestamp::from_millis(9),
                EngineEvent::SessionClosed { date }
            ),
            5
        );
    }
}
