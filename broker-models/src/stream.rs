//! What the vendors' order-status streams share: how often they look for
//! new broker events, and how stream faults reshape what goes on the wire.

use std::time::Duration;

use serde_json::Value;

use crate::faults::StreamFaults;

/// How often, in simulated time, a stream looks for new order events.
pub const POLL: Duration = Duration::from_millis(50);

/// What goes on the wire for one poll's updates under this connection's
/// faults. A reordered event waits for the next one and goes out after it;
/// a held event with no successor by the next quiet poll goes out then, so
/// reordering delays an event but never swallows it.
pub fn reshape(faults: &StreamFaults, held: &mut Option<Value>, updates: Vec<Value>) -> Vec<Value> {
    if updates.is_empty() {
        let late: Vec<Value> = held.take().into_iter().collect();
        return duplicated(faults, late);
    }
    updates
        .into_iter()
        .flat_map(|u| apply_faults(faults, held, u))
        .collect()
}

fn duplicated(faults: &StreamFaults, out: Vec<Value>) -> Vec<Value> {
    if faults.duplicate {
        out.into_iter().flat_map(|v| [v.clone(), v]).collect()
    } else {
        out
    }
}

/// What goes on the wire for one update under this connection's faults:
/// duplicated events are sent twice; reordered ones swap with the next.
fn apply_faults(faults: &StreamFaults, held: &mut Option<Value>, update: Value) -> Vec<Value> {
    let mut out = Vec::new();
    if faults.reorder {
        match held.take() {
            None => {
                *held = Some(update);
                return out;
            }
            Some(first) => {
                out.push(update);
                out.push(first);
            }
        }
    } else {
        out.push(update);
    }
    duplicated(faults, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_and_reorder() {
        let mut held = None;
        let dup = StreamFaults {
            duplicate: true,
            ..StreamFaults::default()
        };
        assert_eq!(
            apply_faults(&dup, &mut held, json!(1)),
            vec![json!(1), json!(1)]
        );
        let swap = StreamFaults {
            reorder: true,
            ..StreamFaults::default()
        };
        assert!(apply_faults(&swap, &mut held, json!(1)).is_empty());
        assert_eq!(
            apply_faults(&swap, &mut held, json!(2)),
            vec![json!(2), json!(1)]
        );
        // A held event with no successor goes out on the next quiet poll.
        assert!(reshape(&swap, &mut held, vec![json!(3)]).is_empty());
        assert_eq!(reshape(&swap, &mut held, vec![]), vec![json!(3)]);
        assert_eq!(reshape(&swap, &mut held, vec![]), Vec::<Value>::new());
        assert_eq!(
            apply_faults(&StreamFaults::default(), &mut None, json!(3)),
            vec![json!(3)]
        );
    }
}
