"""alpaca-py, pointed at the simulated Alpaca with url_override, parses and
validates (pydantic) every answer the simulator gives."""

import asyncio
import json
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
import websockets.sync.client
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import (
    AssetClass,
    AssetExchange,
    ContractType,
    OrderClass,
    OrderSide,
    OrderStatus,
    PositionSide,
    QueryOrderStatus,
    TimeInForce,
)
from alpaca.trading import models
from alpaca.trading.models import NonTradeActivity, TradeActivity
from alpaca.trading.requests import (
    CancelOrderResponse,
    ClosePositionRequest,
    GetAssetsRequest,
    GetCalendarRequest,
    GetOptionContractsRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)
from alpaca.trading.stream import TradingStream
from pydantic import TypeAdapter

FIXTURES = Path(__file__).resolve().parents[2] / "test_data" / "alpaca"

BROKER = "alpaca"
# Client order ids with this prefix fill one unit per market event (a per-request trigger).
PARTIAL_TRIGGER = "sim-partial-"


@pytest.fixture(scope="module")
def client(served):
    c = served["credentials"]
    return TradingClient(c["key_id"], c["secret_key"], paper=True, url_override=served["base_url"])


@pytest.fixture(scope="module")
def raw(served):
    c = served["credentials"]
    return TradingClient(c["key_id"], c["secret_key"], paper=True, url_override=served["base_url"], raw_data=True)


def test_the_vendor_bodies_in_test_data_validate_with_alpaca_py():
    """The fixtures the face and adapter tests read are bodies alpaca-py takes."""

    def body(name):
        return json.loads((FIXTURES / name).read_text())

    for path in sorted(FIXTURES.glob("order_*.json")):
        models.Order(**json.loads(path.read_text()))
    for p in body("positions.json"):
        models.Position(**p)
    models.TradeAccount(**body("account.json"))
    models.AccountConfiguration(**body("account_configurations.json"))
    models.Clock(**body("clock.json"))
    for d in body("calendar.json"):
        models.Calendar(**d)
    models.Asset(**body("asset.json"))
    models.OptionContract(**body("option_contract.json"))
    models.OptionContractsResponse(**body("option_contracts.json"))
    trade, non_trade = body("activities.json")
    TradeActivity(**trade)
    NonTradeActivity(**non_trade)
    TypeAdapter(list[models.ClosePositionResponse]).validate_python(body("close_all.json"))
    TypeAdapter(list[CancelOrderResponse]).validate_python(body("cancel_all.json"))
    for name in ("stream_trade_update_new.json", "stream_trade_update_fill.json"):
        models.TradeUpdate(**body(name)["data"])


def wait_for(fn, until, timeout=5.0):
    deadline = time.time() + timeout
    value = fn()
    while not until(value) and time.time() < deadline:
        time.sleep(0.05)
        value = fn()
    return value


def test_account(client, raw, served):
    a = client.get_account()
    assert a.account_number == served["accounts"][0]
    assert a.status.value == "ACTIVE"
    assert float(a.cash) == 100000.0
    r = raw.get_account()
    for field in ("cash", "buying_power", "equity", "portfolio_value"):
        assert isinstance(r[field], str), field


def test_market_order_fills_and_becomes_a_position(client):
    o = client.submit_order(MarketOrderRequest(symbol="AAPL", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, client_order_id="sdk-mkt-1"))
    assert isinstance(o.id, uuid.UUID)
    o = wait_for(lambda: client.get_order_by_id(o.id), lambda x: x.status == OrderStatus.FILLED)
    assert o.status == OrderStatus.FILLED
    assert o.filled_qty == "3" and float(o.filled_avg_price) > 0
    assert client.get_order_by_client_id("sdk-mkt-1").id == o.id
    p = client.get_open_position("AAPL")
    assert p.qty == "3" and p.side == PositionSide.LONG and p.asset_class == AssetClass.US_EQUITY
    assert any(x.symbol == "AAPL" for x in client.get_all_positions())
    closed = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED))
    assert o.id in [x.id for x in closed]


def test_limit_rests_lists_open_then_cancels(client):
    o = client.submit_order(LimitOrderRequest(symbol="MSFT", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=1.00))
    # The first state Alpaca answers, whichever it is (reference 2.1); never a fill.
    assert o.status in (OrderStatus.PENDING_NEW, OrderStatus.ACCEPTED, OrderStatus.NEW)
    assert o.id in [x.id for x in client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))]
    assert client.cancel_order_by_id(o.id) is None
    # Cancel is asynchronous (reference 2.7): pending_cancel, then canceled.
    assert client.get_order_by_id(o.id).status in (OrderStatus.PENDING_CANCEL, OrderStatus.CANCELED)
    deadline = time.monotonic() + 5
    while client.get_order_by_id(o.id).status != OrderStatus.CANCELED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get_order_by_id(o.id).status == OrderStatus.CANCELED


def test_replace_creates_a_new_order(client):
    o = client.submit_order(LimitOrderRequest(symbol="SPY", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=2.00))
    new = client.replace_order_by_id(o.id, ReplaceOrderRequest(qty=2, limit_price=2.50))
    assert new.id != o.id and new.replaces == o.id and new.qty == "2"
    old = client.get_order_by_id(o.id)
    assert old.status == OrderStatus.REPLACED and old.replaced_by == new.id
    client.cancel_order_by_id(new.id)


def test_duplicate_client_order_id_is_an_api_error_422(client):
    req = MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, client_order_id="sdk-dup")
    client.submit_order(req)
    with pytest.raises(APIError) as e:
        client.submit_order(req)
    assert e.value.status_code == 422
    assert e.value.code == 40010001
    assert "client_order_id must be unique" in e.value.message


def test_unknown_symbol_and_buying_power_are_api_errors(client):
    with pytest.raises(APIError) as e:
        client.submit_order(MarketOrderRequest(symbol="ZZZQ", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert e.value.status_code == 422 and e.value.code == 42210000
    with pytest.raises(APIError) as e:
        client.submit_order(MarketOrderRequest(symbol="AAPL", qty=100000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert e.value.status_code == 403 and e.value.message == "insufficient buying power"


def test_cancel_of_a_filled_order_is_422(client):
    o = client.submit_order(MarketOrderRequest(symbol="QQQ", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    wait_for(lambda: client.get_order_by_id(o.id), lambda x: x.status == OrderStatus.FILLED)
    with pytest.raises(APIError) as e:
        client.cancel_order_by_id(o.id)
    assert e.value.status_code == 422 and e.value.code == 42210000


def test_option_order_by_occ_symbol(client):
    o = client.submit_order(MarketOrderRequest(symbol="AAPL260116C00190000", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert o.asset_class == AssetClass.US_OPTION
    o = wait_for(lambda: client.get_order_by_id(o.id), lambda x: x.status == OrderStatus.FILLED)
    assert o.status == OrderStatus.FILLED
    assert client.get_open_position("AAPL260116C00190000").qty == "1"


def test_partial_fills_are_visible_through_the_sdk(client):
    o = client.submit_order(MarketOrderRequest(symbol="NVDA", qty=4, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, client_order_id=PARTIAL_TRIGGER + "1"))
    seen = set()
    deadline = time.time() + 5
    while time.time() < deadline:
        cur = client.get_order_by_id(o.id)
        seen.add((cur.status, cur.filled_qty))
        if cur.status == OrderStatus.FILLED:
            break
        time.sleep(0.05)
    assert any(s == OrderStatus.PARTIALLY_FILLED and q in ("1", "2", "3") for s, q in seen), seen
    assert (OrderStatus.FILLED, "4") in seen


def test_trade_updates_stream(client, served):
    c = served["credentials"]
    stream = TradingStream(c["key_id"], c["secret_key"], paper=True, url_override=served["base_url"].replace("http", "ws") + "/stream")
    events = []

    async def on_update(data):
        events.append((data.event, data.order.status, data.order.filled_qty, data.qty, data.execution_id))
        if data.event in ("fill",):
            await stream.stop_ws()

    stream.subscribe_trade_updates(on_update)
    t = threading.Thread(target=stream.run, daemon=True)
    t.start()
    time.sleep(0.5)
    client.submit_order(MarketOrderRequest(symbol="TSLA", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, client_order_id=PARTIAL_TRIGGER + "stream"))
    t.join(10)
    names = [e[0] for e in events]
    assert names[0] == "new" and events[0][1] == OrderStatus.NEW and events[0][2] == "0", events
    assert "partial_fill" in names and names[-1] == "fill", events
    fill = events[-1]
    assert fill[1] == OrderStatus.FILLED and fill[2] == "2" and fill[3] == 1.0
    assert isinstance(fill[4], uuid.UUID)


def filled(client, request):
    o = client.submit_order(request)
    return wait_for(lambda: client.get_order_by_id(o.id), lambda x: x.status == OrderStatus.FILLED)


def refused(fn):
    with pytest.raises(APIError) as e:
        fn()
    return e.value


def test_order_rules_alpaca_refuses_are_refused_with_its_codes(client):
    day_limit = dict(symbol="AMD", side=OrderSide.BUY, limit_price=1.00)
    e = refused(lambda: client.submit_order(LimitOrderRequest(qty=0.5, time_in_force=TimeInForce.GTC, **day_limit)))
    assert (e.status_code, e.code, e.message) == (422, 42210000, "fractional orders must be DAY orders")
    e = refused(lambda: client.submit_order(MarketOrderRequest(symbol="AMD", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, extended_hours=True)))
    assert (e.status_code, e.message) == (422, "extended hours order must be DAY limit orders")
    e = refused(lambda: client.submit_order(LimitOrderRequest(symbol="AAPL260116C00190000", qty=1, side=OrderSide.BUY, limit_price=1.00, time_in_force=TimeInForce.GTC)))
    assert (e.status_code, e.code) == (422, 42210000)
    e = refused(lambda: client.submit_order(MarketOrderRequest(symbol="AMD", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.OPG)))
    assert (e.status_code, e.code) == (403, 40310000) and e.message.startswith("opg orders must be submitted")


def test_extended_hours_fractional_and_notional_orders_are_echoed(client):
    o = client.submit_order(LimitOrderRequest(symbol="AMD", qty=1, side=OrderSide.BUY, limit_price=1.00, time_in_force=TimeInForce.DAY, extended_hours=True))
    assert o.extended_hours is True and client.get_order_by_id(o.id).extended_hours is True
    client.cancel_order_by_id(o.id)
    o = filled(client, MarketOrderRequest(symbol="AMD", qty=0.5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert o.filled_qty == "0.5"
    o = client.submit_order(MarketOrderRequest(symbol="AMD", notional=500, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert o.notional == "500" and o.qty is None


def test_a_trailing_stop_shows_its_trail_mark_and_stop_and_takes_a_new_trail(client):
    request = TrailingStopOrderRequest(symbol="AMD", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, trail_percent=5.0)
    o = client.submit_order(request)
    assert o.order_type == "trailing_stop" and o.trail_percent == "5" and o.trail_price is None
    o = wait_for(lambda: client.get_order_by_id(o.id), lambda x: x.status == OrderStatus.NEW)
    # A buy trails the lowest ask from above.
    assert float(o.stop_price) > float(o.hwm) > 0
    new = client.replace_order_by_id(o.id, ReplaceOrderRequest(trail=3.0))
    assert new.replaces == o.id and new.trail_percent == "3"
    new = wait_for(lambda: client.get_order_by_id(new.id), lambda x: x.status == OrderStatus.NEW)
    assert float(new.hwm) <= float(o.hwm) and float(new.stop_price) < float(o.stop_price)
    e = refused(lambda: client.submit_order(TrailingStopOrderRequest(symbol="AMD", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, trail_percent=0.05)))
    assert (e.status_code, e.code, e.message) == (422, 40010001, "trail_percent must be greater than or equal to 0.1")
    client.cancel_order_by_id(new.id)


def exits_around(price, stop_limit=None):
    """A take-profit 50% above `price` and a stop 50% below it."""
    return dict(
        take_profit=TakeProfitRequest(limit_price=round(price * 1.5, 2)),
        stop_loss=StopLossRequest(stop_price=round(price * 0.5, 2), limit_price=stop_limit),
    )


def test_a_bracket_holds_its_exits_then_an_oco_protects_the_position(client):
    price = float(filled(client, MarketOrderRequest(symbol="AMD", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)).filled_avg_price)
    bracket = client.submit_order(
        MarketOrderRequest(
            symbol="AMD", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
            order_class=OrderClass.BRACKET, **exits_around(price, stop_limit=round(price * 0.49, 2)),
        )
    )
    assert bracket.order_class == OrderClass.BRACKET
    assert [leg.status for leg in bracket.legs] == [OrderStatus.HELD, OrderStatus.HELD]
    wait_for(lambda: client.get_order_by_id(bracket.id), lambda o: o.status == OrderStatus.FILLED)
    nested = wait_for(
        lambda: [o for o in client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, nested=True, symbols=["AMD"])) if o.id == bracket.id],
        lambda found: found and [leg.status for leg in found[0].legs] == [OrderStatus.NEW, OrderStatus.NEW],
    )
    assert [leg.status for leg in nested[0].legs] == [OrderStatus.NEW, OrderStatus.NEW]
    # Canceling one exit cancels the other; the cancel lands a moment later.
    client.cancel_order_by_id(nested[0].legs[0].id)
    for leg in nested[0].legs:
        assert wait_for(lambda: client.get_order_by_id(leg.id), lambda o: o.status == OrderStatus.CANCELED).status == OrderStatus.CANCELED
    oco = client.submit_order(
        LimitOrderRequest(
            symbol="AMD", qty=3, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
            order_class=OrderClass.OCO, **exits_around(price),
        )
    )
    assert oco.order_class == OrderClass.OCO and len(oco.legs) == 1
    e = refused(lambda: client.submit_order(LimitOrderRequest(symbol="AMD", qty=1, side=OrderSide.BUY, limit_price=round(price, 2), time_in_force=TimeInForce.DAY, order_class=OrderClass.BRACKET, take_profit=TakeProfitRequest(limit_price=round(price, 2)), stop_loss=StopLossRequest(stop_price=round(price * 0.5, 2)))))
    assert (e.status_code, e.code, e.message) == (422, 42210000, "take_profit.limit_price must be >= base_price + 0.01")
    client.cancel_order_by_id(oco.id)


def test_a_sell_may_not_flip_a_long_and_says_what_is_available(client):
    filled(client, MarketOrderRequest(symbol="JPM", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    e = refused(lambda: client.submit_order(MarketOrderRequest(symbol="JPM", qty=8, side=OrderSide.SELL, time_in_force=TimeInForce.DAY)))
    body = json.loads(str(e))
    assert (e.status_code, e.code) == (403, 40310000)
    assert (body["available"], body["existing_qty"], body["held_for_orders"], body["symbol"]) == ("5", "5", "0", "JPM")


def test_short_sales_need_three_percent_above_the_ask(client):
    e = refused(lambda: client.submit_order(LimitOrderRequest(symbol="NFLX", qty=250, side=OrderSide.SELL, limit_price=1.00, time_in_force=TimeInForce.DAY)))
    body = json.loads(str(e))
    assert (e.status_code, e.message) == (403, "insufficient buying power")
    assert float(body["cost_basis"]) > float(body["buying_power"])


def test_close_one_position_answers_the_closing_order(client):
    filled(client, MarketOrderRequest(symbol="BAC", qty=10, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    o = client.close_position("BAC", ClosePositionRequest(percentage="50"))
    assert o.side == OrderSide.SELL and o.qty == "5" and o.symbol == "BAC"
    wait_for(lambda: client.get_order_by_id(o.id), lambda x: x.status == OrderStatus.FILLED)
    assert client.get_open_position("BAC").qty == "5"
    e = refused(lambda: client.close_position("MSFT"))
    assert (e.status_code, e.code, e.message) == (404, 40410000, "position does not exist")


def test_exercise_is_refused_loudly(client):
    e = refused(lambda: client.exercise_options_position("AAPL260116C00190000"))
    assert (e.status_code, e.code) == (422, 42210000) and "not simulated" in e.message


def test_assets_calendar_clock_and_contracts(client):
    arca = client.get_all_assets(GetAssetsRequest(exchange=AssetExchange.ARCA))
    assert {"SPY", "IWM"} <= {a.symbol for a in arca}
    assert client.get_asset("AAPL").exchange == AssetExchange.NASDAQ
    e = refused(lambda: client.get_asset("ZZZQ"))
    assert (e.status_code, e.code, e.message) == (404, 40410000, "asset not found for ZZZQ")
    days = client.get_calendar(GetCalendarRequest(start=date(2026, 1, 2), end=date(2026, 1, 6)))
    assert [d.date for d in days] == [date(2026, 1, 2), date(2026, 1, 5), date(2026, 1, 6)]
    assert days[0].open.hour == 9 and days[0].open.minute == 30
    assert client.get_clock().is_open
    page = client.get_option_contracts(GetOptionContractsRequest(underlying_symbols=["AAPL"], type=ContractType.CALL, limit=5))
    assert len(page.option_contracts) == 5 and page.next_page_token
    first = page.option_contracts[0]
    assert client.get_option_contract(first.symbol).id == first.id
    assert client.get_option_contract(first.id).symbol == first.symbol


def test_account_configurations_round_trip_and_take_effect(client):
    config = client.get_account_configurations()
    assert config.fractional_trading and not config.no_shorting
    config.no_shorting = True
    assert client.set_account_configurations(config).no_shorting
    e = refused(lambda: client.submit_order(MarketOrderRequest(symbol="F", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.DAY)))
    assert (e.status_code, e.message) == (403, "account is not allowed to short")
    config.no_shorting = False
    assert not client.set_account_configurations(config).no_shorting


def test_fills_are_account_activities(client):
    # alpaca-py's TradingClient has no activities call; its models read the raw answer.
    activities = client.get("/account/activities/FILL")
    assert activities, "fills so far"
    for a in activities:
        assert TradeActivity(**a).activity_type.value == "FILL"
    assert all(NonTradeActivity(**a) for a in client.get("/account/activities", {"activity_types": "OPEXP,OPEXC,OPASN"}))


def test_unserved_methods_are_api_errors_the_sdk_can_read(client):
    e = refused(lambda: client.delete("/clock"))
    assert (e.status_code, e.code) == (405, 40510000)
    e = refused(lambda: client.get("/watchlists"))
    assert (e.status_code, e.code) == (404, 40410000)


def test_stream_authentication_failure_is_an_error_not_a_dropped_socket(served):
    url = served["base_url"].replace("http", "ws") + "/stream"
    stream = TradingStream("PKWRONG", "nope", paper=True, url_override=url)
    with pytest.raises(ValueError, match="failed to authenticate"):
        asyncio.run(stream._start_ws())
    with websockets.sync.client.connect(url + "/") as ws:
        ws.send(json.dumps({"action": "authenticate", "data": {"key_id": "PKWRONG", "secret_key": "nope"}}))
        assert json.loads(ws.recv())["data"]["status"] == "unauthorized"
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_close_all_positions_is_a_multi_status_list(client):
    # Last: it flattens the account the other tests built.
    results = client.close_all_positions(cancel_orders=True)
    assert results and all(r.status == 200 for r in results), results
    assert {r.symbol for r in results} >= {"AAPL", "JPM"}
