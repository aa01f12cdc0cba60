//! What happens at a session close: day orders expire, and options that
//! expire that day settle — in-the-money longs are exercised and shorts
//! assigned at the strike, out-of-the-money ones expire worthless.

use rust_decimal::Decimal;

use super::Engine;
use crate::instrument::{Instrument, OptionRight};
use crate::log::EngineEvent;
use crate::order::{OrderStatus, TimeInForce};
use crate::time::Timestamp;

impl Engine {
    pub(super) fn process_close(&mut self, close: Timestamp) {
        let date = close.date();
        for i in 0..self.orders.len() {
            let o = &self.orders[i];
            let expiring_option = matches!(&o.request.instrument, Instrument::Option { occ } if occ.expiry() <= date)
                || o.request.legs.iter().flatten().any(
                    |l| matches!(&l.instrument, Instrument::Option { occ } if occ.expiry() <= date),
                );
            if o.status.is_working()
                && (o.request.time_in_force == TimeInForce::Day || expiring_option)
            {
                let _ = self.finish(o.id, OrderStatus::Expired);
            }
        }
        let expiring: Vec<(String, Instrument, Decimal)> = self
            .accounts
            .values()
            .flat_map(|a| {
                a.positions
                    .values()
                    .filter_map(move |p| match &p.instrument {
                        Instrument::Option { occ } if occ.expiry() <= date => {
                            Some((a.id.clone(), p.instrument.clone(), p.quantity))
                        }
                        _ => None,
                    })
            })
            .collect();
        for (account_id, instrument, quantity) in expiring {
            self.settle_option(&account_id, &instrument, quantity);
        }
        self.log.push(close, EngineEvent::SessionClosed { date });
    }

    fn settle_option(&mut self, account_id: &str, instrument: &Instrument, quantity: Decimal) {
        let Instrument::Option { occ } = instrument else {
            return;
        };
        let spot = self.spot(occ.root());
        // OCC exercises automatically from one cent in the money.
        let cent = Decimal::new(1, 2);
        let in_the_money = spot.is_some_and(|s| match occ.right() {
            OptionRight::Call => s - occ.strike() >= cent,
            OptionRight::Put => occ.strike() - s >= cent,
        });
        let Some(account) = self.accounts.get_mut(account_id) else {
            return;
        };
        // The option leaves the book at zero; its premium is realized.
        account.apply_fill(instrument, -quantity, Decimal::ZERO, Decimal::ZERO);
        let event = if in_the_money {
            let shares = quantity * instrument.multiplier();
            let signed = match occ.right() {
                OptionRight::Call => shares,
                OptionRight::Put => -shares,
            };
            account.apply_fill(
                &Instrument::equity(occ.root()),
                signed,
                occ.strike(),
                Decimal::ZERO,
            );
            EngineEvent::OptionExercised {
                account_id: account_id.to_string(),
                instrument: instrument.clone(),
                quantity,
                assigned: quantity < Decimal::ZERO,
            }
        } else {
            EngineEvent::OptionExpiredWorthless {
                account_id: account_id.to_string(),
                instrument: instrument.clone(),
                quantity,
            }
        };
        self.log.push(self.now, event);
    }
}
