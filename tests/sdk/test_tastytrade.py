"""tastytrade (tastyware SDK 13.2.3), pointed at the simulated tastytrade by
re-basing its httpx2 client (Session._client.base_url) and the account
streamer (AlertStreamer.base_url), parses and validates (pydantic) every
answer the simulator gives: OAuth refresh, accounts, orders (dry-run, place,
get, live, history, replace, cancel), positions, balances, complex orders and
the account streamer.

The SDK is async (anyio): every test runs under anyio's pytest plugin, which
tastytrade's dependency anyio installs. Production mode (is_test=False), so the
model sees the `Accept-Version` header the real API sees.
"""

import time
from decimal import Decimal

import anyio
import pytest
from tastytrade import Account, AlertStreamer, Session
from tastytrade.account import CurrentPosition
from tastytrade.order import (
    InstrumentType,
    Leg,
    LimitOrder,
    MarketOrder,
    OrderAction,
    OrderStatus,
    OrderTimeInForce,
    OrderType,
    OTOCOOrder,
    PlacedOrder,
    StopOrder,
)
from tastytrade.utils import TastytradeError

BROKER = "tastytrade"
pytestmark = pytest.mark.anyio
# external-identifier prefixes the model reads as per-request triggers (broker-models faults/injector.rs).
PARTIAL_TRIGGER = "sim-partial-"
WORKING = {OrderStatus.RECEIVED, OrderStatus.ROUTED, OrderStatus.IN_FLIGHT, OrderStatus.LIVE, OrderStatus.CONTINGENT}
OPTION = "AAPL  260116C00190000"  # OCC, root padded to 6


@pytest.fixture(scope="module")
def anyio_backend():
    return "asyncio"


def new_session(served, refresh_token=None):
    c = served["credentials"]
    s = Session(c["client_secret"], refresh_token or c["refresh_token"])  # production mode: sends Accept-Version: 20251101
    s._client.base_url = served["base_url"]  # httpx2 AsyncClient.base_url is assignable; relative paths follow it
    return s


@pytest.fixture(scope="module")
async def session(served):
    async with new_session(served) as s:
        yield s


@pytest.fixture(scope="module")
async def account(session, served):
    return await Account.get(session, served["accounts"][0])


def equity_leg(symbol, action=OrderAction.BUY_TO_OPEN, qty=1):
    return Leg(instrument_type=InstrumentType.EQUITY, symbol=symbol, action=action, quantity=qty)


async def wait_for(fn, until, timeout=5.0):
    deadline = time.monotonic() + timeout
    value = await fn()
    while not until(value) and time.monotonic() < deadline:
        await anyio.sleep(0.05)
        value = await fn()
    return value


async def test_accounts_list_and_one(session, served):
    accounts = await Account.get(session)
    assert [a.account_number for a in accounts] == served["accounts"]
    a = await Account.get(session, served["accounts"][0])
    assert a.account_number == served["accounts"][0]
    assert a.margin_or_cash in ("Margin", "Cash") and a.is_closed is False


async def test_token_refresh_and_bad_refresh_token(session, served):
    first = session.session_token
    assert first and first != "kyrieeleison"  # the first call above went through POST /oauth/token
    await session.refresh(force=True)
    assert session.session_token != first
    assert session.session_expiration - time.time() > 800  # expires_in ~900
    assert await Account.get(session)  # the new token is accepted
    assert await session.validate() is True  # POST /sessions/validate with the bearer token
    async with new_session(served, refresh_token="not-a-refresh-token") as bad:
        with pytest.raises(TastytradeError) as e:
            await Account.get(bad)
    # Token errors are OAuth-shaped ({"error_code","error_description"}): the SDK cannot parse them.
    assert str(e.value).startswith("Couldn't parse response") and "invalid_grant" in str(e.value)


async def test_dry_run_places_nothing(session, account):
    before = len(await account.get_live_orders(session))
    r = await account.place_order(session, LimitOrder(legs=[equity_leg("MSFT")], price=Decimal("-1.00")))  # dry_run defaults to True
    assert r.order.status == OrderStatus.RECEIVED and not hasattr(r.order, "id")
    assert r.buying_power_effect.change_in_buying_power <= 0 and r.order.price == Decimal("-1.00")
    assert len(await account.get_live_orders(session)) == before


async def test_market_order_fills_and_becomes_a_position(session, account, served):
    cash_before = (await account.get_balances(session)).cash_balance
    r = await account.place_order(session, MarketOrder(legs=[equity_leg("AAPL", qty=3)], external_identifier="sdk-mkt-1"), dry_run=False)
    assert isinstance(r.order.id, int) and r.order.status in WORKING | {OrderStatus.FILLED}
    assert r.order.order_type == OrderType.MARKET and r.order.account_number == served["accounts"][0]
    o = await wait_for(lambda: account.get_order(session, r.order.id), lambda x: x.status == OrderStatus.FILLED)
    assert o.status == OrderStatus.FILLED and o.cancellable is False and o.terminal_at is not None
    assert o.external_identifier == "sdk-mkt-1"
    assert sum(f.quantity for f in o.legs[0].fills) == 3 and o.legs[0].remaining_quantity == 0
    assert o.average_fill_price() > 0
    positions = await account.get_positions(session)
    p = next(p for p in positions if p.symbol == "AAPL")
    assert p.quantity == 3 and p.quantity_direction == "Long" and p.instrument_type == InstrumentType.EQUITY
    b = await account.get_balances(session)
    assert b.account_number == served["accounts"][0] and b.cash_balance < cash_before


async def test_limit_rests_lists_live_then_cancels(session, account):
    r = await account.place_order(session, LimitOrder(legs=[equity_leg("MSFT", qty=2)], price=Decimal("-1.00"), time_in_force=OrderTimeInForce.GTC), dry_run=False)
    o = await wait_for(lambda: account.get_order(session, r.order.id), lambda x: x.status == OrderStatus.LIVE)
    assert o.status == OrderStatus.LIVE and o.cancellable and o.editable and o.price == Decimal("-1.00")
    assert r.order.id in [x.id for x in await account.get_live_orders(session)]
    assert await account.delete_order(session, r.order.id) is None
    # Cancel is asynchronous: Cancel Requested, then Cancelled.
    assert (await account.get_order(session, r.order.id)).status in (OrderStatus.CANCEL_REQUESTED, OrderStatus.CANCELLED)
    o = await wait_for(lambda: account.get_order(session, r.order.id), lambda x: x.status == OrderStatus.CANCELLED)
    assert o.status == OrderStatus.CANCELLED and o.cancellable is False and o.terminal_at is not None
    # /orders/live lists today's orders in every status, the cancelled one included.
    assert OrderStatus.CANCELLED in [x.status for x in await account.get_live_orders(session) if x.id == o.id]


async def test_replace_creates_a_new_order(session, account):
    r = await account.place_order(session, LimitOrder(legs=[equity_leg("SPY")], price=Decimal("-2.00"), time_in_force=OrderTimeInForce.GTC), dry_run=False)
    new = await account.replace_order(session, r.order.id, LimitOrder(legs=[equity_leg("SPY")], price=Decimal("-2.50"), time_in_force=OrderTimeInForce.GTC))
    assert new.id != r.order.id and new.replaces_order_id == r.order.id
    assert new.price == Decimal("-2.50") and new.legs[0].symbol == "SPY"  # legs are kept from the original
    old = await wait_for(lambda: account.get_order(session, r.order.id), lambda x: x.status == OrderStatus.CANCELLED)
    assert old.status == OrderStatus.CANCELLED and old.edited is True and old.replacing_order_id == new.id
    new = await wait_for(lambda: account.get_order(session, new.id), lambda x: x.status == OrderStatus.LIVE)
    assert new.status == OrderStatus.LIVE
    await account.delete_order(session, new.id)


async def test_cancel_of_a_filled_order_is_refused(session, account):
    r = await account.place_order(session, MarketOrder(legs=[equity_leg("QQQ")]), dry_run=False)
    await wait_for(lambda: account.get_order(session, r.order.id), lambda x: x.status == OrderStatus.FILLED)
    with pytest.raises(TastytradeError) as e:
        await account.delete_order(session, r.order.id)
    assert "cannot_update_order: " in str(e.value)


async def test_preflight_failures_are_422_error_envelopes(session, account):
    with pytest.raises(TastytradeError) as e:
        await account.place_order(session, MarketOrder(legs=[equity_leg("AAPL")], time_in_force=OrderTimeInForce.GTC), dry_run=False)
    assert str(e.value) == "gtc_market_orders_not_supported: GTC/GTD Market orders are not supported.\n"
    with pytest.raises(TastytradeError) as e:
        await account.place_order(session, MarketOrder(legs=[equity_leg("AAPL", qty=100000)]), dry_run=False)
    # One "<code>: <message>\n" line per nested error (reference §5; the code is the fixture's).
    assert str(e.value) == "margin_check_failed: This order exceeds your available buying power.\n"
    with pytest.raises(TastytradeError) as e:
        await account.place_order(session, MarketOrder(legs=[equity_leg("ZZZQ")]), dry_run=False)  # unknown symbol
    assert str(e.value).startswith("invalid_symbol: ") and "ZZZQ" in str(e.value)


async def test_unknown_order_is_an_error(session, account):
    with pytest.raises(TastytradeError) as e:
        await account.get_order(session, 999999999)
    assert str(e.value) == "record_not_found: Order not found\n"


async def test_option_order_by_occ_symbol(session, account):
    leg = Leg(instrument_type=InstrumentType.EQUITY_OPTION, symbol=OPTION, action=OrderAction.BUY_TO_OPEN, quantity=1)
    r = await account.place_order(session, LimitOrder(legs=[leg], price=Decimal("-50.00")), dry_run=False)  # marketable: fills
    o = await wait_for(lambda: account.get_order(session, r.order.id), lambda x: x.status == OrderStatus.FILLED)
    assert o.underlying_symbol == "AAPL" and o.legs[0].instrument_type == InstrumentType.EQUITY_OPTION
    p = next(p for p in await account.get_positions(session) if p.symbol == OPTION)
    assert p.quantity == 1 and p.multiplier == 100 and p.underlying_symbol == "AAPL"


async def test_order_history_filters_and_pages(session, account):
    r = await account.place_order(session, MarketOrder(legs=[equity_leg("IWM")]), dry_run=False)
    await wait_for(lambda: account.get_order(session, r.order.id), lambda x: x.status == OrderStatus.FILLED)
    # No start-date: the model's clock is not the wall clock (order-api 20250813 does not require one).
    filled = await account.get_order_history(session, statuses=[OrderStatus.FILLED], page_offset=None)
    assert r.order.id in [o.id for o in filled] and all(o.status == OrderStatus.FILLED for o in filled)
    one = await account.get_order_history(session, per_page=1, page_offset=0)
    every = await account.get_order_history(session, per_page=1, page_offset=None)  # walks pagination
    assert len(one) == 1 and len(every) > 1


async def test_partial_fills_stay_live_until_filled(session, account):
    r = await account.place_order(session, MarketOrder(legs=[equity_leg("NVDA", qty=4)], external_identifier=PARTIAL_TRIGGER + "1"), dry_run=False)
    seen = set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        o = await account.get_order(session, r.order.id)
        seen.add((o.status, o.legs[0].remaining_quantity))
        if o.status == OrderStatus.FILLED:
            break
        await anyio.sleep(0.05)
    # No "Partially Filled" status exists: a partial fill is Live with remaining-quantity below quantity.
    assert any(s == OrderStatus.LIVE and q in (1, 2, 3) for s, q in seen), seen
    assert o.status == OrderStatus.FILLED and len(o.legs[0].fills) >= 2 and sum(f.quantity for f in o.legs[0].fills) == 4


async def test_otoco_children_wait_contingent(session, account):
    sell = lambda: [equity_leg("AAPL", OrderAction.SELL_TO_CLOSE)]  # noqa: E731
    order = OTOCOOrder(
        trigger_order=LimitOrder(legs=[equity_leg("AAPL")], price=Decimal("-1.00")),  # rests
        take_profit=LimitOrder(legs=sell(), price=Decimal("10000"), time_in_force=OrderTimeInForce.GTC),
        stop_loss=StopOrder(legs=sell(), stop_trigger=Decimal("0.50"), time_in_force=OrderTimeInForce.GTC),
    )
    r = await account.place_complex_order(session, order, dry_run=False)
    cx = r.complex_order
    assert isinstance(cx.id, int) and cx.type.value == "OTOCO" and len(cx.orders) == 2
    assert {o.status for o in cx.orders} == {OrderStatus.CONTINGENT}
    assert cx.take_profit.order_type == OrderType.LIMIT and cx.stop_loss.stop_trigger == Decimal("0.50")
    assert (await account.get_complex_order(session, cx.id)).id == cx.id
    await account.delete_complex_order(session, cx.id)


async def test_account_streamer_order_and_position_notifications(session, account, served):
    streamer = AlertStreamer(session)
    streamer.base_url = served.get("streamer_url") or served["base_url"].replace("http", "ws", 1)
    orders, positions = [], []
    async with streamer:
        await streamer.subscribe_accounts([account])  # waits (10 s max) for the ack carrying the same request-id

        async def collect_orders():
            async for o in streamer.listen(PlacedOrder):
                orders.append((o.id, o.status))

        async def collect_positions():
            async for p in streamer.listen(CurrentPosition):
                positions.append(p)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(collect_orders)
                tg.start_soon(collect_positions)
                await anyio.sleep(0.2)
                r = await account.place_order(session, MarketOrder(legs=[equity_leg("TSLA", qty=2)]), dry_run=False)
                # Earlier tests' orders may still change after the subscription (a cancel landing): wait for this one.
                while (r.order.id, OrderStatus.FILLED) not in orders or not any(p.symbol == "TSLA" for p in positions):
                    await anyio.sleep(0.02)
                tg.cancel_scope.cancel()
    mine = [s for i, s in orders if i == r.order.id]
    assert mine[-1] == OrderStatus.FILLED and len(mine) >= 2, orders  # e.g. Live, Filled
    tsla = [p for p in positions if p.symbol == "TSLA"]
    assert tsla[-1].quantity == 2 and tsla[-1].quantity_direction == "Long"
    assert tsla[-1].account_number == served["accounts"][0]
