"""schwab-py, pointed at the simulated Schwab Trader API, drives accounts,
orders (place → 201 + Location, get, list, replace, cancel), user
preferences, token refresh, the authorization-code exchange and the
ACCT_ACTIVITY stream.

Every host in schwab-py is hard-coded to https://api.schwabapi.com
(schwab.md §1.4). The client is built the way its users build it, from a
token file (`client_from_token_file`, the file in schwab-py's own format),
and pointed at the model by an httpx request hook on its OAuth2 session
that changes scheme, host and port and keeps the path: the hook runs after
Authlib has added the bearer token and also sees Authlib's own token
refresh, so nothing in the SDK is patched (only the authorization-code
exchange, whose client no hook reaches, has its token endpoint constant
pointed at the model; see that test). schwab-py parses no REST body
(every call returns the raw response), so the tests read the JSON
themselves, with the types Schwab sends (§2, §6).
"""

import asyncio
import email.utils
import json
import re
import time
import urllib.parse
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest
import schwab.auth
from authlib.integrations.base_client.errors import OAuthError
from schwab.auth import client_from_token_file
from schwab.client import Client
from schwab.orders.common import Duration, OrderStrategyType, first_triggers_second
from schwab.orders.equities import equity_buy_limit, equity_buy_market, equity_sell_limit
from schwab.orders.options import OptionSymbol, option_buy_to_open_limit
from schwab.streaming import StreamClient
from schwab.utils import Utils

FIXTURES = Path(__file__).resolve().parents[2] / "test_data" / "schwab"

BROKER = "schwab"
LOCATION = re.compile(r"https://api\.schwabapi\.com/trader/v1/accounts/(\w+)/orders/(\d+)$")
OPTION = OptionSymbol("AAPL", date(2026, 1, 16), "C", "190").build()  # 'AAPL  260116C00190000'
Status = Client.Order.Status


def root(served):
    """The model's host root: `base_url` is the Trader API base, `…/trader/v1`."""
    return served["base_url"].split("/trader/")[0]


def http_hook(served):
    """Sends every request schwab-py (and Authlib's token refresh) makes to the model, path unchanged."""
    u = urllib.parse.urlsplit(root(served))

    def rewrite(request):
        request.url = request.url.copy_with(scheme=u.scheme, host=u.hostname, port=u.port)
        request.headers["Host"] = u.netloc

    return rewrite


def write_token_file(path, served, expires_in=1800, **changes):
    """The token file schwab-py reads (schwab/auth.py TokenMetadata): creation_timestamp and the
    token, with an integer expires_at on the wall clock (Authlib compares it with time.time())."""
    c, now = served["credentials"], int(time.time())
    token = {"access_token": c["access_token"], "refresh_token": c["refresh_token"], "id_token": c["id_token"],
             "token_type": "Bearer", "scope": "api", "expires_in": 1800, "expires_at": now + expires_in}
    token.update(changes)
    path.write_text(json.dumps({"creation_timestamp": now, "token": token}))
    return path


def make_client(served, path):
    c = served["credentials"]
    client = client_from_token_file(str(path), c["app_key"], c["app_secret"])
    client.session.event_hooks["request"].append(http_hook(served))
    return client


@pytest.fixture(scope="module")
def client(served, tmp_path_factory):
    return make_client(served, write_token_file(tmp_path_factory.mktemp("schwab") / "token.json", served))


@pytest.fixture(scope="module")
def acct(served):
    return served["accounts"][0]  # the plain account number, never used in a path


@pytest.fixture(scope="module")
def h(client, acct):
    r = client.get_account_numbers()
    assert r.status_code == 200, r.text
    return next(x["hashValue"] for x in r.json() if x["accountNumber"] == acct)


def control(served, **more):
    """The headers of a request to the model's /_sim/ routes: the control token `serve` printed."""
    return {served["control"]["header"]: served["control"]["token"], **more}


def sim_now(served):
    """The model's simulated time, from the Date header it stamps on every answer (its clock is not
    the wall clock, so schwab-py's default order window, wall now − 60 days, cannot be used)."""
    req = urllib.request.Request(root(served) + "/_sim/faults", headers=control(served))
    with urllib.request.urlopen(req, timeout=5) as r:
        return email.utils.parsedate_to_datetime(r.headers["Date"])


def steer(served, fault):
    """The next order the model receives meets `fault` (Schwab orders carry no client order id, so the
    control surface picks the order, not a trigger in the order)."""
    req = urllib.request.Request(root(served) + "/_sim/steer", data=json.dumps({"fault": fault}).encode(), method="POST",
                                 headers=control(served, **{"Content-Type": "application/json"}))
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200


def wait_for(fn, until, timeout=5.0):
    deadline = time.time() + timeout
    value = fn()
    while not until(value) and time.time() < deadline:
        time.sleep(0.05)
        value = fn()
    return value


def order_json(client, h, oid):
    r = client.get_order(oid, h)
    assert r.status_code == 200, r.text
    return r.json()


def place(client, h, spec):
    r = client.place_order(h, spec)
    assert r.status_code == 201 and r.content == b"", (r.status_code, r.text)
    assert LOCATION.match(r.headers["Location"]), r.headers["Location"]  # production host, even when served locally
    oid = Utils(client, h).extract_order_id(r)
    assert isinstance(oid, int)
    return oid


def window(served, days=1):
    now = sim_now(served)
    return {"from_entered_datetime": now - timedelta(days=days), "to_entered_datetime": now + timedelta(minutes=1)}


def test_the_token_file_fixture_is_one_schwab_py_reads(tmp_path):
    """test_data/schwab/token_file.json (the format the tests write) loads through schwab-py."""
    path = tmp_path / "token.json"
    path.write_text((FIXTURES / "token_file.json").read_text())
    client = client_from_token_file(str(path), "k" * 32, "s" * 16)
    assert client.token_metadata.creation_timestamp == json.loads(path.read_text())["creation_timestamp"]
    assert isinstance(client.session.token["expires_at"], int)


def test_account_numbers_map_to_opaque_hashes(client, acct, h):
    r = client.get_account_numbers()
    assert r.status_code == 200 and r.headers.get("Schwab-Client-CorrelId")
    pairs = r.json()
    assert isinstance(pairs, list) and set(pairs[0]) == {"accountNumber", "hashValue"}
    assert pairs[0]["accountNumber"] == acct and isinstance(pairs[0]["accountNumber"], str)
    assert len(h) == 64 and re.fullmatch(r"\w+", h) and acct not in h
    # A plain account number is not accepted in a path.
    r = client.get_account(acct)
    assert r.status_code in (400, 404) and isinstance(r.json()["message"], str)
    assert all(isinstance(e, str) for e in r.json()["errors"])


def test_account_with_and_without_positions(client, acct, h, served):
    plain = client.get_account(h)
    assert plain.status_code == 200
    assert "positions" not in plain.json()["securitiesAccount"]
    a = client.get_account(h, fields=Client.Account.Fields.POSITIONS).json()
    s = a["securitiesAccount"]
    assert s["accountNumber"] == acct and s["type"] in ("MARGIN", "CASH") and isinstance(s["positions"], list)
    assert isinstance(s["currentBalances"]["cashBalance"], float) and s["currentBalances"]["cashBalance"] > 0
    assert isinstance(s["initialBalances"]["isInCall"], bool)
    assert isinstance(a["aggregatedBalance"]["liquidationValue"], float)
    everyone = client.get_accounts(fields=Client.Account.Fields.POSITIONS).json()
    assert [x["securitiesAccount"]["accountNumber"] for x in everyone] == served["accounts"]
    assert all("positions" in x["securitiesAccount"] for x in everyone)


def test_user_preference_is_an_object_with_the_streamer(client, acct):
    p = client.get_user_preferences().json()
    assert isinstance(p, dict) and p["accounts"][0]["accountNumber"] == acct
    info = p["streamerInfo"][0]
    assert info["streamerSocketUrl"].startswith("ws://127.0.0.1:")
    assert {"schwabClientCustomerId", "schwabClientCorrelId", "schwabClientChannel", "schwabClientFunctionId"} <= set(info)


def test_market_order_is_201_with_location_then_fills_into_a_position(client, acct, h):
    before = client.get_account(h).json()["securitiesAccount"]["currentBalances"]["cashBalance"]
    oid = place(client, h, equity_buy_market("AAPL", 3))
    o = wait_for(lambda: order_json(client, h, oid), lambda x: x["status"] == "FILLED")
    assert o["status"] == "FILLED" and o["orderId"] == oid and o["accountNumber"] == int(acct)  # an integer inside orders
    assert o["quantity"] == 3.0 and o["filledQuantity"] == 3.0 and o["remainingQuantity"] == 0.0
    assert o["cancelable"] is False and o["editable"] is False and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", o["closeTime"])
    assert o["orderType"] == "MARKET" and "price" not in o and o["orderStrategyType"] == "SINGLE"
    execs = [x for x in o["orderActivityCollection"] if x["activityType"] == "EXECUTION"]
    assert sum(x["quantity"] for x in execs) == 3.0 and all(leg["price"] > 0 for x in execs for leg in x["executionLegs"])
    leg = o["orderLegCollection"][0]
    assert leg["instrument"]["symbol"] == "AAPL" and leg["instruction"] == "BUY" and leg["instrument"]["assetType"] == "EQUITY"
    s = client.get_account(h, fields=Client.Account.Fields.POSITIONS).json()["securitiesAccount"]
    p = next(p for p in s["positions"] if p["instrument"]["symbol"] == "AAPL")
    assert p["longQuantity"] == 3.0 and p["shortQuantity"] == 0.0 and p["instrument"]["assetType"] == "EQUITY"
    assert p["averagePrice"] > 0 and p["marketValue"] > 0
    assert s["currentBalances"]["cashBalance"] < before


def test_limit_rests_then_cancel_is_200_empty(client, h):
    oid = place(client, h, equity_buy_limit("MSFT", 2, "1.00").set_duration(Duration.GOOD_TILL_CANCEL))
    o = wait_for(lambda: order_json(client, h, oid), lambda x: x["status"] == "WORKING")
    assert o["status"] == "WORKING" and o["cancelable"] is True and o["price"] == 1.0 and o["duration"] == "GOOD_TILL_CANCEL"
    r = client.cancel_order(oid, h)
    assert r.status_code == 200 and r.content == b""
    assert order_json(client, h, oid)["status"] in ("PENDING_CANCEL", "AWAITING_UR_OUT", "CANCELED")
    o = wait_for(lambda: order_json(client, h, oid), lambda x: x["status"] == "CANCELED")  # one L
    assert o["status"] == "CANCELED" and o["cancelable"] is False and "closeTime" in o


def test_replace_is_201_with_a_new_id_and_the_old_order_replaced(client, h):
    old = place(client, h, equity_buy_limit("SPY", 1, "2.00").set_duration(Duration.GOOD_TILL_CANCEL))
    wait_for(lambda: order_json(client, h, old), lambda x: x["status"] == "WORKING")
    r = client.replace_order(h, old, equity_buy_limit("SPY", 2, "2.50").set_duration(Duration.GOOD_TILL_CANCEL))
    assert r.status_code == 201 and r.content == b"", (r.status_code, r.text)
    assert LOCATION.match(r.headers["Location"]), r.headers["Location"]
    new = Utils(client, h).extract_order_id(r)
    assert isinstance(new, int) and new != old
    o = wait_for(lambda: order_json(client, h, old), lambda x: x["status"] == "REPLACED")
    assert o["status"] == "REPLACED" and o["cancelable"] is False
    assert new in [x["orderId"] for x in o.get("replacingOrderCollection", [])], o
    n = wait_for(lambda: order_json(client, h, new), lambda x: x["status"] == "WORKING")
    assert n["status"] == "WORKING" and n["price"] == 2.5 and n["quantity"] == 2.0
    assert client.cancel_order(new, h).status_code == 200


def test_orders_list_needs_a_window_in_simulated_time(client, h, served):
    oid = place(client, h, equity_buy_market("IWM", 1))
    wait_for(lambda: order_json(client, h, oid), lambda x: x["status"] == "FILLED")
    r = client.get_orders_for_account(h, **window(served))
    assert r.status_code == 200, r.text
    orders = r.json()
    assert isinstance(orders, list) and oid in [o["orderId"] for o in orders]
    filled = client.get_orders_for_account(h, **window(served), status=Status.FILLED).json()
    assert filled and {o["status"] for o in filled} == {"FILLED"} and oid in [o["orderId"] for o in filled]
    working = client.get_orders_for_account(h, **window(served), status=Status.WORKING).json()
    assert oid not in [o["orderId"] for o in working]
    one = client.get_orders_for_account(h, **window(served), max_results=1).json()
    assert len(one) == 1
    everywhere = client.get_orders_for_all_linked_accounts(**window(served)).json()
    assert oid in [o["orderId"] for o in everywhere]
    # A window that ends before the order was entered does not list it.
    now = sim_now(served)
    earlier = client.get_orders_for_account(h, from_entered_datetime=now - timedelta(days=2),
                                            to_entered_datetime=now - timedelta(days=1)).json()
    assert oid not in [o["orderId"] for o in earlier]
    # The all-accounts list reaches back 60 days from the model's today, the account's list one year.
    far = {"from_entered_datetime": now - timedelta(days=61), "to_entered_datetime": now}
    assert client.get_orders_for_account(h, **far).status_code == 200
    r = client.get_orders_for_all_linked_accounts(**far)
    assert r.status_code == 400 and isinstance(r.json()["message"], str), r.text
    r = client.get_orders_for_account(h, from_entered_datetime=now - timedelta(days=400), to_entered_datetime=now)
    assert r.status_code == 400 and isinstance(r.json()["errors"], list), r.text
    # fromEnteredTime/toEnteredTime are required (§2.5): schwab-py always sends them (wall-clock
    # defaults), so the request without them goes through its own request helper.
    r = client._get_request(f"/trader/v1/accounts/{h}/orders", {})
    assert r.status_code == 400 and isinstance(r.json()["message"], str) and isinstance(r.json()["errors"], list)


def test_cancel_of_a_filled_order_is_a_service_error(client, h):
    oid = place(client, h, equity_buy_market("QQQ", 1))
    wait_for(lambda: order_json(client, h, oid), lambda x: x["status"] == "FILLED")
    r = client.cancel_order(oid, h)
    assert r.status_code == 400
    body = r.json()
    assert isinstance(body["message"], str) and body["errors"] and all(isinstance(e, str) for e in body["errors"])
    assert order_json(client, h, oid)["status"] == "FILLED"


def test_invalid_orders_are_400_and_unknown_ones_404(client, h):
    spec = equity_buy_limit("AAPL", 1, "1.00").build()
    spec["requestedDestination"] = "AUTO"  # a response-only field (schwab-py issue #43)
    r = client.place_order(h, spec)
    assert r.status_code == 400 and isinstance(r.json()["message"], str) and r.json()["errors"]
    assert "Location" not in r.headers
    r = client.get_order(999, h)
    assert r.status_code == 404 and isinstance(r.json()["message"], str)


def test_a_buying_power_refusal_is_400_with_schwabs_body(client, h):
    r = client.place_order(h, equity_buy_market("AAPL", 100000))
    # The model refuses at placement (§5 leaves open whether Schwab does that or accepts then rejects).
    assert r.status_code == 400, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"message", "errors"} and "Account_Sys_0005" in body["message"], body
    assert "Location" not in r.headers
    from schwab.utils import UnsuccessfulOrderException

    with pytest.raises(UnsuccessfulOrderException):
        Utils(client, h).extract_order_id(r)


def test_preview_order_is_200(client, h):
    r = client.preview_order(h, equity_buy_limit("MSFT", 2, "1.00"))
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["orderStrategy"]["orderType"] == "LIMIT" and isinstance(p["orderValidationResult"]["rejects"], list)


def test_option_order_by_occ_symbol(client, h):
    assert OPTION == "AAPL  260116C00190000"
    oid = place(client, h, option_buy_to_open_limit(OPTION, 1, "50.00"))  # marketable: fills
    o = wait_for(lambda: order_json(client, h, oid), lambda x: x["status"] == "FILLED")
    assert o["status"] == "FILLED", o
    leg = o["orderLegCollection"][0]
    assert leg["instrument"]["assetType"] == "OPTION" and leg["instrument"]["symbol"] == OPTION and leg["instruction"] == "BUY_TO_OPEN"
    s = client.get_account(h, fields=Client.Account.Fields.POSITIONS).json()["securitiesAccount"]
    p = next(p for p in s["positions"] if p["instrument"]["symbol"] == OPTION)
    assert p["longQuantity"] == 1.0 and p["instrument"]["putCall"] == "CALL" and p["instrument"]["underlyingSymbol"] == "AAPL"


def test_trigger_child_waits_for_its_parent(client, h):
    parent = equity_buy_limit("AAPL", 1, "1.00")  # rests
    child = equity_sell_limit("AAPL", 1, "10000.00").set_duration(Duration.GOOD_TILL_CANCEL)
    oid = place(client, h, first_triggers_second(parent, child))
    o = order_json(client, h, oid)
    assert o["orderStrategyType"] == OrderStrategyType.TRIGGER.value
    assert o["childOrderStrategies"][0]["status"] == "AWAITING_PARENT_ORDER"
    assert client.cancel_order(oid, h).status_code == 200


def test_partial_fills_stay_working(client, h, served):
    steer(served, {"kind": "partial_fill", "units_per_event": 1})
    oid = place(client, h, equity_buy_market("NVDA", 4))
    seen = []
    deadline = time.time() + 10
    while time.time() < deadline:
        o = order_json(client, h, oid)
        seen.append((o["status"], o["filledQuantity"]))
        if o["status"] == "FILLED":
            break
        time.sleep(0.05)
    # No PARTIALLY_FILLED status: a partial fill is WORKING with filledQuantity between 0 and quantity.
    assert any(s == "WORKING" and 0 < q < 4 for s, q in seen), seen
    assert seen[-1] == ("FILLED", 4.0), seen
    assert len([a for a in o["orderActivityCollection"] if a["activityType"] == "EXECUTION"]) >= 2


def test_token_refresh_keeps_the_token_file_format(served, tmp_path):
    # Authlib refreshes `leeway` (300 s) before expires_at: a token 60 s from expiry is refreshed first.
    path = write_token_file(tmp_path / "token.json", served, expires_in=60)
    created = json.loads(path.read_text())["creation_timestamp"]
    c = make_client(served, path)
    first = c.session.token["access_token"]
    r = c.get_account_numbers()  # POST /v1/oauth/token (Basic app_key:app_secret, form body) first
    assert r.status_code == 200, r.text
    assert c.session.token["access_token"] != first and c.session.token["expires_in"] == 1800
    written = json.loads(path.read_text())
    assert set(written) == {"creation_timestamp", "token"} and written["creation_timestamp"] == created
    t = written["token"]
    assert t["access_token"] == c.session.token["access_token"] and isinstance(t["expires_at"], int)
    assert t["refresh_token"] == served["credentials"]["refresh_token"]  # not rotated by a refresh
    assert t["token_type"] == "Bearer" and t["scope"] == "api" and t["id_token"]
    assert c.token_metadata.token["access_token"] == t["access_token"]  # what the streamer logs in with
    # The renewed token is the one the model takes from now on.
    assert make_client(served, path).get_account_numbers().status_code == 200


def test_bad_refresh_token_is_an_oauth_error(served, tmp_path):
    path = write_token_file(tmp_path / "token.json", served, expires_in=60, refresh_token="not-a-refresh-token")
    c = make_client(served, path)
    with pytest.raises(OAuthError) as e:
        c.get_account_numbers()
    assert e.value.error in ("unsupported_token_type", "invalid_grant"), e.value


def test_wrong_access_token_is_401(served, tmp_path):
    path = write_token_file(tmp_path / "token.json", served, access_token="I0.not-a-token")
    r = make_client(served, path).get_account_numbers()
    assert r.status_code == 401 and isinstance(r.json()["message"], str)  # schwab-py does not refresh on a 401


def test_authorization_code_exchange(served, monkeypatch):
    c = served["credentials"]
    # client_from_received_url builds its own OAuth2Client, which no hook reaches before it posts the
    # code: its token endpoint (a module constant) is pointed at the model for this one call.
    monkeypatch.setattr(schwab.auth, "TOKEN_ENDPOINT", root(served) + "/v1/oauth/token")
    ctx = schwab.auth.get_auth_context(c["app_key"], c["callback_url"])
    received = f"{c['callback_url']}?code={urllib.parse.quote(c['authorization_code'])}&session=sim&state={ctx.state}"
    written = []
    client = schwab.auth.client_from_received_url(c["app_key"], c["app_secret"], ctx, received, written.append)
    assert set(written[0]) == {"creation_timestamp", "token"} and written[0]["token"]["expires_in"] == 1800
    assert written[0]["token"]["refresh_token"] and written[0]["token"]["access_token"] != c["access_token"]
    client.session.event_hooks["request"].append(http_hook(served))
    assert client.get_account_numbers().status_code == 200
    # The code is single use.
    again = schwab.auth.get_auth_context(c["app_key"], c["callback_url"])
    with pytest.raises(OAuthError):
        schwab.auth.client_from_received_url(c["app_key"], c["app_secret"], again,
                                             received.replace(ctx.state, again.state), written.append)


def test_account_activity_stream_reports_the_fill(client, h):
    async def run():
        stream = StreamClient(client)
        got = []
        stream.add_account_activity_handler(got.append)
        await stream.login()  # GET /userPreference, then ADMIN LOGIN with the raw access token
        await stream.account_activity_sub()  # ACCT_ACTIVITY SUBS, fields 0,1,2,3
        oid = place(client, h, equity_buy_market("TSLA", 2))
        types = []
        while not any(t == "OrderFillCompleted" and d.get("SchwabOrderID") == str(oid) for t, d in types):
            await stream.handle_message()
            for m in got:
                for c in m["content"]:
                    data = c.get("MESSAGE_DATA") or ""
                    types.append((c["MESSAGE_TYPE"], json.loads(data) if data.startswith("{") else {}))
            got.clear()
        await stream.logout()
        return oid, types

    oid, types = asyncio.run(asyncio.wait_for(run(), 10))
    assert types[0][0] == "SUBSCRIBED", types
    mine = [t for t, d in types if d.get("SchwabOrderID") == str(oid)]
    assert "OrderCreated" in mine and mine.index("OrderCreated") < mine.index("OrderFillCompleted"), types


def test_after_seven_days_the_refresh_token_is_dead(served, tmp_path):
    """Runs last: it moves the model's clock on. Refresh tokens live 7 days from the authorization and
    are not extended by refreshing (§1.2); access tokens 30 minutes, on the model's clock."""
    path = write_token_file(tmp_path / "token.json", served)
    c = make_client(served, path)
    assert c.get_account_numbers().status_code == 200
    req = urllib.request.Request(root(served) + "/_sim/advance", data=json.dumps({"ms": 7 * 86_400_000 + 60_000}).encode(),
                                 method="POST", headers=control(served, **{"Content-Type": "application/json"}))
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
    # The access token Authlib still believes in (its expiry is on the wall clock) is expired: a plain 401.
    r = c.get_account_numbers()
    assert r.status_code == 401 and isinstance(r.json()["message"], str)
    # Refreshing it is refused: the user must authorize again.
    c.session.token["expires_at"] = int(time.time())
    with pytest.raises(OAuthError) as e:
        c.get_account_numbers()
    assert e.value.error in ("unsupported_token_type", "invalid_grant"), e.value
