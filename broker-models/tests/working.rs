//! What an account's open orders still have to trade (`working_quantity`:
//! Alpaca's `held_for_orders`, a position's `qty_available`) is kept as
//! orders change rather than summed at each request. After any mix of
//! submits, fills, partial closes, replaces, cancels and brackets, at any
//! moment (straight after a request, before the broker looked at what it
//! changed), it must be what summing every open order gives.

mod common;

use axum::http::Method;
use rust_decimal::Decimal;

use broker_models::brokerage::WorkingOf;
use broker_models::faults::FaultPlan;
use common::Client;
use mbt::rng::{below, rng_for};
use mbt::{Instrument, Side};

#[tokio::test(start_paused = true)]
async fn the_working_quantity_kept_is_the_sum_over_open_orders() {
    let c = Client::authed("alpaca", 11, FaultPlan::default());
    c.shared.lock().disable_rate_limits();
    let account = c.shared.lock().account_numbers()[0].clone();
    let aapl = Instrument::equity("AAPL");
    let mut rng = rng_for(11, "working quantity");
    let mut ids: Vec<String> = Vec::new();
    let mut held_seen = std::collections::BTreeSet::new();
    let mut refused_for_held = 0;
    for step in 0..600 {
        let mid = {
            let b = c.shared.lock();
            b.engine()
                .quote(&aapl)
                .map(|q| q.mid())
                .unwrap_or(Decimal::ONE_HUNDRED)
        };
        let qty = below(&mut rng, 4) + 1;
        let away = Decimal::from(below(&mut rng, 4) + 1);
        let pick = |rng: &mut _| ids.get(below(rng, ids.len() as u64) as usize).cloned();
        let reply = match below(&mut rng, 9) {
            0 | 1 => Some(order(&c, &format!(r#""qty":"{qty}","side":"buy","type":"market","time_in_force":"day""#)).await),
            2 => Some(order(&c, &format!(r#""qty":"{qty}","side":"sell","type":"market","time_in_force":"day""#)).await),
            3 => Some(order(&c, &format!(r#""qty":"{qty}","side":"sell","type":"limit","limit_price":"{}","time_in_force":"gtc""#, (mid + away).round_dp(2))).await),
            4 => Some(order(&c, &format!(
                r#""qty":"{qty}","side":"buy","type":"market","time_in_force":"gtc","order_class":"bracket","take_profit":{{"limit_price":"{}"}},"stop_loss":{{"stop_price":"{}"}}"#,
                (mid + away).round_dp(2), (mid - away).round_dp(2)
            )).await),
            5 => match pick(&mut rng) {
                Some(id) => Some(c.send(Method::PATCH, &format!("/v2/orders/{id}"), "application/json", &format!(r#"{{"qty":"{qty}"}}"#)).await),
                None => None,
            },
            6 => match pick(&mut rng) {
                Some(id) => Some(c.send(Method::DELETE, &format!("/v2/orders/{id}"), "application/json", "").await),
                None => None,
            },
            7 => Some(c.send(Method::DELETE, "/v2/positions/AAPL?qty=1", "application/json", "").await),
            _ => {
                let mut b = c.shared.lock();
                let moved = mid + Decimal::from(below(&mut rng, 5)) - Decimal::TWO;
                assert!(b.set_price("AAPL", moved.max(Decimal::ONE)));
                None
            }
        };
        let body = reply.and_then(|r| serde_json::from_str::<serde_json::Value>(&r.text).ok());
        if let Some(body) = body {
            if let Some(id) = body["id"].as_str() {
                ids.push(id.to_string());
            }
            if body["held_for_orders"].as_str().is_some_and(|h| h != "0") {
                refused_for_held += 1;
            }
        }
        // Sometimes straight on, sometimes after the market moved on.
        match below(&mut rng, 3) {
            0 => {}
            1 => c.shared.lock().advance(50),
            _ => c.shared.lock().advance(400),
        }
        let b = c.shared.lock();
        for side in [Side::Buy, Side::Sell] {
            let of = WorkingOf {
                account: &account,
                instrument: &aapl,
                side,
                except: &[],
                except_group: None,
            };
            let kept = b.working_quantity(&of);
            let summed = b.working_quantity_scan(&of);
            assert_eq!(kept, summed, "step {step}, {side:?}");
            held_seen.insert(kept);
            // An order left out (a replace's own order) comes out of both.
            if let Some(id) = ids.last() {
                let except = [id.clone()];
                assert_eq!(
                    b.working_quantity(&WorkingOf {
                        except: &except,
                        ..of
                    }),
                    b.working_quantity_scan(&WorkingOf {
                        except: &except,
                        ..of
                    }),
                    "step {step}, {side:?}, without {id}"
                );
            }
        }
    }
    assert!(held_seen.len() >= 5, "few holdings seen: {held_seen:?}");
    assert!(refused_for_held > 0, "no sell was refused for shares held");
}

async fn order(c: &Client, fields: &str) -> common::Reply {
    c.post_json("/v2/orders", &format!(r#"{{"symbol":"AAPL",{fields}}}"#))
        .await
}
