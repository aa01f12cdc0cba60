import datetime
import json
import unittest
from decimal import Decimal

import support
from support import order_json, result_json

from raxx_bridge import (
    Account,
    CancelResult,
    Capabilities,
    ContractError,
    Description,
    Instrument,
    Leg,
    Order,
    OrderResult,
    OrderStatus,
    Position,
    Replace,
    Side,
    dec,
    format_occ,
    parse_occ,
    wire_decimal,
)
from raxx_bridge.types import positions_from_json, positions_to_json


class Decimals(unittest.TestCase):
    def test_strings_round_trip_exactly_with_their_scale(self):
        for text in ["189.50", "0", "10", "-3", "0.000000001", "105.8988475", "79228162514264337593543950334", "1.0000000000000000000000000001"]:
            self.assertEqual(wire_decimal(dec(text)), text)

    def test_other_forms_are_written_plain(self):
        self.assertEqual(wire_decimal(Decimal("1E+3")), "1000")
        self.assertEqual(wire_decimal(Decimal("1.5E-3")), "0.0015")
        self.assertEqual(wire_decimal(Decimal("-0")), "0")
        self.assertEqual(wire_decimal(Decimal("-0.00")), "0.00")
        self.assertEqual(wire_decimal(7), "7")
        self.assertEqual(wire_decimal("+2.5"), "2.5")

    def test_floats_are_never_money(self):
        with self.assertRaises(TypeError):
            dec(0.1)
        with self.assertRaises(TypeError):
            OrderResult(**dict(_result_kwargs(), filled_quantity=1.5))

    def test_non_decimals_are_refused(self):
        for bad in ["1e5", "NaN", "Infinity", " 1", "1,5", "", ".", "0x10", True, None, [], {}]:
            with self.assertRaises(ContractError, msg=repr(bad)):
                dec(bad)
        for bad in [Decimal("NaN"), Decimal("Infinity")]:
            with self.assertRaises(ContractError):
                dec(bad)

    def test_what_rust_decimal_cannot_hold_is_refused(self):
        with self.assertRaises(ContractError):
            dec("0." + "1" * 29)  # 29 places
        with self.assertRaises(ContractError):
            dec(str(1 << 96))
        dec(str((1 << 96) - 1))

    def test_json_numbers_are_refused_where_strings_are_due(self):
        for bad in [10, 10.0, None]:
            with self.assertRaises(ContractError, msg=repr(bad)):
                Order.from_json(order_json(quantity=bad))
        with self.assertRaises(ContractError):
            OrderResult.from_json(result_json(filled=3))


def _result_kwargs():
    return dict(
        broker_order_id="b",
        client_order_id="c",
        status="partially_filled",
        filled_quantity="3",
        remaining_quantity="7",
        broker_status="partially_filled",
        average_fill_price="1.25",
    )


class Shapes(unittest.TestCase):
    def test_order_json_is_the_contract_shape(self):
        # The same document as adapters/src/contract.rs's order test.
        expected = {
            "client_order_id": "intent-1",
            "instrument": {"kind": "equity", "symbol": "AAPL"},
            "side": "buy",
            "position_effect": None,
            "quantity": "10",
            "order_type": "limit",
            "limit_price": "189.50",
            "stop_price": None,
            "time_in_force": "day",
            "legs": None,
        }
        order = Order.from_json(expected)
        self.assertEqual(order.to_json(), expected)
        self.assertEqual(order.limit_price, Decimal("189.50"))
        self.assertEqual(order.side, "buy")
        self.assertIs(order.side, Side.BUY)
        self.assertEqual(str(order.side), "buy")
        self.assertEqual("%s" % order.order_type, "limit")
        self.assertEqual(Order.from_json(json.loads(json.dumps(order.to_json()))), order)

    def test_exits_are_absent_unless_sent_and_round_trip(self):
        plain = Order.from_json(order_json())
        self.assertNotIn("exits", plain.to_json())
        bracket = order_json(exits={"take_profit": "120", "stop_loss": {"stop_price": "90", "limit_price": None}})
        order = Order.from_json(bracket)
        self.assertEqual(order.exits.take_profit, Decimal("120"))
        self.assertEqual(order.exits.stop_loss.stop_price, Decimal("90"))
        self.assertEqual(order.to_json(), bracket)
        with self.assertRaises(ContractError):
            Order.from_json(order_json(exits={"take_profit": "120", "trail": "1"}))
        with self.assertRaises(ContractError):
            Order.from_json(order_json(exits={"stop_loss": {"limit_price": "1"}}))

    def test_missing_optionals_are_null_as_in_rust(self):
        o = order_json()
        for k in ("position_effect", "limit_price", "stop_price", "legs"):
            del o[k]
        order = Order.from_json(o)
        self.assertIsNone(order.legs)
        self.assertIn("legs", order.to_json())

    def test_option_orders_and_results_round_trip(self):
        order = Order.from_json(
            order_json(
                instrument={"kind": "option", "occ": "AAPL251219C00200000"},
                side="sell",
                position_effect="open",
                quantity="1",
                order_type="market",
                limit_price=None,
                time_in_force="gtc",
            )
        )
        self.assertTrue(order.instrument.is_option)
        # The compact form is accepted and the padded one is canonical.
        self.assertEqual(order.to_json()["instrument"], {"kind": "option", "occ": "AAPL  251219C00200000"})
        self.assertEqual(order.instrument.compact, "AAPL251219C00200000")
        self.assertEqual(order.instrument.root, "AAPL")
        r = OrderResult(**_result_kwargs())
        j = json.dumps(r.to_json())
        self.assertIn('"status": "partially_filled"', j)
        self.assertIn('"average_fill_price": "1.25"', j)
        self.assertEqual(OrderResult.from_json(json.loads(j)), r)

    def test_legs(self):
        legs = [
            {"instrument": {"kind": "option", "occ": "SPY   260116P00400000"}, "side": "buy", "position_effect": "open", "ratio_quantity": "1"},
            {"instrument": {"kind": "option", "occ": "SPY   260116P00410000"}, "side": "sell", "position_effect": "open", "ratio_quantity": "1"},
        ]
        order = Order.from_json(order_json(legs=legs, instrument={"kind": "equity", "symbol": "SPY"}))
        self.assertTrue(order.is_multi_leg)
        self.assertIsInstance(order.legs[0], Leg)
        self.assertEqual(order.to_json()["legs"], legs)
        with self.assertRaises(ContractError):
            Leg.from_json(dict(legs[0], extra=1))

    def test_unknown_fields_are_refused_where_rust_refuses_them(self):
        cases = [
            (Order, order_json()),
            (OrderResult, result_json()),
            (CancelResult, {"broker_order_id": "b", "status": "canceled"}),
            (Replace, {"limit_price": "1"}),
            (Position, {"account_id": "PA1", "instrument": {"kind": "equity", "symbol": "X"}, "quantity": "-2", "average_price": "3"}),
            (Account, {"account_id": "PA1", "cash": "1", "buying_power": "2", "equity": "3"}),
            (Capabilities, Capabilities().to_json()),
            (Description, Description("n", "alpaca", "A", Capabilities()).to_json()),
        ]
        for cls, good in cases:
            cls.from_json(good)
            with self.assertRaises(ContractError, msg=cls.__name__):
                cls.from_json(dict(good, surprise=1))
        with self.assertRaises(ContractError):
            positions_from_json({"positions": [], "more": 1})

    def test_instruments_ignore_unknown_fields_like_rust(self):
        i = Instrument.from_json({"kind": "equity", "symbol": "AAPL", "exchange": "X"})
        self.assertEqual(i, Instrument.equity("AAPL"))
        with self.assertRaises(ContractError):
            Instrument.from_json({"kind": "future", "symbol": "ES"})
        with self.assertRaises(ContractError):
            Instrument.from_json({"kind": "option", "occ": "AAPL"})

    def test_words_are_checked(self):
        with self.assertRaises(ContractError):
            Order.from_json(order_json(side="short"))
        with self.assertRaises(ContractError):
            OrderResult.from_json(result_json(status="open"))
        with self.assertRaises(ContractError):
            CancelResult.from_json({"broker_order_id": "b", "status": "filled"})

    def test_statuses_know_their_stage(self):
        self.assertEqual([s.stage for s in OrderStatus], [0, 1, 1, 3, 3, 3, 3, 2, 3])
        self.assertTrue(OrderStatus.REPLACED.is_terminal)
        self.assertFalse(OrderStatus.PENDING_CANCEL.is_terminal)

    def test_replace_writes_only_its_changes(self):
        r = Replace.from_json({"quantity": "5", "limit_price": "10.25", "time_in_force": "gtc"})
        self.assertEqual(r.to_json(), {"quantity": "5", "limit_price": "10.25", "time_in_force": "gtc"})
        self.assertEqual(Replace.from_json({"quantity": None}).to_json(), {})
        self.assertTrue(Replace().is_empty())
        with self.assertRaises(ContractError):
            Replace.from_json({"time_in_force": "opg"})

    def test_positions_and_account(self):
        p = Position("PA1", Instrument.option("SPY   260116P00400000"), "-2", "1.05")
        doc = positions_to_json([p])
        self.assertEqual(doc["positions"][0]["quantity"], "-2")
        self.assertEqual(positions_from_json(doc), [p])
        a = Account("PA1", "100000", Decimal("99000.50"), 100000)
        self.assertEqual(a.to_json(), {"account_id": "PA1", "cash": "100000", "buying_power": "99000.50", "equity": "100000"})

    def test_description_omits_an_absent_timeout(self):
        d = Description("n", "alpaca", "A", Capabilities(order_types=["market", "stop_limit"]))
        self.assertNotIn("request_timeout_ms", d.to_json())
        self.assertEqual(d.to_json()["capabilities"]["order_types"], ["market", "stop_limit"])
        d.request_timeout_ms = 2000
        self.assertEqual(Description.from_json(d.to_json()).request_timeout_ms, 2000)
        with self.assertRaises(ContractError):
            Description("n", "alpaca", "D", Capabilities())


class Occ(unittest.TestCase):
    def test_parse_and_format(self):
        self.assertEqual(parse_occ("AAPL  251219C00200000"), ("AAPL", datetime.date(2025, 12, 19), "C", Decimal("200")))
        self.assertEqual(parse_occ("SPY260902P00765500")[3], Decimal("765.5"))
        self.assertEqual(str(parse_occ("BRK   260102C01000000")[3]), "1000")
        self.assertEqual(format_occ("AAPL", datetime.date(2025, 12, 19), "call", "200"), "AAPL  251219C00200000")
        self.assertEqual(format_occ("X", datetime.date(2026, 1, 2), "P", Decimal("0.5")), "X     260102P00000500")

    def test_bad_symbols(self):
        for bad in ["AAPL", "aapl  251219C00200000", "AAPL  251319C00200000", "AAPL  251219X00200000",
                    "AAPL  251219C0020000A", "AAPL  251219C00000000", "AA PL251219C00200000", "TOOLONG251219C00200000"]:
            with self.assertRaises(ContractError, msg=bad):
                parse_occ(bad)


if __name__ == "__main__":
    unittest.main()
