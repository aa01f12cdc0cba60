//! What happens at a session close: day orders expire, and options that
//! expire that day settle — in-the-money longs are exercised and shorts
//! assigned at the strike, out-of-the-money ones expire worthless.

use rust_decimal::Decimal;

use super::Engine;
use crate::account::Account;
use crate::checked::{self, Checked};
use crate::instrument::{Instrument, OccSymbol, OptionRight};
use crate::log::EngineEvent;
use crate::order::{OrderId, OrderStatus, TimeInForce};
use crate::time::Timestamp;

impl Engine {
    pub(super) fn process_close(&mut self, close: Timestamp) {
        self.market.close_session();
        let date = close.date();
        let expiring_orders: Vec<OrderId> = self
            .orders()
            .filter(|o| {
                let expiring_option = matches!(&o.request.instrument, Instrument::Option { occ } if occ.expiry() <= date)
                    || o.request.legs.iter().flatten().any(
                        |l| matches!(&l.instrument, Instrument::Option { occ } if occ.expiry() <= date),
                    );
                o.status.is_working()
                    && (o.request.time_in_force == TimeInForce::Day || expiring_option)
            })
            .map(|o| o.id)
            .collect();
        for id in expiring_orders {
            let _ = self.finish(id, OrderStatus::Expired);
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

    /// Settles an expiring option position, all or nothing: booked on a copy
    /// of the account first. A settlement that cannot be represented (only
    /// absurd positions make one) is not made; the next close tries again.
    fn settle_option(&mut self, account_id: &str, instrument: &Instrument, quantity: Decimal) {
        let Instrument::Option { occ } = instrument else {
            return;
        };
        let spot = self.spot(occ.root());
        // OCC exercises automatically from one cent in the money.
        let cent = Decimal::new(1, 2);
        let in_the_money = spot.is_some_and(|s| {
            match occ.right() {
                OptionRight::Call => checked::sub(s, occ.strike()),
                OptionRight::Put => checked::sub(occ.strike(), s),
            }
            .is_ok_and(|by| by >= cent)
        });
        let Some(account) = self.accounts.get_mut(account_id) else {
            return;
        };
        let mut settled = account.clone();
        let Ok(event) = settle(&mut settled, occ, instrument, quantity, in_the_money) else {
            return;
        };
        *account = settled;
        self.log.push(self.now, event);
    }
}

/// Books an option's settlement on `account`: the option leaves the book at
/// zero (its premium is realized) and, in the money, the shares change hands
/// at the strike.
fn settle(
    account: &mut Account,
    occ: &OccSymbol,
    instrument: &Instrument,
    quantity: Decimal,
    in_the_money: bool,
) -> Checked<EngineEvent> {
    account.apply_fill(
        instrument,
        checked::neg(quantity),
        Decimal::ZERO,
        Decimal::ZERO,
    )?;
    if !in_the_money {
        return Ok(EngineEvent::OptionExpiredWorthless {
            account_id: account.id.clone(),
            instrument: instrument.clone(),
            quantity,
        });
    }
    let shares = checked::mul(quantity, instrument.multiplier())?;
    let signed = match occ.right() {
        OptionRight::Call => shares,
        OptionRight::Put => checked::neg(shares),
    };
    account.apply_fill(
        &Instrument::equity(occ.root()),
        signed,
        occ.strike(),
        Decimal::ZERO,
    )?;
    Ok(EngineEvent::OptionExercised {
        account_id: account.id.clone(),
        instrument: instrument.clone(),
        quantity,
        assigned: quantity < Decimal::ZERO,
    })
}
