"""alpaca-py, pointed at the simulated Alpaca with url_override, parses and
validates (pydantic) every answer the simulator gives."""

import threading
import time
import uuid

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, OrderSide, OrderStatus, PositionSide, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest, MarketOrderRequest, ReplaceOrderRequest
from alpaca.trading.stream import TradingStream

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
    assert o.status == OrderStatus.NEW
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
    with pytest.raises(APIError) as e:
        client.cancel_order_by_id(o.id)
    assert e.value.status_code == 422 and e.value.code == 42210000


def test_option_order_by_occ_symbol(client):
    o = client.submit_order(MarketOrderRequest(symbol="AAPL260116C00190000", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
    assert o.asset_class == AssetClass.US_OPTION
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
