"""tradier-api-client, pointed at the simulated Tradier with base_url (with
/v1), parses every answer: single objects and "null" collections included."""

import time

import pytest
from requests import HTTPError
from tradier_api_client.rest.extensions.orders import equity_limit, equity_market, option_limit
from tradier_api_client.rest.rest_client import RestClient

BROKER = "tradier"


@pytest.fixture(scope="module")
def client(served):
    return RestClient(base_url=served["base_url"], api_key=served["credentials"]["access_token"], account_number=served["accounts"][0])


@pytest.fixture(scope="module")
def acct(served):
    return served["accounts"][0]


def test_profile_auto_discovers_the_account(served):
    auto = RestClient(base_url=served["base_url"], api_key=served["credentials"]["access_token"])
    assert auto.account_number == served["accounts"][0]


def test_empty_collections_are_the_string_null(client, acct):
    assert client.get_positions(acct)["positions"] == "null"
    assert client.get_orders(acct) == {"orders": {"order": []}}


def test_balances(client, acct):
    b = client.get_balances(acct)["balances"]
    assert b["account_number"] == acct and b["total_cash"] == 100000
    assert isinstance(b["margin"]["stock_buying_power"], (int, float))


def test_market_order_fills_with_tag_and_single_object_position(client, acct):
    r = client.place_order(equity_market("AAPL", "buy", 5), tag="sdk-1")
    assert r["order"]["status"] == "ok" and isinstance(r["order"]["id"], int)
    o = client.get_order(acct, r["order"]["id"])["order"]
    assert o["status"] == "filled" and o["exec_quantity"] == 5 and o["tag"] == "sdk-1"
    assert o["avg_fill_price"] > 0 and o["remaining_quantity"] == 0
    p = client.get_positions(acct)["positions"]["position"]
    assert isinstance(p, dict) and p["symbol"] == "AAPL" and p["quantity"] == 5


def test_limit_modify_cancel_and_finalized(client, acct):
    r = client.place_order(equity_limit("MSFT", "buy", 1, 1.0))
    oid = r["order"]["id"]
    assert client.get_order(acct, oid)["order"]["status"] == "open"
    m = client.modify_order(acct, oid, price=1.5)
    assert m["order"]["id"] == oid
    assert client.get_order(acct, oid)["order"]["price"] == 1.5
    assert client.cancel_order(acct, oid)["order"]["status"] == "ok"
    assert client.get_order(acct, oid)["order"]["status"] == "canceled"
    with pytest.raises(HTTPError) as e:
        client.cancel_order(acct, oid)
    assert e.value.response.status_code == 400
    assert e.value.response.text == "order already in finalized state: canceled"
    statuses = [o["status"] for o in client.get_orders(acct)["orders"]["order"]]
    assert "canceled" in statuses


def test_option_order(client, acct):
    r = client.place_order(option_limit("AAPL260116C00190000", "buy_to_open", 1, 50.0))
    o = client.get_order(acct, r["order"]["id"])["order"]
    assert o["class"] == "option" and o["option_symbol"] == "AAPL260116C00190000" and o["status"] == "filled"


def test_buying_power_refusal_arrives_inside_a_200(client):
    r = client.place_order(equity_market("AAPL", "buy", 100000))
    assert r["errors"]["error"] == "You do not have enough buying power for this trade."


def test_partial_fills_through_the_tag_trigger(client, acct):
    r = client.place_order(equity_market("NVDA", "buy", 3), tag="sim-partial-sdk")
    seen = []
    deadline = time.time() + 5
    while time.time() < deadline:
        o = client.get_order(acct, r["order"]["id"])["order"]
        seen.append((o["status"], o["exec_quantity"]))
        if o["status"] == "filled":
            break
        time.sleep(0.05)
    assert ("partially_filled", 1) in seen or ("partially_filled", 2) in seen, seen
    assert seen[-1] == ("filled", 3)


def test_rate_limit_headers_are_read_by_the_client(client):
    client.get_clock()
    state = client._get_rate_limit_state("standard")
    assert state["allowed"] == 120 and state["available"] < 120 and state["expiry"] > 1_767_000_000
