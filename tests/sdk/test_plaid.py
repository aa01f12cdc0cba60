"""plaid-python (46.0.0), pointed at the simulated Plaid with
Configuration(host=base_url), parses and type-checks every answer the model
gives (plaid-python validates 2xx bodies itself: required keys, nullability,
number/date/datetime types; it does not check enum values and never parses
error bodies, which the tests therefore json.loads from ApiException.body).

The minimal flow of the reference's §7: a Sandbox public token and its
exchange, the Item, its accounts, holdings, paged investment transactions in
a date window, and Plaid's error object; then the Item's life (login
required, removal), per-Item limits, PRODUCT_NOT_READY, webhooks and an
outage, through the model's /_sim/ routes. The model's dates are simulated
(they start on 2026-01-05), never the wall clock's.
"""

import datetime as dt
import json
import urllib.request

import plaid
import pytest
from plaid.api import plaid_api
from plaid.model.accounts_get_request import AccountsGetRequest
from plaid.model.accounts_get_request_options import AccountsGetRequestOptions
from plaid.model.holdings_default_update_webhook import HoldingsDefaultUpdateWebhook
from plaid.model.investment_holdings_get_request_options import InvestmentHoldingsGetRequestOptions
from plaid.model.investments_holdings_get_request import InvestmentsHoldingsGetRequest
from plaid.model.investments_transactions_get_request import InvestmentsTransactionsGetRequest
from plaid.model.investments_transactions_get_request_options import InvestmentsTransactionsGetRequestOptions
from plaid.model.item_get_request import ItemGetRequest
from plaid.model.item_public_token_exchange_request import ItemPublicTokenExchangeRequest
from plaid.model.item_remove_request import ItemRemoveRequest
from plaid.model.products import Products
from plaid.model.sandbox_item_fire_webhook_request import SandboxItemFireWebhookRequest
from plaid.model.sandbox_item_reset_login_request import SandboxItemResetLoginRequest
from plaid.model.sandbox_public_token_create_request import SandboxPublicTokenCreateRequest
from plaid.model.sandbox_public_token_create_request_options import SandboxPublicTokenCreateRequestOptions
from plaid.model.webhook_type import WebhookType

BROKER = "plaid"
WEBHOOK = "https://raxx.example/plaid/webhook"


def make_client(base_url, client_id, secret):
    cfg = plaid.Configuration(host=base_url, api_key={"clientId": client_id, "secret": secret})
    return plaid_api.PlaidApi(plaid.ApiClient(cfg))


@pytest.fixture(scope="module")
def client(served):
    c = served["credentials"]
    return make_client(served["base_url"], c["client_id"], c["secret"])


@pytest.fixture(scope="module")
def access_token(served):
    """The Item `serve` linked at start (its investment accounts are `accounts`)."""
    return served["credentials"]["access_token"]


def sim(served, method, path, body=None):
    """A request to the model's /_sim/ routes: with the control token `serve` printed, and a body of
    the route's type (a str is a TOML fault plan, anything else JSON)."""
    headers = {served["control"]["header"]: served["control"]["token"]}
    data = None
    if isinstance(body, str):
        data, headers["Content-Type"] = body.encode(), "application/toml"
    elif body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    req = urllib.request.Request(served["base_url"] + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read() or b"null")


def sim_today(served):
    """The model's simulated date (its data is stamped relative to it, not to the wall clock)."""
    return dt.date.fromisoformat(sim(served, "POST", "/_sim/advance", {"ms": 0})["now"][:10])


def plaid_error(call):
    with pytest.raises(plaid.ApiException) as e:
        call()
    body = json.loads(e.value.body)  # the SDK leaves error bodies as a str
    assert set(body) >= {"error_type", "error_code", "error_message", "display_message", "request_id"}
    return e.value.status, body


class _Raw:
    def __init__(self, data):
        self.data = data.encode() if isinstance(data, str) else data

    def getheader(self, *_):
        return None


def parse(client, raw, model):
    """Run a body through plaid-python's own response path (as for a 2xx answer)."""
    return client.api_client.deserialize(_Raw(raw), (model,), True)


def link_item(client, served, products=("investments",), webhook=None):
    """The Sandbox shortcut for Link: public token for an institution, then exchange."""
    options = SandboxPublicTokenCreateRequestOptions(webhook=webhook) if webhook else None
    kwargs = {"options": options} if options else {}
    pt = client.sandbox_public_token_create(SandboxPublicTokenCreateRequest(
        institution_id=served["sandbox"]["institution_id"], initial_products=[Products(p) for p in products], **kwargs))
    assert pt.public_token.startswith("public-sandbox-")
    ex = client.item_public_token_exchange(ItemPublicTokenExchangeRequest(public_token=pt.public_token))
    assert ex.access_token.startswith("access-sandbox-") and ex.item_id
    return ex


# --- link flow, item, accounts -----------------------------------------------------------------------


def test_sandbox_public_token_then_exchange_once(client, served):
    pt = client.sandbox_public_token_create(SandboxPublicTokenCreateRequest(
        institution_id=served["sandbox"]["institution_id"], initial_products=[Products("investments")]))
    ex = client.item_public_token_exchange(ItemPublicTokenExchangeRequest(public_token=pt.public_token))
    assert ex.access_token.startswith("access-sandbox-") and len(ex.request_id) > 0
    status, body = plaid_error(lambda: client.item_public_token_exchange(
        ItemPublicTokenExchangeRequest(public_token=pt.public_token)))
    assert status == 400 and (body["error_type"], body["error_code"]) == ("INVALID_INPUT", "INVALID_PUBLIC_TOKEN")


def test_item_get_reports_a_healthy_investments_item(client, access_token, served):
    r = client.item_get(ItemGetRequest(access_token=access_token))
    assert r.item.error is None
    assert "investments" in [p.value for p in r.item.billed_products]
    assert r.item.institution_id == served["sandbox"]["institution_id"]
    assert r.item.update_type == "background"
    last = r.status.investments.last_successful_update
    assert isinstance(last, dt.datetime) and last.tzinfo is not None


def test_accounts_get_lists_the_items_accounts(client, access_token, served):
    r = client.accounts_get(AccountsGetRequest(access_token=access_token))
    investment = {a.account_id for a in r.accounts if a.type.value == "investment"}
    assert investment == set(served["accounts"])
    for a in r.accounts:
        assert a.balances.iso_currency_code == "USD" and isinstance(a.balances.current, float)
    one = sorted(investment)[0]
    only = client.accounts_get(AccountsGetRequest(access_token=access_token,
                                                  options=AccountsGetRequestOptions(account_ids=[one])))
    assert [a.account_id for a in only.accounts] == [one]
    status, body = plaid_error(lambda: client.accounts_get(AccountsGetRequest(
        access_token=access_token, options=AccountsGetRequestOptions(account_ids=["nope"]))))
    assert status == 400 and body["error_code"] == "INVALID_ACCOUNT_ID"


def test_keys_in_the_body_work_like_the_headers(served, access_token):
    # plaid-python only ever sends PLAID-CLIENT-ID / PLAID-SECRET headers; most other clients put them in the body.
    c = served["credentials"]
    body = json.dumps({"client_id": c["client_id"], "secret": c["secret"], "access_token": access_token}).encode()
    req = urllib.request.Request(served["base_url"] + "/accounts/get", data=body, method="POST",
                                 headers={"Content-Type": "application/json", "Plaid-Version": "2020-09-14"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200 and {a["account_id"] for a in json.loads(r.read())["accounts"]} >= set(served["accounts"])


def test_bad_keys_and_tokens_are_invalid_input(served, client):
    bad = make_client(served["base_url"], served["credentials"]["client_id"], "0" * 30)
    status, body = plaid_error(lambda: bad.item_get(ItemGetRequest(access_token=served["credentials"]["access_token"])))
    assert status == 400 and (body["error_type"], body["error_code"]) == ("INVALID_INPUT", "INVALID_API_KEYS")
    status, body = plaid_error(lambda: client.item_get(ItemGetRequest(
        access_token="access-sandbox-00000000-0000-4000-8000-000000000000")))
    assert status == 400 and (body["error_type"], body["error_code"]) == ("INVALID_INPUT", "INVALID_ACCESS_TOKEN")
    assert body["display_message"] is None


# --- investments ---------------------------------------------------------------------------------------


def test_holdings_reference_their_accounts_and_securities(client, access_token, served):
    r = client.investments_holdings_get(InvestmentsHoldingsGetRequest(access_token=access_token))
    accounts = {a.account_id: a for a in r.accounts}
    securities = {s.security_id: s for s in r.securities}
    assert set(served["accounts"]) <= set(accounts)
    assert r.holdings
    for h in r.holdings:
        assert h.account_id in accounts and h.security_id in securities
        assert isinstance(h.quantity, float) and isinstance(h.institution_price, float)
        assert (h.iso_currency_code is None) != (h.unofficial_currency_code is None)
        if h.get("institution_price_as_of") is not None:
            assert isinstance(h.institution_price_as_of, dt.date)
    for s in r.securities:
        assert "figi" in s  # a required (nullable) key for plaid-python 46
        if s.type == "derivative" and s.option_contract is not None:
            assert s.option_contract.contract_type in ("call", "put")
    # InvestmentAccount.balances cannot be read as an attribute in plaid-python 46 (composed-schema bug,
    # NOTES.md §3.4): go through to_dict().
    assert all("margin_loan_amount" in a.to_dict()["balances"] for a in r.accounts)
    one = sorted(served["accounts"])[0]
    only = client.investments_holdings_get(InvestmentsHoldingsGetRequest(
        access_token=access_token, options=InvestmentHoldingsGetRequestOptions(account_ids=[one])))
    assert {h.account_id for h in only.holdings} <= {one}


def test_transactions_paginate_in_a_stable_order_without_duplicates(client, access_token, served):
    end = sim_today(served)
    start = end - dt.timedelta(days=730)
    seen, total, offset = [], None, 0
    while total is None or offset < total:
        r = client.investments_transactions_get(InvestmentsTransactionsGetRequest(
            access_token=access_token, start_date=start, end_date=end,
            options=InvestmentsTransactionsGetRequestOptions(count=2, offset=offset)))
        assert len(r.investment_transactions) <= 2
        total = r.total_investment_transactions if total is None else total
        assert r.total_investment_transactions == total  # the whole window, not the page
        used = {s.security_id for s in r.securities}
        for t in r.investment_transactions:
            assert t.security_id is None or t.security_id in used
        seen += r.investment_transactions
        if not r.investment_transactions:
            break
        offset += len(r.investment_transactions)
    ids = [t.investment_transaction_id for t in seen]
    assert total > 2 and len(ids) == total and len(set(ids)) == total
    dates = [t.date for t in seen]
    assert dates == sorted(dates, reverse=True) and all(start <= d <= end for d in dates)
    for t in seen:  # Plaid's sign: positive amount = cash out of the account
        if t.type.value == "buy":
            assert t.amount > 0 and t.quantity > 0
        if t.type.value == "sell":
            assert t.amount < 0 and t.quantity < 0
    status, body = plaid_error(lambda: client.investments_transactions_get(InvestmentsTransactionsGetRequest(
        access_token=access_token, start_date=end, end_date=start)))
    assert status == 400 and body["error_type"] == "INVALID_REQUEST"


def test_a_date_window_holds_only_its_days(client, access_token, served):
    first = sim_today(served)
    # A day on: the holder trades through the next session too, hour by hour.
    sim(served, "POST", "/_sim/advance", {"ms": 24 * 3_600_000})
    second = sim_today(served)
    assert second == first + dt.timedelta(days=1)

    def window(start, end):
        r = client.investments_transactions_get(InvestmentsTransactionsGetRequest(
            access_token=access_token, start_date=start, end_date=end,
            options=InvestmentsTransactionsGetRequestOptions(count=500)))
        assert len(r.investment_transactions) == r.total_investment_transactions
        return r.investment_transactions

    both = window(first, second)
    day1, day2 = window(first, first), window(second, second)
    assert day1 and day2
    assert all(t.date == first for t in day1) and all(t.date == second for t in day2)
    ids = lambda ts: {t.investment_transaction_id for t in ts}
    assert ids(both) == ids(day1) | ids(day2) and not ids(day1) & ids(day2)
    later = window(second + dt.timedelta(days=1), second + dt.timedelta(days=7))
    assert later == []


def test_item_login_required_after_reset_login(client, served):
    ex = link_item(client, served)
    assert client.sandbox_item_reset_login(SandboxItemResetLoginRequest(access_token=ex.access_token)).reset_login
    status, body = plaid_error(lambda: client.investments_holdings_get(
        InvestmentsHoldingsGetRequest(access_token=ex.access_token)))
    assert status == 400 and (body["error_type"], body["error_code"]) == ("ITEM_ERROR", "ITEM_LOGIN_REQUIRED")
    item = client.item_get(ItemGetRequest(access_token=ex.access_token)).item  # 200, the error inside
    assert item.error.error_code == "ITEM_LOGIN_REQUIRED" and item.error.error_type.value == "ITEM_ERROR"


def test_item_remove_revokes_the_access_token(client, served):
    ex = link_item(client, served)
    assert client.item_remove(ItemRemoveRequest(access_token=ex.access_token)).request_id
    status, body = plaid_error(lambda: client.accounts_get(AccountsGetRequest(access_token=ex.access_token)))
    assert status == 400 and body["error_code"] in ("ITEM_NOT_FOUND", "INVALID_ACCESS_TOKEN")


def test_holdings_rate_limit_is_per_item(client, served):
    ex = link_item(client, served)
    req = InvestmentsHoldingsGetRequest(access_token=ex.access_token)
    for _ in range(100):  # Sandbox: 100 per Item per minute
        client.investments_holdings_get(req)
    status, body = plaid_error(lambda: client.investments_holdings_get(req))
    assert status == 429
    assert (body["error_type"], body["error_code"]) == ("RATE_LIMIT_EXCEEDED", "INVESTMENT_HOLDINGS_GET_LIMIT")
    other = link_item(client, served)  # another Item is not limited
    assert client.investments_holdings_get(InvestmentsHoldingsGetRequest(access_token=other.access_token)).holdings


# --- need the model's /_sim/ routes (NOTES.md §5) -------------------------------------------------------


def test_product_not_ready_until_the_historical_update(client, served):
    ex = link_item(client, served, products=("transactions",), webhook=WEBHOOK)  # investments added later
    end = sim_today(served)
    req = InvestmentsTransactionsGetRequest(
        access_token=ex.access_token, start_date=end - dt.timedelta(days=730), end_date=end,
        options=InvestmentsTransactionsGetRequestOptions(async_update=True))
    status, body = plaid_error(lambda: client.investments_transactions_get(req))
    assert status == 400 and (body["error_type"], body["error_code"]) == ("ITEM_ERROR", "PRODUCT_NOT_READY")
    sim(served, "POST", "/_sim/advance", {"ms": 120_000})
    assert client.investments_transactions_get(req).total_investment_transactions > 0
    hooks = [json.loads(d["body"]) for d in sim(served, "GET", "/_sim/webhooks")]
    assert {"webhook_type": "INVESTMENTS_TRANSACTIONS", "webhook_code": "HISTORICAL_UPDATE",
            "item_id": ex.item_id}.items() <= next(h for h in hooks if h["item_id"] == ex.item_id).items()


def test_fired_webhooks_parse_with_the_sdk_models(client, served):
    ex = link_item(client, served, webhook=WEBHOOK)
    fired = client.sandbox_item_fire_webhook(SandboxItemFireWebhookRequest(
        access_token=ex.access_token, webhook_code="DEFAULT_UPDATE", webhook_type=WebhookType("HOLDINGS")))
    assert fired.webhook_fired is True
    mine = [d for d in sim(served, "GET", "/_sim/webhooks") if json.loads(d["body"])["item_id"] == ex.item_id]
    d = mine[-1]
    assert d["url"] == WEBHOOK and d["headers"]["Plaid-Verification"].count(".") == 2  # a JWS (ES256)
    w = parse(client, d["body"], HoldingsDefaultUpdateWebhook)
    assert (w.webhook_type, w.webhook_code, w.item_id) == ("HOLDINGS", "DEFAULT_UPDATE", ex.item_id)
    assert w.environment.value == "sandbox"


def test_a_plaid_outage_is_an_api_error(client, served, access_token):
    sim(served, "PUT", "/_sim/faults", '[[rules]]\nfault = { kind = "outage", mode = "status" }\n')
    try:
        status, body = plaid_error(lambda: client.investments_holdings_get(
            InvestmentsHoldingsGetRequest(access_token=access_token)))
    finally:
        sim(served, "PUT", "/_sim/faults", "rules = []\n")
    assert status == 500 and (body["error_type"], body["error_code"]) == ("API_ERROR", "INTERNAL_SERVER_ERROR")
