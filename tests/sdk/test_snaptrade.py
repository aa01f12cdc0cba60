"""snaptrade-python-sdk (13.0.49), pointed at the simulated SnapTrade the way
its users point it anywhere (snaptrade.md §1.3): `SnapTrade(host=base_url,
auth=SnapTradeAuth.commercial_api_key(consumer_key=…, client_id=…))`. Every
call goes through the SDK's own methods, which sign it (clientId, timestamp
and the Signature header, §2); the model verifies every signature, so a call
that answers at all was signed as SDK 13 signs.

The SDK's public methods do not validate response bodies (§3: they are left
as plain JSON), but each operation carries its 200 schema, and the SDK's own
deserializer runs it when asked: `valid()` below runs every 2xx body through
the operation's schema (`SchemaFor200ResponseBodyApplicationJson`), which
checks required keys, types, nullability, enums, and the uuid, date-time,
date and decimal-string formats. Error bodies are ApiException.body, the
parsed `{"detail", "status_code", "code"}` of §6.1.

The user has three connections (`accounts` in serve's order): E*TRADE (read
and trade), Fidelity and Interactive Brokers (read only, §7.2). The model's
clock is simulated (`/_sim/advance` jumps it), never the wall clock.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import urllib.request
from decimal import Decimal

import pytest
from snaptrade_client import ApiException, SnapTrade, SnapTradeAuth
from snaptrade_client.paths.accounts.get import SchemaFor200ResponseBodyApplicationJson as AccountList
from snaptrade_client.paths.accounts_all.get import SchemaFor200ResponseBodyApplicationJson as AllAccounts
from snaptrade_client.paths.accounts_account_id.get import SchemaFor200ResponseBodyApplicationJson as AccountDetail
from snaptrade_client.paths.accounts_account_id_activities.get import SchemaFor200ResponseBodyApplicationJson as Activities
from snaptrade_client.paths.accounts_account_id_balances.get import SchemaFor200ResponseBodyApplicationJson as Balances
from snaptrade_client.paths.accounts_account_id_orders.get import SchemaFor200ResponseBodyApplicationJson as Orders
from snaptrade_client.paths.accounts_account_id_orders_v2.get import SchemaFor200ResponseBodyApplicationJson as OrdersV2
from snaptrade_client.paths.accounts_account_id_orders_details_v2_brokerage_order_id.get import (
    SchemaFor200ResponseBodyApplicationJson as OrderDetailV2,
)
from snaptrade_client.paths.accounts_account_id_recent_orders_v2.get import (
    SchemaFor200ResponseBodyApplicationJson as RecentOrdersV2,
)
from snaptrade_client.paths.accounts_account_id_orders_details.post import (
    SchemaFor200ResponseBodyApplicationJson as OrderDetail,
)
from snaptrade_client.paths.accounts_account_id_positions_all.get import (
    SchemaFor200ResponseBodyApplicationJson as AllPositions,
)
from snaptrade_client.paths.accounts_account_id_recent_orders.get import (
    SchemaFor200ResponseBodyApplicationJson as RecentOrders,
)
from snaptrade_client.paths.accounts_account_id_trading_cancel.post import (
    SchemaFor200ResponseBodyApplicationJson as Canceled,
)
from snaptrade_client.paths.accounts_account_id_trading_options.post import (
    SchemaFor200ResponseBodyApplicationJson as MlegPlaced,
)
from snaptrade_client.paths.accounts_account_id_trading_options_impact.post import (
    SchemaFor200ResponseBodyApplicationJson as OptionImpact,
)
from snaptrade_client.paths.accounts_account_id_trading_replace.post import (
    SchemaFor200ResponseBodyApplicationJson as Replaced,
)
from snaptrade_client.paths.authorizations.get import SchemaFor200ResponseBodyApplicationJson as Connections
from snaptrade_client.paths.authorizations_authorization_id.get import (
    SchemaFor200ResponseBodyApplicationJson as Connection,
)
from snaptrade_client.paths.authorizations_authorization_id_disable.post import (
    SchemaFor200ResponseBodyApplicationJson as Disabled,
)
from snaptrade_client.paths.authorizations_authorization_id_refresh.post import (
    SchemaFor200ResponseBodyApplicationJson as Refreshed,
)
from snaptrade_client.paths.brokerages.get import SchemaFor200ResponseBodyApplicationJson as Brokerages
from snaptrade_client.paths.connection_connection_id.delete import (
    SchemaFor200ResponseBodyApplicationJson as ConnectionDeleted,
)
from snaptrade_client.paths.root.get import SchemaFor200ResponseBodyApplicationJson as Status
from snaptrade_client.paths.snap_trade_delete_user.delete import SchemaFor200ResponseBodyApplicationJson as Deleted
from snaptrade_client.paths.snap_trade_list_users.get import SchemaFor200ResponseBodyApplicationJson as Users
from snaptrade_client.paths.snap_trade_login.post import SchemaFor200ResponseBodyApplicationJson as Login
from snaptrade_client.paths.snap_trade_register_user.post import SchemaFor200ResponseBodyApplicationJson as Registered
from snaptrade_client.paths.snap_trade_reset_user_secret.post import SchemaFor200ResponseBodyApplicationJson as Rotated
from snaptrade_client.paths.accounts_account_id_symbols.post import (
    SchemaFor200ResponseBodyApplicationJson as Symbols,
)
from snaptrade_client.paths.trade_impact.post import SchemaFor200ResponseBodyApplicationJson as Impact
from snaptrade_client.paths.trade_place.post import SchemaFor200ResponseBodyApplicationJson as Placed
from snaptrade_client.paths.trade_trade_id.post import SchemaFor200ResponseBodyApplicationJson as PlacedChecked

BROKER = "snaptrade"
SLUGS = ["ETRADE", "FIDELITY", "INTERACTIVE-BROKERS-FLEX", "ROBINHOOD"]  # the brokerages behind `accounts`, in order


def make_client(served, consumer_key=None):
    c = served["credentials"]
    auth = SnapTradeAuth.commercial_api_key(consumer_key=consumer_key or c["consumer_key"], client_id=c["client_id"])
    return SnapTrade(host=served["base_url"], auth=auth)


@pytest.fixture(scope="module")
def client(served):
    return make_client(served)


@pytest.fixture(scope="module")
def user(served):
    """The user-scoped calls' own arguments (commercial key: userId and userSecret in the query)."""
    c = served["credentials"]
    return {"user_id": c["user_id"], "user_secret": c["user_secret"]}


@pytest.fixture(scope="module")
def etrade(served):
    return served["accounts"][0]


def _konfig_nullable_enums(body):
    """The body with `order_role: null` left out, for validation only. The spec makes
    AccountOrderRecord.order_role a nullable enum, null for every order outside a complex group, but
    the SDK's generator drops nullability on inline enums (the spec says so itself, beside the V2
    record's order_role), so the SDK's own schema refuses the null SnapTrade sends."""
    if isinstance(body, list):
        return [_konfig_nullable_enums(x) for x in body]
    if isinstance(body, dict):
        return {k: _konfig_nullable_enums(v) for k, v in body.items() if not (k == "order_role" and v is None)}
    return body


def valid(response, schema):
    """The body of a 200, run through the SDK's own schema for it (what its deserializer does when
    `skip_deserialization` is off); returns the plain JSON."""
    assert response.status == 200
    schema.from_openapi_data_oapg(_konfig_nullable_enums(response.body), _configuration=None)
    return response.body


def refused(call):
    """The status and parsed error body of a call the API refuses."""
    with pytest.raises(ApiException) as e:
        call()
    body = e.value.body
    assert isinstance(body, dict), body
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["status_code"] == e.value.status
    return e.value.status, body


def sim(served, method, path, body=None):
    """A request to the model's /_sim/ routes with the control token `serve` printed (a str body is a
    TOML fault plan, anything else JSON)."""
    headers = {served["control"]["header"]: served["control"]["token"]}
    data = None
    if isinstance(body, str):
        data, headers["Content-Type"] = body.encode(), "application/toml"
    elif body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    req = urllib.request.Request(served["base_url"] + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read() or b"null")


def advance(served, ms):
    return sim(served, "POST", "/_sim/advance", {"ms": ms})


def when(text):
    """An ISO 8601 time as SnapTrade writes it (`…T…Z`, or with an offset), timezone-aware."""
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert t.tzinfo is not None, text
    return t


def sim_now(served):
    return when(advance(served, 0)["now"])


def decimal(text):
    assert isinstance(text, str), text  # v2 quantities and prices are decimal strings (§3)
    return Decimal(text)


def connection_of(client, user, slug):
    conns = valid(client.connections.list_brokerage_authorizations(**user), Connections)
    return next(c for c in conns if c["brokerage"]["slug"] == slug)


def place(client, user, account, **order):
    form = {"action": "BUY", "order_type": "Market", "time_in_force": "Day", "symbol": "AAPL", "units": 2.0}
    form.update(order)
    return valid(client.trading.place_force_order(account_id=account, **form, **user), Placed)


def detail(client, user, account, order_id):
    return valid(client.account_information.get_user_account_order_detail(
        account_id=account, brokerage_order_id=order_id, **user), OrderDetail)


# --- status, reference data, connections -------------------------------------------------------------


def test_api_status_answers_unsigned(client):
    s = valid(client.api_status.check(), Status)
    assert s["online"] is True and isinstance(s["version"], int)
    when(s["timestamp"])


def test_brokerages_behind_snaptrade_say_whether_they_trade(client):
    brokerages = {b["slug"]: b for b in valid(client.reference_data.list_all_brokerages(), Brokerages)}
    assert set(SLUGS) <= set(brokerages)
    assert brokerages["ETRADE"]["allows_trading"] is True
    assert brokerages["FIDELITY"]["allows_trading"] is False
    assert brokerages["INTERACTIVE-BROKERS-FLEX"]["allows_trading"] is False
    for b in brokerages.values():
        assert b["enabled"] is True and b["maintenance_mode"] is False and isinstance(b["brokerage_type"]["name"], str)


def test_connections_one_per_brokerage_read_or_trade(client, user, served):
    conns = valid(client.connections.list_brokerage_authorizations(**user), Connections)
    assert [c["brokerage"]["slug"] for c in conns] == SLUGS
    assert [c["type"] for c in conns] == ["trade", "read", "read", "read"]
    # `serve`'s first line names the same brokerages, what each may do, and their accounts.
    assert [d["slug"] for d in served["downstream"]] == SLUGS
    assert [d["trading"] for d in served["downstream"]] == [c["type"] == "trade" for c in conns]
    assert [a for d in served["downstream"] for a in d["accounts"]] == served["accounts"]
    accounts = valid(client.account_information.list_user_accounts(**user), AccountList)
    for c, account in zip(conns, accounts):
        assert c["disabled"] is False and c["disabled_date"] is None
        assert account["brokerage_authorization"] == c["id"]
        when(c["created_date"])
        one = valid(client.connections.detail_brokerage_authorization(authorization_id=c["id"], **user), Connection)
        assert one == c
    status, body = refused(lambda: client.connections.detail_brokerage_authorization(
        authorization_id="00000000-0000-4000-8000-000000000000", **user))
    assert status == 404 and body["code"] == "1011"


# --- accounts, balances, holdings ----------------------------------------------------------------------


def test_accounts_list_and_detail(client, user, served):
    accounts = valid(client.account_information.list_user_accounts(**user), AccountList)
    assert [a["id"] for a in accounts] == served["accounts"]
    names = ["E*TRADE", "Fidelity", "Interactive Brokers"]
    for a, name in zip(accounts, names):
        assert a["institution_name"] == name and a["is_paper"] is False
        assert a["account_category"] == "INVESTMENT" and a["status"] == "open"
        assert isinstance(a["balance"]["total"]["amount"], (int, float)) and a["balance"]["total"]["currency"] == "USD"
        when(a["created_date"])
        holdings = a["sync_status"]["holdings"]
        assert holdings["initial_sync_completed"] is True
        # The holdings sync's own format: a space between date and time (§3).
        assert " " in holdings["last_successful_sync"]
        when(holdings["last_successful_sync"].replace(" ", "T"))
        dt.date.fromisoformat(a["sync_status"]["transactions"]["last_successful_sync"])
        one = valid(client.account_information.get_user_account_details(account_id=a["id"], **user), AccountDetail)
        assert one["id"] == a["id"] and one["number"] == a["number"]
    status, body = refused(lambda: client.account_information.get_user_account_details(
        account_id="00000000-0000-4000-8000-000000000000", **user))
    assert status == 404 and body["code"] == "1011"


def test_all_accounts_are_kind_discriminated(client, user, served):
    # SDK 13.0.49 deprecates list_user_accounts in favour of this (§4.4).
    everything = valid(client.account_information.list_all_user_accounts(**user), AllAccounts)["results"]
    accounts = valid(client.account_information.list_user_accounts(**user), AccountList)
    assert [a["id"] for a in everything] == served["accounts"]
    for a, old in zip(everything, accounts):
        assert a["kind"] == "investment" and a["connection_id"] == old["brokerage_authorization"]
        assert a["masked_account_number"] == "****" + old["number"][-4:]
        assert a["cash_or_margin"] == old["raw_type"].lower() and a["is_paper"] is False
        assert a["net_value"] == {"amount": old["balance"]["total"]["amount"], "currency": "USD"}
        for part in ("orders", "positions", "balances"):
            when(a["sync_status"][part].replace(" ", "T"))
    brokerages = {b["slug"]: b["id"] for b in valid(client.reference_data.list_all_brokerages(), Brokerages)}
    assert [a["institution_id"] for a in everything] == [brokerages[s] for s in SLUGS]


def test_balances_are_json_numbers_in_usd(client, user, served):
    cash = []
    for account in served["accounts"]:
        balances = valid(client.account_information.get_user_account_balance(account_id=account, **user), Balances)
        assert len(balances) == 1 and balances[0]["currency"]["code"] == "USD"
        assert isinstance(balances[0]["cash"], (int, float)) and isinstance(balances[0]["buying_power"], (int, float))
        cash.append(balances[0]["cash"])
    assert all(c > 0 for c in cash)


def test_sdk_13_has_no_legacy_positions_call(client):
    # GET /accounts/{id}/positions left the spec in 2026-08 (§0); SDK 13 reads positions/all only.
    assert not hasattr(client.account_information, "get_user_account_positions")
    assert hasattr(client.account_information, "get_all_account_positions")


# --- trading -------------------------------------------------------------------------------------------


def test_market_buy_answers_pending_then_executes(client, user, served, etrade):
    before = sim_now(served)
    o = place(client, user, etrade)
    assert o["status"] == "PENDING"  # the brokerage's first state, never a fill (§4.5)
    assert decimal(o["filled_quantity"]) == 0 and decimal(o["total_quantity"]) == 2
    assert o["execution_price"] is None and o["time_executed"] is None
    assert (o["action"], o["order_type"], o["time_in_force"]) == ("BUY", "Market", "Day")
    assert o["universal_symbol"]["symbol"] == "AAPL" and o["universal_symbol"]["currency"]["code"] == "USD"
    assert when(o["time_placed"]) >= before
    oid = o["brokerage_order_id"]
    assert isinstance(oid, str) and oid

    advance(served, 5_000)
    d = detail(client, user, etrade, oid)
    assert d["status"] == "EXECUTED" and d["brokerage_order_id"] == oid
    assert decimal(d["filled_quantity"]) == 2 and decimal(d["open_quantity"]) == 0
    assert decimal(d["execution_price"]) > 0
    assert when(d["time_executed"]) >= when(d["time_placed"])

    recent = valid(client.account_information.get_user_account_recent_orders(account_id=etrade, **user), RecentOrders)
    assert oid in [x["brokerage_order_id"] for x in recent["orders"]]  # only_executed defaults to true
    executed = valid(client.account_information.get_user_account_orders(
        account_id=etrade, state="executed", days=1, **user), Orders)
    assert oid in [x["brokerage_order_id"] for x in executed]

    now = sim_now(served)
    p = valid(client.account_information.get_all_account_positions(account_id=etrade, **user), AllPositions)
    assert now <= when(p["data_freshness"]["as_of"]) <= sim_now(served)  # a real-time plan: fetched now
    aapl = next(x for x in p["results"] if x["instrument"]["symbol"] == "AAPL")
    assert aapl["instrument"]["kind"] == "stock" and aapl["instrument"]["raw_symbol"] == "AAPL"
    assert decimal(aapl["units"]) >= 2 and aapl["currency"] == "USD" and aapl["cash_equivalent"] is False
    # cost_basis is the average purchase price per share, like price (the SDK's and the spec's words).
    price, cost = decimal(aapl["price"]), decimal(aapl["cost_basis"])
    assert abs(cost - decimal(d["execution_price"])) < price * Decimal("0.05")


def test_a_resting_limit_is_canceled(client, user, served, etrade):
    o = place(client, user, etrade, order_type="Limit", price=1.0, time_in_force="GTC", symbol="MSFT")
    oid = o["brokerage_order_id"]
    assert decimal(o["limit_price"]) == 1 and o["time_in_force"] == "GTC"
    advance(served, 1_000)
    assert detail(client, user, etrade, oid)["status"] == "ACCEPTED"
    is_open = valid(client.account_information.get_user_account_orders(account_id=etrade, state="open", **user), Orders)
    assert oid in [x["brokerage_order_id"] for x in is_open]

    c = valid(client.trading.cancel_order(account_id=etrade, brokerage_order_id=oid, **user), Canceled)
    assert c["brokerage_order_id"] == oid and isinstance(c["raw_response"], dict)
    advance(served, 1_000)
    d = detail(client, user, etrade, oid)
    assert d["status"] == "CANCELED"  # one L (§5)
    assert decimal(d["canceled_quantity"]) == 2 and decimal(d["open_quantity"]) == 0
    is_open = valid(client.account_information.get_user_account_orders(account_id=etrade, state="open", **user), Orders)
    assert oid not in [x["brokerage_order_id"] for x in is_open]
    everything = valid(client.account_information.get_user_account_recent_orders(
        account_id=etrade, only_executed=False, **user), RecentOrders)
    assert oid in [x["brokerage_order_id"] for x in everything["orders"]]

    status, body = refused(lambda: client.trading.cancel_order(account_id=etrade, brokerage_order_id=oid, **user))
    assert status == 400
    status, body = refused(lambda: client.trading.cancel_order(account_id=etrade, brokerage_order_id="999999", **user))
    assert status == 404 and body["code"] == "1011"


def test_the_experimental_v2_order_records_list_legs(client, user, served, etrade):
    """The experimental endpoints' V2 records, through SDK 13's own schemas: upper-case words, the
    order's one leg with its V2 status, a buy's price effect a debit."""
    o = place(client, user, etrade, units=1.0, symbol="MSFT")
    oid = o["brokerage_order_id"]
    advance(served, 5_000)
    x = client.experimental_endpoints
    d = valid(x.get_user_account_order_detail_v2(account_id=etrade, brokerage_order_id=oid, **user), OrderDetailV2)
    assert (d["status"], d["order_type"], d["time_in_force"], d["price_effect"]) == (
        "EXECUTED", "MARKET", "DAY", "DEBIT")
    (leg,) = d["legs"]
    assert leg["instrument"]["symbol"] == "MSFT" and leg["instrument"]["asset_type"] == "EQUITY"
    assert leg["status"] == "EXECUTED" and decimal(leg["filled_quantity"]) == 1
    listed = valid(x.get_user_account_orders_v2(account_id=etrade, state="executed", **user), OrdersV2)
    assert oid in [r["brokerage_order_id"] for r in listed["orders"]]
    recent = valid(x.get_user_account_recent_orders_v2(account_id=etrade, **user), RecentOrdersV2)
    assert recent["orders"][0]["brokerage_order_id"] == oid
    status, body = refused(lambda: x.get_user_account_order_detail_v2(
        account_id=etrade, brokerage_order_id="999999", **user))
    assert status == 404 and body["code"] == "1011"


def test_a_credit_spread_and_a_single_call_are_placed_as_options(client, user, served, etrade):
    """SDK 13's option calls: the spread's impact, its place (the brokerage's first state, one v1
    record naming the underlying), its two legs in the V2 detail once filled; a call through
    place_force_order by its OCC symbol, recorded with its contract and a BUY_OPEN action."""
    spread = dict(
        order_type="LIMIT", time_in_force="Day", limit_price="0.01", price_effect="CREDIT",
        legs=[
            {"instrument": {"symbol": "AAPL  260116C00200000", "instrument_type": "OPTION"},
             "action": "SELL_TO_OPEN", "units": 1},
            {"instrument": {"symbol": "AAPL  260116C00210000", "instrument_type": "OPTION"},
             "action": "BUY_TO_OPEN", "units": 1},
        ])
    t = client.trading
    impact = valid(t.get_option_impact(account_id=etrade, **spread, **user), OptionImpact)
    assert impact["cash_change_direction"] == "CREDIT" and decimal(impact["estimated_cash_change"]) == 1
    assert decimal(impact["estimated_fee_total"]) >= Decimal("1.30")
    placed = valid(t.place_mleg_order(account_id=etrade, **spread, **user), MlegPlaced)
    (record,) = placed["orders"]
    assert record["brokerage_order_id"] == placed["brokerage_order_id"]
    assert record["status"] == "PENDING" and record["universal_symbol"]["symbol"] == "AAPL"
    advance(served, 5_000)
    d = valid(client.experimental_endpoints.get_user_account_order_detail_v2(
        account_id=etrade, brokerage_order_id=placed["brokerage_order_id"], **user), OrderDetailV2)
    assert d["status"] == "EXECUTED" and d["price_effect"] == "CREDIT"
    assert [(leg["instrument"]["symbol"], leg["instrument"]["asset_type"], leg["action"]) for leg in d["legs"]] == [
        ("AAPL  260116C00200000", "OPTION", "SELL_TO_OPEN"), ("AAPL  260116C00210000", "OPTION", "BUY_TO_OPEN")]
    call = place(client, user, etrade, action="BUY_TO_OPEN", symbol="AAPL  260116C00220000", units=1.0)
    assert call["action"] == "BUY_OPEN" and call["universal_symbol"] is None
    assert call["option_symbol"]["ticker"] == "AAPL  260116C00220000"
    assert call["option_symbol"]["underlying_symbol"]["symbol"] == "AAPL"
    status, body = refused(lambda: t.place_mleg_order(account_id=etrade, **dict(spread, price_effect="EVEN"), **user))
    assert status == 400 and "not simulated" in body["detail"]


def test_a_checked_trade_is_searched_checked_and_placed_by_its_id(client, user, served, etrade):
    """§12.4's checked flow: symbol search, the trade's impact, then the place by trade id."""
    found = valid(client.reference_data.symbol_search_user_account(account_id=etrade, substring="aapl", **user), Symbols)
    aapl = next(u for u in found if u["symbol"] == "AAPL")
    balances = valid(client.account_information.get_user_account_balance(account_id=etrade, **user), Balances)
    cash = Decimal(str(balances[0]["cash"]))

    i = valid(client.trading.get_order_impact(
        account_id=etrade, action="BUY", universal_symbol_id=aapl["id"], order_type="Limit",
        time_in_force="Day", price=1.5, units=4.0, **user), Impact)
    trade = i["trade"]
    assert trade["symbol"]["universal_symbol_id"] == aapl["id"] and trade["account"] == etrade
    assert (trade["action"], trade["order_type"], trade["time_in_force"]) == ("BUY", "Limit", "Day")
    assert trade["units"] == 4 and trade["price"] == 1.5
    impact = i["trade_impacts"][0]
    assert Decimal(str(impact["remaining_cash"])) == cash - Decimal("6")  # 4 x 1.5, no commission on a buy
    assert i["combined_remaining_balance"]["cash"] == impact["remaining_cash"]

    o = valid(client.trading.place_order(trade_id=trade["id"], wait_to_confirm=True, **user), PlacedChecked)
    assert o["status"] == "PENDING" and decimal(o["total_quantity"]) == 4 and decimal(o["limit_price"]) == Decimal("1.5")
    assert o["universal_symbol"]["id"] == aapl["id"]
    status, body = refused(lambda: client.trading.place_order(trade_id=trade["id"], **user))  # placed once only
    assert status == 400 and body["code"] == "1076"

    late = valid(client.trading.get_order_impact(
        account_id=etrade, action="SELL", universal_symbol_id=aapl["id"], order_type="Market",
        time_in_force="Day", units=1.0, **user), Impact)["trade"]
    advance(served, 5 * 60 * 1000 + 1_000)
    status, body = refused(lambda: client.trading.place_order(trade_id=late["id"], **user))  # expired
    assert status == 400 and "expired" in body["detail"]
    client.trading.cancel_order(account_id=etrade, brokerage_order_id=o["brokerage_order_id"], **user)


def test_a_resting_limit_is_replaced_under_a_new_id(client, user, served, etrade):
    o = place(client, user, etrade, order_type="Limit", price=1.0, time_in_force="GTC", symbol="MSFT")
    advance(served, 1_000)
    r = valid(client.trading.replace_order(
        account_id=etrade, brokerage_order_id=o["brokerage_order_id"], action="BUY", order_type="Limit",
        time_in_force="Day", price=1.25, symbol="MSFT", units=3.0, **user), Replaced)
    assert r["brokerage_order_id"] != o["brokerage_order_id"]  # "may or may not change": use the one returned
    assert decimal(r["limit_price"]) == Decimal("1.25") and decimal(r["total_quantity"]) == 3
    assert r["time_in_force"] == "Day" and r["universal_symbol"]["symbol"] == "MSFT"
    assert detail(client, user, etrade, o["brokerage_order_id"])["status"] == "REPLACED"
    status, body = refused(lambda: client.trading.replace_order(  # another action is a new order
        account_id=etrade, brokerage_order_id=r["brokerage_order_id"], action="SELL", order_type="Limit",
        time_in_force="Day", price=1.25, units=3.0, **user))
    assert status == 400 and "not simulated" in body["detail"]
    client.trading.cancel_order(account_id=etrade, brokerage_order_id=r["brokerage_order_id"], **user)


def test_a_read_only_brokerage_refuses_orders(client, user, served):
    fidelity = served["accounts"][1]
    status, body = refused(lambda: client.trading.place_force_order(
        account_id=fidelity, action="BUY", order_type="Market", time_in_force="Day", symbol="AAPL", units=1.0, **user))
    assert status == 403 and body["code"] == "1066"
    orders = valid(client.account_information.get_user_account_orders(account_id=fidelity, **user), Orders)
    assert orders == []


def test_a_broken_connection_reads_as_it_stood_and_refuses_orders(client, user, served, etrade):
    place(client, user, etrade, units=1.0)
    advance(served, 5_000)
    held = valid(client.account_information.get_all_account_positions(account_id=etrade, **user), AllPositions)
    sim(served, "POST", "/_sim/connection", {"account": etrade, "broken": True})
    try:
        broke = sim_now(served)
        advance(served, 60_000)
        status, body = refused(lambda: client.trading.place_force_order(
            account_id=etrade, action="BUY", order_type="Market", time_in_force="Day", symbol="AAPL",
            units=1.0, **user))
        assert status == 402 and body["code"] == "3003"
        # Reads still answer, with what SnapTrade last synced and when (§6.3).
        p = valid(client.account_information.get_all_account_positions(account_id=etrade, **user), AllPositions)
        assert [x["units"] for x in p["results"]] == [x["units"] for x in held["results"]]
        assert when(p["data_freshness"]["as_of"]) <= broke
        valid(client.account_information.get_user_account_balance(account_id=etrade, **user), Balances)
        valid(client.account_information.get_user_account_details(account_id=etrade, **user), AccountDetail)
        c = connection_of(client, user, "ETRADE")
        assert c["disabled"] is True and when(c["disabled_date"]) <= broke
        assert connection_of(client, user, "FIDELITY")["disabled"] is False
    finally:
        sim(served, "POST", "/_sim/connection", {"account": etrade, "broken": False})
    assert place(client, user, etrade, units=1.0)["status"] == "PENDING"


def test_disabling_a_connection_breaks_it_once(client, user, served):
    ibkr = served["accounts"][2]
    c = connection_of(client, user, "INTERACTIVE-BROKERS-FLEX")
    try:
        r = valid(client.connections.disable_brokerage_authorization(authorization_id=c["id"], **user), Disabled)
        assert isinstance(r["detail"], str) and r["detail"]
        now = connection_of(client, user, "INTERACTIVE-BROKERS-FLEX")
        assert now["disabled"] is True and now["disabled_date"] is not None
        status, body = refused(lambda: client.connections.disable_brokerage_authorization(
            authorization_id=c["id"], **user))
        assert status == 402 and body["code"] == "3011"
        # Still readable (the last cached state).
        valid(client.account_information.get_all_account_positions(account_id=ibkr, **user), AllPositions)
    finally:
        sim(served, "POST", "/_sim/connection", {"account": ibkr, "broken": False})
    assert connection_of(client, user, "INTERACTIVE-BROKERS-FLEX")["disabled"] is False


def test_an_option_holding_is_an_option_instrument(client, user, served):
    # The call the user bought at Fidelity on their own, through SDK 13's schema.
    fidelity = served["accounts"][1]
    held = valid(client.account_information.get_all_account_positions(account_id=fidelity, **user), AllPositions)
    options = [p for p in held["results"] if p["instrument"]["kind"] == "option"]
    assert len(options) == 1 and options[0]["units"] == "1", held
    call = options[0]["instrument"]
    assert call["option_type"] == "CALL" and call["multiplier"] == "100"  # a decimal string
    assert call["symbol"].startswith(call["underlying"]["symbol"]) and len(call["symbol"]) == 21


def test_the_portal_reconnects_a_disabled_connection(client, user, served):
    """§12.5: a broken connection is repaired through the portal's `reconnect`, keeping its id."""
    ibkr = served["accounts"][2]
    c = connection_of(client, user, "INTERACTIVE-BROKERS-FLEX")
    valid(client.connections.disable_brokerage_authorization(authorization_id=c["id"], **user), Disabled)
    login = valid(client.authentication.login_snap_trade_user(
        reconnect=c["id"], custom_redirect="https://app.test/done", dark_mode=True, locale="en", **user), Login)
    assert login["redirectURI"].startswith("https://") and login["sessionId"]
    done = sim(served, "POST", "/_sim/portal", {"sessionId": login["sessionId"], "outcome": "SUCCESS"})
    assert done["redirect"] == f"https://app.test/done?status=SUCCESS&connection_id={c['id']}"
    again = connection_of(client, user, "INTERACTIVE-BROKERS-FLEX")
    assert again["id"] == c["id"] and again["disabled"] is False
    valid(client.account_information.get_user_account_details(account_id=ibkr, **user), AccountDetail)
    status, body = refused(lambda: client.authentication.login_snap_trade_user(locale="fr", **user))
    assert status == 400


def signed_as_snaptrade_signs(delivery, consumer_key):
    """A webhook checked with the receiver SnapTrade's webhook guide gives (§9.2), line for line:
    HMAC-SHA256 under the consumer key of the payload re-serialized with sorted keys and compact
    separators, base64; the timestamp parsed as it parses it."""
    payload = json.loads(delivery["body"])
    sig_content = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    digest = hmac.new(consumer_key.encode(), sig_content.encode(), hashlib.sha256).digest()
    assert base64.b64encode(digest).decode() == delivery["headers"]["Signature"], delivery
    assert dt.datetime.fromisoformat(payload["eventTimestamp"]).tzinfo is not None
    return payload


def test_webhooks_announce_a_break_its_repair_and_a_refresh_signed(client, user, served):
    url = "http://partner.test/snaptrade-hooks"
    sim(served, "PUT", "/_sim/webhooks", {"url": url})
    fidelity = connection_of(client, user, "FIDELITY")
    account = served["accounts"][1]
    sim(served, "POST", "/_sim/connection", {"account": account, "broken": True})
    try:
        status, body = refused(lambda: client.connections.refresh_brokerage_authorization(
            authorization_id=fidelity["id"], **user))
        assert status == 402 and body["code"] == "3003"
    finally:
        sim(served, "POST", "/_sim/connection", {"account": account, "broken": False})
    r = valid(client.connections.refresh_brokerage_authorization(authorization_id=fidelity["id"], **user), Refreshed)
    assert r["detail"] == f"Connection {fidelity['id']} scheduled for refresh"
    mine = [d for d in sim(served, "GET", "/_sim/webhooks") if d["url"] == url]
    payloads = [signed_as_snaptrade_signs(d, served["credentials"]["consumer_key"]) for d in mine]
    assert [p["eventType"] for p in payloads] == ["CONNECTION_BROKEN", "CONNECTION_FIXED", "ACCOUNT_HOLDINGS_UPDATED"]
    for p in payloads:
        assert p["brokerageAuthorizationId"] == fidelity["id"]
        assert p["userId"] == user["user_id"] and p["clientId"] == served["credentials"]["client_id"]
    update = payloads[2]
    assert update["accountId"] == account and update["brokerageId"] == fidelity["brokerage"]["id"]
    assert all(update["details"][part] == {"success": True, "error": None}
               for part in ("total_value", "positions", "balances", "orders"))
    # A body altered on the way no longer verifies.
    forged = dict(mine[2], body=mine[2]["body"].replace(account, served["accounts"][0]))
    with pytest.raises(AssertionError):
        signed_as_snaptrade_signs(forged, served["credentials"]["consumer_key"])


def test_a_registered_user_rotates_their_secret_holds_nothing_and_is_deleted(client, user, served):
    url = "http://partner.test/snaptrade-users"
    sim(served, "PUT", "/_sim/webhooks", {"url": url})
    bob = valid(client.authentication.register_snap_trade_user(user_id="bob-sdk"), Registered)
    assert bob["userId"] == "bob-sdk" and len(bob["userSecret"]) == 36
    status, body = refused(lambda: client.authentication.register_snap_trade_user(user_id="bob-sdk"))
    assert status == 400
    assert valid(client.authentication.list_snap_trade_users(), Users) == [user["user_id"], "bob-sdk"]
    as_bob = {"user_id": "bob-sdk", "user_secret": bob["userSecret"]}
    assert valid(client.connections.list_brokerage_authorizations(**as_bob), Connections) == []
    assert valid(client.account_information.list_user_accounts(**as_bob), AccountList) == []
    status, _ = refused(lambda: client.account_information.get_user_account_balance(
        account_id=served["accounts"][0], **as_bob))
    assert status == 404
    rotated = valid(client.authentication.reset_snap_trade_user_secret(**as_bob), Rotated)
    assert rotated["userId"] == "bob-sdk" and rotated["userSecret"] != bob["userSecret"]
    status, _ = refused(lambda: client.account_information.list_user_accounts(**as_bob))
    assert status == 401
    gone = valid(client.authentication.delete_snap_trade_user(user_id="bob-sdk"), Deleted)
    assert gone["status"] == "deleted" and gone["userId"] == "bob-sdk"
    assert valid(client.authentication.list_snap_trade_users(), Users) == [user["user_id"]]
    mine = [d for d in sim(served, "GET", "/_sim/webhooks") if d["url"] == url]
    payloads = [signed_as_snaptrade_signs(d, served["credentials"]["consumer_key"]) for d in mine]
    assert [(p["eventType"], p["userId"]) for p in payloads] == [
        ("USER_REGISTERED", "bob-sdk"), ("USER_DELETED", "bob-sdk")]


# --- rate limits, outages, caches (the model's fault plan) ----------------------------------------------


def with_faults(served, plan, call):
    sim(served, "PUT", "/_sim/faults", plan)
    try:
        return call()
    finally:
        sim(served, "PUT", "/_sim/faults", "rules = []\n")


def test_every_answer_says_its_rate_window(client, user):
    first = client.account_information.list_user_accounts(**user)
    second = client.account_information.list_user_accounts(**user)
    assert first.headers["X-RateLimit-Limit"] == "250"  # per clientId a minute (§8.3)
    assert int(second.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1
    # A wait in seconds, as SDK 13 tells its users to read it ("wait for the *-Reset value"), not a time.
    assert 0 <= int(second.headers["X-RateLimit-Reset"]) <= 60


def test_a_throttled_request_is_429_with_its_wait(client, user, served):
    plan = '[[rules]]\nfault = { kind = "rate_limit", retry_after_ms = 1000 }\n'
    throttled = lambda: [f for f in sim(served, "GET", "/_sim/faults") if "rate" in f["fault"]]
    before = len(throttled())
    with pytest.raises(ApiException) as e:
        with_faults(served, plan, lambda: client.account_information.list_user_accounts(**user))
    assert e.value.status == 429
    assert e.value.body == {"detail": "Request was throttled. Expected available in 1 seconds.",
                            "status_code": 429, "code": "0000"}
    assert e.value.headers["Retry-After"] == "1" and e.value.headers["X-RateLimit-Remaining"] == "0"
    # The SDK leaves its urllib3 pool at urllib3's default Retry(3), which honours Retry-After on a
    # 429: the call was sent four times, a second apart, before the SDK raised.
    assert len(throttled()) - before == 4


def test_one_brokerage_down_fails_only_its_accounts(client, user, served):
    fidelity, etrade = served["accounts"][1], served["accounts"][0]
    plan = '[[rules]]\nfault = { kind = "downstream_outage", brokerage = "FIDELITY" }\n'

    def both():
        ok = valid(client.account_information.get_user_account_balance(account_id=etrade, **user), Balances)
        return ok, refused(lambda: client.account_information.get_user_account_balance(account_id=fidelity, **user))

    ok, (status, body) = with_faults(served, plan, both)
    assert ok and status == 503 and body["code"] == "3002"
    status, body = with_faults(served, '[[rules]]\nfault = { kind = "outage", mode = "status" }\n', lambda: refused(
        lambda: client.account_information.get_user_account_balance(account_id=etrade, **user)))
    assert status == 503 and body["code"] == "1000"  # SnapTrade's own outage, not a brokerage's


def test_a_cached_read_says_how_old_it_is(client, user, served, etrade):
    plan = '[[rules]]\nfault = { kind = "stale_read", age_ms = 1800000 }\n'
    now = sim_now(served)
    p = with_faults(served, plan, lambda: valid(
        client.account_information.get_all_account_positions(account_id=etrade, **user), AllPositions))
    age = now - when(p["data_freshness"]["as_of"])
    assert dt.timedelta(minutes=29) < age <= dt.timedelta(minutes=30)


# --- credentials ---------------------------------------------------------------------------------------


def test_a_bad_consumer_key_does_not_verify(served, user):
    bad = make_client(served, consumer_key="x" * 50)
    status, body = refused(lambda: bad.account_information.list_user_accounts(**user))
    assert status == 401 and body["code"] == "1076"
    # GET / is unsigned: it answers whatever the key.
    assert valid(bad.api_status.check(), Status)["online"] is True


def test_a_bad_user_secret_is_refused(client, user):
    wrong = dict(user, user_secret="00000000-0000-4000-8000-000000000000")
    status, body = refused(lambda: client.account_information.list_user_accounts(**wrong))
    assert status == 401 and body["code"] == "1083"


# --- history (runs late: it moves the clock a day) -------------------------------------------------------


def test_activities_are_a_day_late_newest_first_and_paged(client, user, served):
    fidelity = served["accounts"][1]

    def page(**q):
        return valid(client.account_information.get_account_activities(account_id=fidelity, **user, **q), Activities)

    today = sim_now(served).date()
    assert all(when(a["trade_date"]).date() < today for a in page()["data"])
    advance(served, 86_400_000)
    body = page()
    rows = body["data"]
    assert rows and body["pagination"]["total"] == len(rows)
    dates = [when(a["trade_date"]) for a in rows]
    assert dates == sorted(dates, reverse=True)
    assert all(d.date() < sim_now(served).date() for d in dates)
    assert {a["type"] for a in rows} >= {"CONTRIBUTION", "BUY"}
    for a in rows:
        assert a["account"]["id"] == fidelity and a["institution"] == "Fidelity"
        if a["type"] == "BUY":
            assert a["units"] > 0 and a["amount"] < 0  # cash out: negative
            # A share's trade names its Symbol; an option's its contract, and whether it opened.
            if a["option_symbol"] is None:
                assert a["symbol"]["symbol"] and a["option_type"] == ""
            else:
                assert a["symbol"] is None and a["option_type"] == "BUY_TO_OPEN"
                assert a["option_symbol"]["option_type"] == "CALL"
    assert any(a["option_symbol"] for a in rows)  # the opening session's call
    second = page(offset=1, limit=1)
    assert [a["id"] for a in second["data"]] == [rows[1]["id"]]
    assert second["pagination"] == {"offset": 1, "limit": 1, "total": len(rows)}
    assert all(a["type"] == "BUY" for a in page(type="BUY")["data"])
    # Nothing of today's yet: a window from today on is empty.
    assert page(start_date=sim_now(served).date().isoformat())["data"] == []


# --- deletion (runs last: a deleted connection stays gone) ---------------------------------------------


def test_a_deleted_connection_and_its_account_are_gone_and_announced(client, user, served):
    url = "http://partner.test/snaptrade-deleted"
    sim(served, "PUT", "/_sim/webhooks", {"url": url})
    robinhood = served["accounts"][3]
    c = connection_of(client, user, "ROBINHOOD")
    r = valid(client.connections.delete_connection(connection_id=c["id"], **user), ConnectionDeleted)
    assert r["connection_id"] == c["id"] and isinstance(r["detail"], str) and r["detail"]
    conns = valid(client.connections.list_brokerage_authorizations(**user), Connections)
    assert [x["brokerage"]["slug"] for x in conns] == SLUGS[:3]
    assert robinhood not in [a["id"] for a in valid(client.account_information.list_user_accounts(**user), AccountList)]
    status, body = refused(lambda: client.account_information.get_user_account_details(account_id=robinhood, **user))
    assert status == 404 and body["code"] == "1011"
    status, _ = refused(lambda: client.connections.delete_connection(connection_id=c["id"], **user))
    assert status == 404
    # The others are untouched.
    valid(client.account_information.get_user_account_details(account_id=served["accounts"][0], **user), AccountDetail)
    mine = [d for d in sim(served, "GET", "/_sim/webhooks") if d["url"] == url]
    payloads = [signed_as_snaptrade_signs(d, served["credentials"]["consumer_key"]) for d in mine]
    assert [(p["eventType"], p["brokerageAuthorizationId"], p["brokerageId"]) for p in payloads] == [
        ("CONNECTION_DELETED", c["id"], c["brokerage"]["id"])]
