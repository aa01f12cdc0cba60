#!/usr/bin/env python3
"""Raxx reference adapter for Alpaca over the process bridge.

Standard library only, on top of the raxx_bridge helper package (the repo's
python/ directory: found next to this file when it is not installed, so
`python3 examples/bridge/alpaca_adapter.py` runs from a fresh clone). Reads
RAXX_BROKER, RAXX_BASE_URL (Alpaca's base URL, without /v2) and
RAXX_CREDENTIALS ({"key_id": ..., "secret_key": ...}) from the environment,
then answers JSON-RPC 2.0 requests, one JSON object per line, on
stdin/stdout. Logs go to stderr and never contain the credentials.

See examples/bridge/README.md for the protocol, and the vendor's rules in
shared/reference/brokers/alpaca.md (cited below as §n).
"""

import email.utils
import functools
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal

try:
    import raxx_bridge
except ImportError:  # not installed: use the copy in this repository
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "python"))
    import raxx_bridge

from raxx_bridge import (
    Account,
    Adapter,
    AdapterError,
    CancelResult,
    Capabilities,
    ContractError,
    Description,
    Instrument,
    OrderResult,
    Position,
    Throttle,
    log,
)

REQUEST_TIMEOUT_MS = 2000

# Alpaca status word -> the contract's normalized status (alpaca.md §3.1).
STATUS = {
    "new": "accepted",
    "accepted": "accepted",
    "pending_new": "pending",
    "accepted_for_bidding": "accepted",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "done_for_day": "accepted",  # open; no more fills today
    "canceled": "canceled",
    "expired": "expired",
    "replaced": "replaced",
    "pending_cancel": "pending_cancel",
    "pending_replace": "accepted",  # still working until the replace lands
    "stopped": "accepted",  # guaranteed a fill, not yet filled
    "rejected": "rejected",
    "suspended": "accepted",
    "calculated": "filled",  # filled; settlement calculation pending
    "held": "pending",  # waiting for a parent order
    "pending_review": "pending",
}


class HttpError(Exception):
    """A non-2xx answer: status, Alpaca's code and message, and headers."""

    def __init__(self, status, code, message, headers):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


class Alpaca:
    """Alpaca's REST API: one authenticated request at a time per caller.
    Thread-safe (urllib opens a connection per request; the throttle locks),
    so the order-update poller may run beside a request."""

    def __init__(self, base_url, key_id, secret_key, timeout_ms):
        self.base = base_url.rstrip("/")
        self._headers = {
            "APCA-API-KEY-ID": key_id,
            "APCA-API-SECRET-KEY": secret_key,
            "Accept": "application/json",
            "User-Agent": "raxx-bridge-alpaca/2",
        }
        self.timeout = timeout_ms / 1000.0
        # After a 429 nothing is sent until the wait Alpaca asked for is
        # over: a request inside it fails at once as rate_limited.
        self.throttle = Throttle()

    def request(self, method, path, body=None, query=None):
        self.throttle.check("%s %s" % (method, path))
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        headers = dict(self._headers)
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            code, message = None, raw.decode("utf-8", "replace")[:200]
            try:
                body = json.loads(raw)
                code = body.get("code")
                message = body.get("message", message)
            except (ValueError, AttributeError):
                pass
            if e.code == 429:
                self.throttle.hold(retry_after_ms(e.headers))
            raise HttpError(e.code, code, message, e.headers)
        except (socket.timeout, TimeoutError) as e:
            raise AdapterError.timeout("no answer from Alpaca within %d ms (%s %s)" % (self.timeout * 1000, method, path)) from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, (socket.timeout, TimeoutError)):
                raise AdapterError.timeout("no answer from Alpaca within %d ms (%s %s)" % (self.timeout * 1000, method, path)) from e
            raise AdapterError.unavailable("cannot reach Alpaca: %s" % (e.reason,)) from e
        except (ConnectionError, OSError) as e:
            # A dropped connection after the request went out: the order may exist.
            raise AdapterError.timeout("connection to Alpaca lost (%s %s): %s" % (method, path, type(e).__name__)) from e


def kind_of(err, op):
    """Maps an HTTP error to the contract's error (alpaca.md §5)."""
    s = err.status
    code = str(err.code) if err.code is not None else str(s)
    if s == 401:
        return AdapterError.auth_expired(err.message, broker_code=code)
    if s == 403:
        return AdapterError.rejected(err.message, broker_code=code)
    if s == 404:
        return AdapterError.not_found(err.message, broker_code=code)
    if s == 422:
        if op == "cancel":
            return AdapterError.too_late_to_cancel(err.message, broker_code=code)
        if op in ("submit", "replace"):
            # The broker refused the order or the replacement (unknown asset,
            # sub-penny price, "order is not open", …): the order the caller
            # holds is unchanged. Malformed requests are caught locally.
            return AdapterError.rejected(err.message, broker_code=code)
        return AdapterError.invalid_request(err.message, broker_code=code)
    if s == 400:
        return AdapterError.invalid_request(err.message, broker_code=code)
    if s == 429:
        return AdapterError.rate_limited(err.message, retry_after_ms=retry_after_ms(err.headers), broker_code=code)
    if 500 <= s < 600:
        return AdapterError.unavailable("Alpaca answered %d: %s" % (s, err.message), broker_code=code)
    return AdapterError.unknown("Alpaca answered %d: %s" % (s, err.message), broker_code=code)


def maps_http_errors(op):
    """Any HTTP error a method lets through is mapped for `op`."""

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except HttpError as e:
                raise kind_of(e, op) from None

        return inner

    return wrap


def retry_after_ms(headers):
    """X-Ratelimit-Reset is a Unix time in seconds; the adapter has no clock of
    the broker's, so it reads the broker's Date header when present."""
    try:
        reset = int(headers.get("X-Ratelimit-Reset"))
    except (TypeError, ValueError):
        return 1000
    now = None
    date = headers.get("Date")
    if date:
        try:
            now = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            now = None
    if now is None:
        now = time.time()
    # Clamp: a broker clock far from ours must not turn into an absurd wait.
    return min(max(int((reset - now) * 1000), 1), 60000)


def is_duplicate(err):
    text = (err.message or "").lower().replace("_", " ")
    return err.status == 422 and "client order id must be unique" in text


def plain(d):
    """A decimal as Alpaca's plain string (no exponent): "100", "189.5"."""
    if d is None:
        return None
    d = Decimal(str(d))
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


def instrument_of(symbol, asset_class):
    if asset_class == "us_option" and len(symbol) > 15:
        try:
            return Instrument.option(symbol)  # compact OCC (§7); kept padded
        except ContractError as e:
            raise AdapterError.unknown("Alpaca sent the option symbol %r: %s" % (symbol, e))
    return Instrument.equity(symbol)


def order_result(o):
    qty = Decimal(o.get("qty") or "0")
    filled = Decimal(o.get("filled_qty") or "0")
    word = o.get("status", "")
    status = STATUS.get(word)
    if status is None:
        raise AdapterError.unknown("Alpaca status %r has no normalized status" % word)
    terminal = status in ("filled", "canceled", "rejected", "expired", "replaced")
    remaining = Decimal(0) if terminal else max(qty - filled, Decimal(0))
    return OrderResult(
        broker_order_id=o["id"],
        client_order_id=o.get("client_order_id", ""),
        status=status,
        filled_quantity=Decimal(plain(filled)),
        remaining_quantity=Decimal(plain(remaining)),
        average_fill_price=Decimal(plain(o["filled_avg_price"])) if o.get("filled_avg_price") else None,
        reject_reason=None if status != "rejected" else (o.get("reject_reason") or "rejected by Alpaca"),
        broker_status=word,
    )


def validate(order):
    """Catches what we must never send the broker (invalid_request). The
    helper has already checked the order's shape (decimal strings, words)."""
    if order.quantity <= 0:
        raise AdapterError.invalid_request("quantity must be > 0")
    t = order.order_type.value
    if t in ("limit", "stop_limit") and order.limit_price is None:
        raise AdapterError.invalid_request("%s orders need a limit_price" % t)
    if t in ("stop", "stop_limit") and order.stop_price is None:
        raise AdapterError.invalid_request("%s orders need a stop_price" % t)
    if not order.client_order_id:
        raise AdapterError.invalid_request("client_order_id is required")
    if order.legs:
        raise AdapterError.unsupported("multi-leg orders are not supported by this adapter")


def replace_body(changes):
    """The PATCH /v2/orders/{id} body (§2.6): only the fields that change.
    What Alpaca would refuse with a 422 is refused here."""
    body = {}
    if changes.quantity is not None:
        if changes.quantity <= 0:
            raise AdapterError.invalid_request("a replacement quantity must be > 0, got %s" % changes.quantity)
        if changes.quantity != changes.quantity.to_integral_value():
            # §2.6: "qty must be integer" on a replace.
            raise AdapterError.unsupported("Alpaca replaces with whole quantities only, got %s" % changes.quantity)
        body["qty"] = plain(changes.quantity)
    for name in ("limit_price", "stop_price"):
        price = getattr(changes, name)
        if price is not None:
            if price <= 0:
                raise AdapterError.invalid_request("a replacement %s must be > 0, got %s" % (name, price))
            body[name] = plain(price)
    if changes.time_in_force is not None:
        body["time_in_force"] = changes.time_in_force.value
    if changes.client_order_id is not None:
        if not 1 <= len(changes.client_order_id) <= 128:
            raise AdapterError.invalid_request("client_order_id must be 1 to 128 characters")
        body["client_order_id"] = changes.client_order_id
    if not body:
        raise AdapterError.invalid_request("a replace must change at least one field")
    return body


def carries(o, changes):
    """Whether Alpaca order `o` carries every change asked for: a replacement
    found by reading the original back is ours only if it does."""

    def same(want, got):
        return want is None or (got not in (None, "") and Decimal(got) == want)

    return (
        same(changes.quantity, o.get("qty"))
        and same(changes.limit_price, o.get("limit_price"))
        and same(changes.stop_price, o.get("stop_price"))
        and (changes.time_in_force is None or o.get("time_in_force") == changes.time_in_force.value)
        and (changes.client_order_id is None or o.get("client_order_id") == changes.client_order_id)
    )


def path_of(oid):
    return "/v2/orders/" + urllib.parse.quote(oid, safe="")


class AlpacaAdapter(Adapter):
    log_name = "alpaca-adapter"
    # Order updates come from polling GET /v2/orders/{id} (the helper's
    # Poller). Alpaca pushes them on its trade_updates WebSocket (§2.12),
    # but a WebSocket client is not in Python's standard library, and this
    # reference adapter stays standard-library only; polling is slower but
    # loses nothing: every poll reads the order's whole state.
    poll_interval = 0.5
    # Alpaca (above) is thread-safe: a poll never waits for a request.
    poll_concurrently = True

    def __init__(self, config):
        super().__init__(config)
        self.api = Alpaca(
            config.base_url,
            config.credential("key_id", ""),
            config.credential("secret_key", ""),
            REQUEST_TIMEOUT_MS,
        )

    def describe(self):
        return Description(
            name="alpaca-python-reference",
            broker="alpaca",
            tier="A",
            # replace and streaming are filled in by the helper: true for a
            # harness that speaks protocol 2 (replace_order is implemented
            # below, order updates are polled).
            capabilities=Capabilities(
                equities=True,
                options=True,
                multi_leg=False,
                read_only=False,
                short_selling=True,  # a sell from flat opens a short (§2.5)
                fractional=True,  # fractional market orders, day only (§2.5)
                order_types=["market", "limit", "stop", "stop_limit"],
                time_in_force=["day", "gtc", "ioc", "fok"],
            ),
            request_timeout_ms=REQUEST_TIMEOUT_MS,
        )

    def lookup(self, client_order_id):
        """The order Alpaca holds for an intent, or None."""
        try:
            return self.api.request("GET", "/v2/orders:by_client_order_id", query={"client_order_id": client_order_id})
        except HttpError as e:
            if e.status == 404:
                return None
            raise kind_of(e, "read")

    @maps_http_errors("read")
    def submit_order(self, order):
        validate(order)
        cid = order.client_order_id
        body = {
            "symbol": order.instrument.compact,  # options: OCC without padding (§7)
            "qty": plain(order.quantity),
            "side": order.side.value,
            "type": order.order_type.value,
            "time_in_force": order.time_in_force.value,
            "client_order_id": cid,
        }
        if order.limit_price is not None:
            body["limit_price"] = plain(order.limit_price)
        if order.stop_price is not None:
            body["stop_price"] = plain(order.stop_price)
        if order.instrument.is_option and order.position_effect is not None:
            body["position_intent"] = "%s_to_%s" % (order.side.value, order.position_effect.value)
        # One intent, one order: after any ambiguous outcome, look the intent up
        # before sending again. Two sends at most.
        for attempt in (1, 2):
            try:
                return order_result(self.api.request("POST", "/v2/orders", body=body))
            except AdapterError as e:
                if e.kind.value not in ("timeout", "unavailable"):
                    raise
                log("submit %s: %s; reconciling by client_order_id", cid, e.kind.value)
                found = self.lookup(cid)
                if found is not None:
                    return order_result(found)
                if attempt == 2:
                    raise
                if e.kind.value == "unavailable":
                    raise  # never reached Alpaca; the caller decides when to retry
            except HttpError as e:
                if is_duplicate(e):
                    # An earlier attempt of this intent landed: it is the answer.
                    found = self.lookup(cid)
                    if found is not None:
                        return order_result(found)
                raise kind_of(e, "submit")

    @maps_http_errors("read")
    def replace_order(self, broker_order_id, changes):
        """PATCH with the changed fields (§2.6); the answer is the replacement,
        a new order whose `replaces` is broker_order_id (the original ends
        `replaced`). A replace is not idempotent, so it is never sent twice:
        after an ambiguous outcome the original is read back instead."""
        body = replace_body(changes)
        try:
            return order_result(self.api.request("PATCH", path_of(broker_order_id), body=body))
        except HttpError as e:
            raise kind_of(e, "replace")
        except AdapterError as e:
            if e.kind.value not in ("timeout", "unavailable"):
                raise
            log("replace %s: %s; reading the original back", broker_order_id, e.kind.value)
            return self.replaced_after(broker_order_id, changes, e)

    def replaced_after(self, oid, changes, err):
        """The replacement, if the original says it was replaced by an order
        carrying the changes; otherwise the outcome is unknown and `err`
        (explained) is raised."""

        def unknown(why):
            return AdapterError(err.kind, "%s; %s" % (err.message, why), err.retry_after_ms, err.broker_code)

        try:
            original = self.api.request("GET", path_of(oid))
        except (HttpError, AdapterError) as e:
            raise unknown("order %s could not be read back (%s)" % (oid, e))
        new_id = original.get("replaced_by")
        if original.get("status") != "replaced" or not new_id:
            raise unknown("order %s is %s, not replaced: the replace may still land" % (oid, original.get("status")))
        try:
            replacement = self.api.request("GET", path_of(new_id))
        except (HttpError, AdapterError) as e:
            raise unknown("order %s was replaced by %s, which could not be read (%s)" % (oid, new_id, e))
        if not carries(replacement, changes):
            raise unknown("order %s was replaced by %s, which does not carry the changes asked for" % (oid, new_id))
        return order_result(replacement)

    @maps_http_errors("read")
    def cancel_order(self, broker_order_id):
        try:
            self.api.request("DELETE", path_of(broker_order_id))
        except HttpError as e:
            raise kind_of(e, "cancel")
        # DELETE is asynchronous on Alpaca: report what the order shows now.
        try:
            o = self.api.request("GET", path_of(broker_order_id))
            status = "canceled" if o.get("status") == "canceled" else "pending_cancel"
        except (HttpError, AdapterError):
            status = "pending_cancel"
        return CancelResult(broker_order_id=broker_order_id, status=status)

    @maps_http_errors("read")
    def get_order(self, broker_order_id):
        try:
            return order_result(self.api.request("GET", path_of(broker_order_id)))
        except HttpError as e:
            if e.status == 422:  # malformed id: no such order
                raise AdapterError.not_found(e.message, broker_code=str(e.code))
            raise kind_of(e, "read")

    @maps_http_errors("read")
    def account(self):
        return self.api.request("GET", "/v2/account")

    @maps_http_errors("read")
    def get_positions(self):
        account = self.account()["account_number"]
        rows = self.api.request("GET", "/v2/positions") or []
        return [
            Position(
                account_id=account,
                instrument=instrument_of(p["symbol"], p.get("asset_class")),
                quantity=plain(p["qty"]),  # already negative for shorts
                average_price=plain(p["avg_entry_price"]),
            )
            for p in rows
        ]

    @maps_http_errors("read")
    def get_account(self):
        a = self.account()
        return Account(
            account_id=a["account_number"],
            cash=plain(a["cash"]),
            buying_power=plain(a["buying_power"]),
            equity=plain(a["equity"]),
        )


if __name__ == "__main__":
    raxx_bridge.run(AlpacaAdapter)
