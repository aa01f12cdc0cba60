//! `POST /accounts/{hash}/previewOrder`'s answer (reference §2.3): the
//! order as it would stand, the quotes of its legs, what it would cost,
//! and the verdict of the checks the model runs, a rejection included
//! (still HTTP 200, §8.7).

use rust_decimal::Decimal;

use mbt::{Instrument, OrderRequest, Rejection};

use super::errors::{refusal, SchwabError};
use super::orders::{complex_word, duration_word, instruction_word, type_word};
use super::wire::{
    Commission, CommissionAndFee, CommissionLeg, Double, Fee, FeeLeg, FeeValue, OrderBalance,
    PreviewLeg, PreviewOrder, PreviewStrategy, Validation, ValidationResult,
};
use crate::brokerage::SimBrokerage;

/// The legs of `r`: instrument, side, effect and units.
fn legs(r: &OrderRequest) -> Vec<(Instrument, mbt::Side, Option<mbt::PositionEffect>, Decimal)> {
    match &r.legs {
        Some(legs) if !legs.is_empty() => legs
            .iter()
            .map(|l| {
                let qty = l.ratio_quantity.saturating_mul(r.quantity);
                (l.instrument.clone(), l.side, l.position_effect, qty)
            })
            .collect(),
        _ => vec![(r.instrument.clone(), r.side, r.position_effect, r.quantity)],
    }
}

/// The rejection as Schwab's validation lists it.
fn reject(rejection: &Rejection, symbol: &str) -> Validation {
    let text = match refusal(rejection, symbol) {
        SchwabError::Service { body, .. } => body.errors.join("; "),
        _ => rejection.message.clone(),
    };
    Validation {
        validation_rule_name: format!("{:?}", rejection.reason),
        message: text.clone(),
        activity_message: text,
        original_severity: "REJECT",
        override_name: "",
        override_severity: "REJECT",
    }
}

pub fn answer(
    b: &SimBrokerage,
    account: &str,
    r: &OrderRequest,
    advanced: &'static str,
    value: Decimal,
    rejected: Option<(Rejection, String)>,
) -> PreviewOrder {
    let fees = &b.profile().fees;
    let mut commission = Decimal::ZERO;
    let mut preview_legs = Vec::new();
    for ((instrument, side, effect, qty), leg_id) in legs(r).into_iter().zip(1u32..) {
        let leg_commission = fees.commission_for(&instrument, qty).unwrap_or_default();
        commission = commission.saturating_add(leg_commission);
        let quote = b.engine().quote(&instrument);
        let mark = b.engine().mark(&instrument).unwrap_or_default();
        preview_legs.push(PreviewLeg {
            ask_price: Double(quote.map_or(Decimal::ZERO, |q| q.ask)),
            bid_price: Double(quote.map_or(Decimal::ZERO, |q| q.bid)),
            last_price: Double(mark),
            mark_price: Double(mark),
            projected_commission: Double(leg_commission),
            quantity: Double(qty),
            final_symbol: instrument.to_string(),
            leg_id,
            asset_type: if instrument.is_option() {
                "OPTION"
            } else {
                "EQUITY"
            },
            instruction: instruction_word(side, effect, instrument.is_option()),
        });
    }
    let view = b.account(account);
    let available = view.as_ref().map_or(Decimal::ZERO, |a| a.cash);
    let buying_power = view.as_ref().map_or(Decimal::ZERO, |a| a.buying_power);
    let mut result = ValidationResult::default();
    if let Some((rejection, symbol)) = &rejected {
        result.rejects.push(reject(rejection, symbol));
    }
    let commission_legs = vec![CommissionLeg {
        commission_values: vec![FeeValue {
            value: Double(commission),
            kind: "COMMISSION",
        }],
    }];
    PreviewOrder {
        // Observed 0: a preview places nothing (§2.3).
        order_id: 0,
        order_strategy: PreviewStrategy {
            account_number: account.to_string(),
            advanced_order_type: advanced,
            order_balance: OrderBalance {
                order_value: Double(value),
                projected_available_fund: Double(available.saturating_sub(value)),
                projected_buying_power: Double(buying_power.saturating_sub(value)),
                projected_commission: Double(commission),
            },
            order_strategy_type: if advanced == "NONE" {
                "SINGLE"
            } else {
                "TRIGGER"
            },
            order_version: 0,
            session: "NORMAL",
            status: if rejected.is_some() {
                "REJECTED"
            } else {
                "ACCEPTED"
            },
            all_or_none: false,
            discretionary: false,
            duration: duration_word(r.time_in_force),
            filled_quantity: Double(Decimal::ZERO),
            order_type: type_word(r),
            order_value: Double(value),
            price: r.limit_price.map(Double),
            quantity: Double(r.quantity),
            remaining_quantity: Double(r.quantity),
            sell_non_marginable_first: false,
            settlement_instruction: "REGULAR",
            strategy: complex_word(r),
            amount_indicator: "SHARES",
            order_legs: preview_legs,
        },
        order_validation_result: result,
        commission_and_fee: CommissionAndFee {
            commission: Commission {
                commission_legs: commission_legs.clone(),
            },
            // Regulatory fees fall on sells and are computed per fill; the
            // preview shows none (the model does not project them).
            fee: Fee {
                fee_legs: vec![FeeLeg {
                    fee_values: vec![
                        FeeValue {
                            value: Double(Decimal::ZERO),
                            kind: "SEC_FEE",
                        },
                        FeeValue {
                            value: Double(Decimal::ZERO),
                            kind: "TAF_FEE",
                        },
                    ],
                }],
            },
            true_commission: Commission { commission_legs },
        },
    }
}
