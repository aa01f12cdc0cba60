#!/usr/bin/env python3
"""Raxx reference adapter for Alpaca over the process bridge.

Standard library only. Reads RAXX_BROKER, RAXX_BASE_URL (Alpaca's base URL,
without /v2) and RAXX_CREDENTIALS ({"key_id": ..., "secret_key": ...}) from
the environment, then answers JSON-RPC 2.0 requests, one JSON object per line,
on stdin/stdout. Logs go to stderr and never contain the credentials.

See examples/bridge/README.md for the protocol.
"""

import email.utils
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal, InvalidOperation

REQUEST_TIMEOUT_MS = 2000
ADAPTER_ERROR = -32000

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


def log(msg):
    print("alpaca-adapter: " + msg, file=sys.stderr, flush=True)


class AdapterError(Exception):
    def __init__(self, kind, message, retry_after_ms=None, broker_code=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after_ms = retry_after_ms
        self.broker_code = broker_code

    def rpc(self):
        data = {"kind": self.kind}
        if self.retry_after_ms is not None:
            data["retry_after_ms"] = int(self.retry_after_ms)
        if self.broker_code is not None:
            data["broker_code"] = str(self.broker_code)
        return {"code": ADAPTER_ERROR, "message": self.message, "data": data}


class HttpError(Exception):
    """A non-2xx answer: status, Alpaca's code and message, and headers."""

    def __init__(self, status, code, message, headers):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


class Alpaca:
    def __init__(self, base_url, key_id, secret_key, timeout_ms):
        self.base = base_url.rstrip("/")
        self._headers = {
            "APCA-API-KEY-ID": key_id,
            "APCA-API-SECRET-KEY": secret_key,
            "Accept": "application/json",
            "User-Agent": "raxx-bridge-alpaca/1",
        }
        self.timeout = timeout_ms / 1000.0

    def request(self, method, path, body=None, query=None):
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
            raise HttpError(e.code, code, message, e.headers)
        except (socket.timeout, TimeoutError) as e:
            raise AdapterError("timeout", "no answer from Alpaca within %d ms (%s %s)" % (self.timeout * 1000, method, path)) from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, (socket.timeout, TimeoutError)):
                raise AdapterError("timeout", "no answer from Alpaca within %d ms (%s %s)" % (self.timeout * 1000, method, path)) from e
            raise AdapterError("unavailable", "cannot reach Alpaca: %s" % (e.reason,)) from e
        except (ConnectionError, OSError) as e:
            # A dropped connection after the request went out: the order may exist.
            raise AdapterError("timeout", "connection to Alpaca lost (%s %s): %s" % (method, path, type(e).__name__)) from e


def kind_of(err, op):
    """Maps an HTTP error to the contract's error (alpaca.md §5)."""
    s = err.status
    code = str(err.code) if err.code is not None else str(s)
    if s == 401:
        return AdapterError("auth_expired", err.message, broker_code=code)
    if s == 403:
        return AdapterError("rejected", err.message, broker_code=code)
    if s == 404:
        return AdapterError("not_found", err.message, broker_code=code)
    if s == 422:
        if op == "cancel":
            return AdapterError("too_late_to_cancel", err.message, broker_code=code)
        if op == "submit":
            # The broker refused the order (unknown asset, sub-penny price, …);
            # malformed requests are caught locally before sending.
            return AdapterError("rejected", err.message, broker_code=code)
        return AdapterError("invalid_request", err.message, broker_code=code)
    if s == 400:
        return AdapterError("invalid_request", err.message, broker_code=code)
    if s == 429:
        return AdapterError("rate_limited", err.message, retry_after_ms=retry_after_ms(err.headers), broker_code=code)
    if 500 <= s < 600:
        return AdapterError("unavailable", "Alpaca answered %d: %s" % (s, err.message), broker_code=code)
    return AdapterError("unknown", "Alpaca answered %d: %s" % (s, err.message), broker_code=code)


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
    """A decimal as a plain string (no exponent): "100", "189.5"."""
    if d is None:
        return None
    d = Decimal(str(d))
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


def symbol_of(instrument):
    if instrument.get("kind") == "equity":
        return instrument["symbol"]
    if instrument.get("kind") == "option":
        return instrument["occ"].replace(" ", "")  # Alpaca: OCC without padding
    raise AdapterError("invalid_request", "unknown instrument kind %r" % instrument.get("kind"))


def instrument_of(symbol, asset_class):
    if asset_class == "us_option" and len(symbol) > 15:
        root, rest = symbol[:-15], symbol[-15:]
        return {"kind": "option", "occ": root.ljust(6) + rest}
    return {"kind": "equity", "symbol": symbol}


def order_result(o):
    qty = Decimal(o.get("qty") or "0")
    filled = Decimal(o.get("filled_qty") or "0")
    word = o.get("status", "")
    status = STATUS.get(word)
    if status is None:
        raise AdapterError("unknown", "Alpaca status %r has no normalized status" % word)
    terminal = status in ("filled", "canceled", "rejected", "expired", "replaced")
    remaining = Decimal(0) if terminal else max(qty - filled, Decimal(0))
    return {
        "broker_order_id": o["id"],
        "client_order_id": o.get("client_order_id", ""),
        "status": status,
        "filled_quantity": plain(filled),
        "remaining_quantity": plain(remaining),
        "average_fill_price": plain(o["filled_avg_price"]) if o.get("filled_avg_price") else None,
        "reject_reason": None if status != "rejected" else (o.get("reject_reason") or "rejected by Alpaca"),
        "broker_status": word,
    }


def validate(order):
    """Catches what we must never send the broker (invalid_request)."""
    try:
        qty = Decimal(order["quantity"])
    except (KeyError, TypeError, InvalidOperation):
        raise AdapterError("invalid_request", "quantity must be a decimal string")
    if qty <= 0:
        raise AdapterError("invalid_request", "quantity must be > 0")
    t = order.get("order_type")
    if t not in ("market", "limit", "stop", "stop_limit"):
        raise AdapterError("invalid_request", "unknown order_type %r" % t)
    if t in ("limit", "stop_limit") and order.get("limit_price") is None:
        raise AdapterError("invalid_request", "%s orders need a limit_price" % t)
    if t in ("stop", "stop_limit") and order.get("stop_price") is None:
        raise AdapterError("invalid_request", "%s orders need a stop_price" % t)
    if not order.get("client_order_id"):
        raise AdapterError("invalid_request", "client_order_id is required")
    if order.get("legs"):
        raise AdapterError("unsupported", "multi-leg orders are not supported by this adapter")


class Adapter:
    def __init__(self, api):
        self.api = api

    def describe(self, _params):
        return {
            "name": "alpaca-python-reference",
            "broker": "alpaca",
            "tier": "A",
            "capabilities": {
                "equities": True,
                "options": True,
                "multi_leg": False,
                "replace": False,
                "streaming": False,
                "read_only": False,
                "order_types": ["market", "limit", "stop", "stop_limit"],
                "time_in_force": ["day", "gtc", "ioc", "fok"],
            },
            "request_timeout_ms": REQUEST_TIMEOUT_MS,
        }

    def lookup(self, client_order_id):
        """The order Alpaca holds for an intent, or None."""
        try:
            return self.api.request("GET", "/v2/orders:by_client_order_id", query={"client_order_id": client_order_id})
        except HttpError as e:
            if e.status == 404:
                return None
            raise kind_of(e, "read")

    def submit_order(self, params):
        order = params.get("order") or {}
        validate(order)
        cid = order["client_order_id"]
        body = {
            "symbol": symbol_of(order["instrument"]),
            "qty": plain(order["quantity"]),
            "side": order["side"],
            "type": order["order_type"],
            "time_in_force": order["time_in_force"],
            "client_order_id": cid,
        }
        if order.get("limit_price") is not None:
            body["limit_price"] = plain(order["limit_price"])
        if order.get("stop_price") is not None:
            body["stop_price"] = plain(order["stop_price"])
        if order["instrument"].get("kind") == "option" and order.get("position_effect"):
            body["position_intent"] = "%s_to_%s" % (order["side"], order["position_effect"])
        # One intent, one order: after any ambiguous outcome, look the intent up
        # before sending again. Two sends at most.
        for attempt in (1, 2):
            try:
                return order_result(self.api.request("POST", "/v2/orders", body=body))
            except AdapterError as e:
                if e.kind not in ("timeout", "unavailable"):
                    raise
                log("submit %s: %s; reconciling by client_order_id" % (cid, e.kind))
                found = self.lookup(cid)
                if found is not None:
                    return order_result(found)
                if attempt == 2:
                    raise
                if e.kind == "unavailable":
                    raise  # never reached Alpaca; the caller decides when to retry
            except HttpError as e:
                if is_duplicate(e):
                    # An earlier attempt of this intent landed: it is the answer.
                    found = self.lookup(cid)
                    if found is not None:
                        return order_result(found)
                raise kind_of(e, "submit")

    def cancel_order(self, params):
        oid = params.get("broker_order_id") or ""
        try:
            self.api.request("DELETE", "/v2/orders/" + urllib.parse.quote(oid, safe=""))
        except HttpError as e:
            raise kind_of(e, "cancel")
        # DELETE is asynchronous on Alpaca: report what the order shows now.
        try:
            o = self.api.request("GET", "/v2/orders/" + urllib.parse.quote(oid, safe=""))
            status = "canceled" if o.get("status") == "canceled" else "pending_cancel"
        except (HttpError, AdapterError):
            status = "pending_cancel"
        return {"broker_order_id": oid, "status": status}

    def get_order(self, params):
        oid = params.get("broker_order_id") or ""
        try:
            return order_result(self.api.request("GET", "/v2/orders/" + urllib.parse.quote(oid, safe="")))
        except HttpError as e:
            if e.status == 422:  # malformed id: no such order
                raise AdapterError("not_found", e.message, broker_code=str(e.code))
            raise kind_of(e, "read")

    def account_number(self):
        try:
            return self.api.request("GET", "/v2/account")
        except HttpError as e:
            raise kind_of(e, "read")

    def get_positions(self, _params):
        account = self.account_number()["account_number"]
        try:
            rows = self.api.request("GET", "/v2/positions") or []
        except HttpError as e:
            raise kind_of(e, "read")
        return {
            "positions": [
                {
                    "account_id": account,
                    "instrument": instrument_of(p["symbol"], p.get("asset_class")),
                    "quantity": plain(p["qty"]),  # already negative for shorts
                    "average_price": plain(p["avg_entry_price"]),
                }
                for p in rows
            ]
        }

    def get_account(self, _params):
        a = self.account_number()
        return {
            "account_id": a["account_number"],
            "cash": plain(a["cash"]),
            "buying_power": plain(a["buying_power"]),
            "equity": plain(a["equity"]),
        }


def main():
    broker = os.environ.get("RAXX_BROKER", "alpaca")
    base_url = os.environ.get("RAXX_BASE_URL", "")
    try:
        creds = json.loads(os.environ.get("RAXX_CREDENTIALS", "{}"))
    except ValueError:
        creds = {}
    log("starting for broker %s at %s" % (broker, base_url))  # never the credentials
    api = Alpaca(base_url, creds.get("key_id", ""), creds.get("secret_key", ""), REQUEST_TIMEOUT_MS)
    adapter = Adapter(api)
    methods = {
        "describe": adapter.describe,
        "submit_order": adapter.submit_order,
        "cancel_order": adapter.cancel_order,
        "get_order": adapter.get_order,
        "get_positions": adapter.get_positions,
        "get_account": adapter.get_account,
    }
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError:
            reply({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
            continue
        rid, method, params = req.get("id"), req.get("method"), req.get("params") or {}
        if method == "shutdown":
            reply({"jsonrpc": "2.0", "id": rid, "result": {}})
            log("shutting down")
            return
        fn = methods.get(method)
        if fn is None:
            reply({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "method not found: %s" % method}})
            continue
        try:
            reply({"jsonrpc": "2.0", "id": rid, "result": fn(params)})
        except AdapterError as e:
            log("%s -> %s: %s" % (method, e.kind, e.message))
            reply({"jsonrpc": "2.0", "id": rid, "error": e.rpc()})
        except HttpError as e:
            err = kind_of(e, "read")
            reply({"jsonrpc": "2.0", "id": rid, "error": err.rpc()})
        except Exception as e:  # a bug here must not kill the connection
            log("%s failed: %s" % (method, type(e).__name__))
            reply({"jsonrpc": "2.0", "id": rid, "error": AdapterError("unknown", "adapter bug: %s" % type(e).__name__).rpc()})


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
