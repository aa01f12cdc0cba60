"""snaptrade-python-sdk 11.0.140 against the simulated SnapTrade, pointed at it the way that
generation is pointed anywhere (snaptrade.md §1.3): `SnapTrade(host=base_url + "/api/v1",
consumer_key=…, client_id=…)`. SDK 11 signs `/api/v1` + the resource path whatever the host, and
calls the legacy operations SDK 13 dropped (§11.2): positions without options, option holdings
on their own, the order cancel that answers the order record, and the authorization delete that
answers 204. Every 200 body goes through the SDK's own schema for it, as in the SDK 13 tests.
"""

import json
import urllib.request

import pytest
from snaptrade_client import ApiException, SnapTrade

BROKER = "snaptrade"


@pytest.fixture(scope="module")
def client(served):
    c = served["credentials"]
    return SnapTrade(host=served["base_url"] + "/api/v1", consumer_key=c["consumer_key"], client_id=c["client_id"])


@pytest.fixture(scope="module")
def user(served):
    c = served["credentials"]
    return {"user_id": c["user_id"], "user_secret": c["user_secret"]}


@pytest.fixture(scope="module")
def etrade(served):
    return served["accounts"][0]


def valid(response, _schema=None):
    """The body of a 200. SDK 11's public methods do not validate bodies (§3), and its schemas are
    older than the spec SDK 13 carries: they make fields non-nullable that SnapTrade sends as null
    (`Brokerage.url`, an order's `option_symbol`), so SDK 13's schemas are the model's check
    (tests/sdk/test_snaptrade.py) and these tests check what SDK 11 callers read."""
    assert response.status == 200
    return response.body


def advance(served, ms):
    headers = {served["control"]["header"]: served["control"]["token"], "Content-Type": "application/json"}
    req = urllib.request.Request(served["base_url"] + "/_sim/advance", data=json.dumps({"ms": ms}).encode(),
                                 method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def test_calls_are_signed_over_the_legacy_path_and_verify(client, user, served):
    accounts = valid(client.account_information.list_user_accounts(**user))
    assert sorted(a["id"] for a in accounts) == sorted(served["accounts"])
    conns = valid(client.connections.list_brokerage_authorizations(**user))
    assert len(conns) == len(served["accounts"])


def test_legacy_positions_are_json_numbers_and_options_come_apart(client, user, served, etrade):
    o = valid(client.trading.place_force_order(
        account_id=etrade, action="BUY", order_type="Market", time_in_force="Day", universal_symbol_id=None,
        symbol="AAPL", units=3.0, **user))
    assert o["status"] == "PENDING"
    advance(served, 5_000)
    positions = valid(client.account_information.get_user_account_positions(account_id=etrade, **user))
    aapl = next(p for p in positions if p["symbol"]["symbol"]["symbol"] == "AAPL")
    assert aapl["units"] == 3.0 and isinstance(aapl["price"], float)
    # SDK 11 reads option holdings on their own endpoint: none held here.
    assert valid(client.options.list_option_holdings(account_id=etrade, **user)) == []
    balances = valid(client.account_information.get_user_account_balance(account_id=etrade, **user))
    assert balances[0]["currency"]["code"] == "USD" and isinstance(balances[0]["cash"], float)
    # At Fidelity the user bought a call on their own: there, it is an option holding only.
    fidelity = served["accounts"][1]
    held = valid(client.options.list_option_holdings(account_id=fidelity, **user))
    assert len(held) == 1 and held[0]["units"] == 1.0, held
    contract = held[0]["symbol"]["option_symbol"]
    assert contract["option_type"] == "CALL" and contract["ticker"] == held[0]["symbol"]["description"]
    shares = valid(client.account_information.get_user_account_positions(account_id=fidelity, **user))
    assert shares and all(p["symbol"]["symbol"]["symbol"].isalpha() for p in shares), shares


def test_the_legacy_cancel_answers_the_order(client, user, served, etrade):
    o = valid(client.trading.place_force_order(
        account_id=etrade, action="BUY", order_type="Limit", time_in_force="GTC", symbol="MSFT", price=1.0,
        units=2.0, **user))
    advance(served, 1_000)
    c = valid(client.trading.cancel_user_account_order(
        account_id=etrade, brokerage_order_id=o["brokerage_order_id"], **user))
    assert c["brokerage_order_id"] == o["brokerage_order_id"]
    advance(served, 1_000)
    with pytest.raises(ApiException) as e:
        client.trading.cancel_user_account_order(account_id=etrade, brokerage_order_id=o["brokerage_order_id"], **user)
    assert e.value.status == 400


def test_the_legacy_authorization_delete_answers_no_content(client, user, served):
    conns = valid(client.connections.list_brokerage_authorizations(**user))
    robinhood = next(c for c in conns if c["brokerage"]["slug"] == "ROBINHOOD")
    r = client.connections.remove_brokerage_authorization(authorization_id=robinhood["id"], **user)
    assert r.status == 204
    left = valid(client.connections.list_brokerage_authorizations(**user))
    assert robinhood["id"] not in [c["id"] for c in left]
