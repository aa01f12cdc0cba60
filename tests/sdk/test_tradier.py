"""tradier-api-client, pointed at the simulated Tradier with base_url (with
/v1), parses every answer: single objects and "null" collections included;
its StreamingClient follows the account stream through a session."""

import json
import queue
import time

import pytest
import requests
import websocket
from requests import HTTPError
from tradier_api_client.rest.extensions.orders import equity_limit, equity_market, option_limit
from tradier_api_client.rest.rest_client import RestClient
from tradier_api_client.streaming.streaming_client import StreamingClient

BROKER = "tradier"


@pytest.fixture(scope="module")
def client(served):
    return RestClient(base_url=served["base_url"], api_key=served["credentials"]["access_token"], account_number=served["accounts"][0])


@pytest.fixture(scope="module")
def acct(served):
    return served["accounts"][0]


def settled(client, acct, oid, status="filled", seconds=5):
    """The order once it reads `status`: a submit is only acknowledged (§2.1.5)."""
    deadline = time.time() + seconds
    while True:
        o = client.get_order(acct, oid)["order"]
        if o["status"] == status or time.time() > deadline:
            return o
        time.sleep(0.05)


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
    o = settled(client, acct, r["order"]["id"])
    assert o["status"] == "filled" and o["exec_quantity"] == 5 and o["tag"] == "sdk-1"
    assert o["avg_fill_price"] > 0 and o["remaining_quantity"] == 0
    p = client.get_positions(acct)["positions"]["position"]
    assert isinstance(p, dict) and p["symbol"] == "AAPL" and p["quantity"] == 5


def test_limit_modify_cancel_and_finalized(client, acct):
    r = client.place_order(equity_limit("MSFT", "buy", 1, 1.0))
    oid = r["order"]["id"]
    # Tradier acknowledges first; the order reads pending, then open.
    assert client.get_order(acct, oid)["order"]["status"] in ("pending", "open")
    assert settled(client, acct, oid, "open")["status"] == "open"
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
    o = settled(client, acct, r["order"]["id"])
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
    market = client._get_rate_limit_state("market_data")
    assert market["allowed"] == 120 and market["available"] < 120


def test_xml_unless_json_is_asked_for(served, acct):
    """python-requests sends Accept: */*, and Tradier answers XML to it (§1.3)."""
    auth = {"Authorization": "Bearer " + served["credentials"]["access_token"]}
    r = requests.get(f"{served['base_url']}/accounts/{acct}/balances", headers=auth, timeout=5)
    assert r.headers["Content-Type"] == "application/xml"
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8"?><balances>')
    r = requests.get(f"{served['base_url']}/accounts/{acct}/balances", headers={**auth, "Accept": "application/json"}, timeout=5)
    assert r.json()["balances"]["account_number"] == acct


def test_selling_what_is_not_held_is_refused_inside_a_200(client):
    r = client.place_order(equity_market("TSLA", "sell", 1))
    assert r["errors"]["error"].startswith("Sell order cannot be placed unless you are closing a long position")


def test_modify_changes_the_type_and_refuses_a_type_missing_its_price(client, acct):
    oid = client.place_order(equity_limit("BAC", "buy", 1, 1.0))["order"]["id"]
    # A stop order needs a stop, and the limit order has none to carry over.
    with pytest.raises(HTTPError) as e:
        client.modify_order(acct, oid, order_type="stop")
    assert e.value.response.status_code == 400
    assert client.modify_order(acct, oid, order_type="limit", price=1.25)["order"]["id"] == oid
    assert client.get_order(acct, oid)["order"]["price"] == 1.25
    # The same id, now a stop limit: the price carried over, the stop sent.
    assert client.modify_order(acct, oid, order_type="stop_limit", stop=1.3)["order"]["id"] == oid
    o = client.get_order(acct, oid)["order"]
    assert (o["type"], o["price"], o["stop_price"]) == ("stop_limit", 1.25, 1.3)


def test_history_gainloss_calendar_and_clock(client, acct):
    # Updated nightly: today's trades are not there yet.
    assert client.get_history(acct)["history"] == "null"
    assert client.get_gain_loss(acct)["gainloss"] == "null"
    days = client.get_calendar(month=1, year=2026)["calendar"]["days"]["day"]
    assert len(days) == 31 and days[4]["open"] == {"start": "09:30", "end": "16:00"}
    assert client.get_clock()["clock"]["state"] in ("premarket", "open", "postmarket", "closed")


def test_the_account_stream_needs_a_session(served, client, acct):
    ws_base = served["base_url"].replace("http://", "ws://", 1)
    raw = websocket.create_connection(ws_base + "/accounts/events", timeout=5)
    raw.send(json.dumps({"events": ["order"], "sessionid": "made-up"}))
    assert json.loads(raw.recv()) == {"error": "session not found"}
    raw.close()
    events = queue.Queue()
    stream = StreamingClient(
        served["credentials"]["access_token"],
        base_url=served["base_url"],
        stream_base_url=ws_base,
        main_account_id=acct,
        stream_type="account",
        events_destination=events,
        irrecoverable_callback=lambda *args: None,
    )
    stream.start_listening()
    try:
        time.sleep(0.5)  # Tradier never acknowledges a subscription
        oid = client.place_order(equity_limit("AMD", "buy", 1, 1.0), tag="sdk-stream")["order"]["id"]
        deadline = time.time() + 5
        seen = None
        while seen is None and time.time() < deadline:
            try:
                msg = json.loads(events.get(timeout=0.5))
            except queue.Empty:
                continue
            if msg.get("event") == "order" and msg.get("id") == oid:
                seen = msg
        assert seen is not None and seen["account"] == acct and seen["tag"] == "sdk-stream"
    finally:
        stream.stop()
