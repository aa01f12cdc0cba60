#!/usr/bin/env python3
"""Raxx reference adapter for SnapTrade (Tier B, an aggregator) over the
process bridge.

Standard library only, on top of the raxx_bridge helper package (the repo's
python/ directory: found next to this file when it is not installed, so
`python3 examples/bridge/snaptrade_adapter.py` runs from a fresh clone).
Reads RAXX_BROKER, RAXX_BASE_URL (SnapTrade's host, root paths: no
/api/v1) and RAXX_CREDENTIALS ({"client_id", "consumer_key", "user_id",
"user_secret"}) from the environment, then answers JSON-RPC 2.0 requests,
one JSON object per line, on stdin/stdout. Logs go to stderr and never
contain the credentials (nor a URL, whose query carries them).

It does what the production Rust adapter does (adapters/src/snaptrade/),
answer for answer; see examples/bridge/README.md, "SnapTrade", and the
vendor's rules in shared/reference/brokers/snaptrade.md (cited as §n):

- every request is signed (§2): the `Signature` header is the base64
  HMAC-SHA256, keyed with the consumer key, of the canonical JSON of
  {"content": body or null, "path": resource path, "query": query as sent};
  the query is userId, userSecret, the operation's own parameters, clientId,
  timestamp (Unix seconds), in that order, every value percent-encoded;
- SnapTrade keeps no client order id and takes a second copy of any order
  (§4.5): after an ambiguous submit the order is looked for among
  `recentOrders` by what it is (symbol, action, units, type, time in force,
  prices sent), placed no earlier than the first send less a minute of
  clock skew, and not already claimed by another intent. One match is the
  order; none after a timeout leaves the outcome unknown (`timeout`: it may
  still land, and is never sent again); several identical ones are named,
  never picked (`unknown`). The client order id lives in this adapter only;
- a submit answers the order's first state (usually PENDING), never a fill;
  order states are polled by the bridge (`get_order`): SnapTrade pushes them
  only through webhooks (§9);
- a broken (disabled) connection, 402 (3003), is `reauth_required`: the user
  must reconnect it; the brokerage behind SnapTrade failing, 503 (3002), and
  SnapTrade itself down (any other 5xx) are `unavailable`: an outage whose
  outcome is unknown, never a refusal; a brokerage that does not trade
  through SnapTrade, 403 (1066), is `read_only` for an order; 429 waits for
  what SnapTrade asked (Retry-After, "available in N seconds",
  X-RateLimit-Reset), and hands a long wait back to the caller;
- holdings say how old they are: `data_freshness.as_of` (`get_holdings`).

The account traded is the first SnapTrade lists of a connection that trades
(`type` "trade"), read once; SNAPTRADE_ACCOUNT_ID in the environment names
one instead.
"""

import base64
import datetime
import functools
import hashlib
import hmac
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal, InvalidOperation

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
    Holdings,
    Instrument,
    OrderResult,
    Position,
    Throttle,
    log,
)

# How long one HTTP exchange may take. The bridge gives a call this + 1 s,
# and a submit 4 x this + 1 s; every retry and wait below fits in that.
REQUEST_TIMEOUT_MS = 2000
# What one bridge call may spend, waits and retries included (its share of
# the bridge's deadline, less a margin for the process and its pipes).
READ_BUDGET_MS = REQUEST_TIMEOUT_MS
SUBMIT_BUDGET_MS = 4 * REQUEST_TIMEOUT_MS
# The shortest attempt worth starting when the budget is nearly spent.
MIN_ATTEMPT_MS = 250

# Retries (the Rust adapters' RetryPolicy::default()): attempts in all, the
# first included; equal-jitter exponential back-off; a wait SnapTrade asks
# for longer than MAX_WAIT_MS is handed back as rate_limited, not slept.
MAX_ATTEMPTS = 4
BASE_DELAY_MS = 200
MAX_DELAY_MS = 5000
MAX_WAIT_MS = 10000

# How far SnapTrade's (and its brokerage's) clock may be from ours when a
# submit's time bounds the orders it could have become.
CLOCK_SKEW_MS = 60000
# The longest brokerage order id taken (ids are free-form strings, §3).
MAX_ORDER_ID = 256

# The wait when a 429 names none; the pause while the first sync runs (425).
DEFAULT_RATE_WAIT_MS = 1000
NOT_READY_WAIT_MS = 1000

# SnapTrade's codes (§6.2) that decide a kind.
BROKERAGE_FAILED = "3002"  # 503: the brokerage behind SnapTrade failed
NOT_PERMITTED = "1066"  # 403: on an order, the connection does not trade
FEATURE_OFF = "1141"  # 403: not enabled for this customer or connection

# SnapTrade's v1 status words (§5, all 20). "waiting" and "working" words
# read partially_filled once the order has fills.
WAITING = ("NONE", "PENDING", "QUEUED", "PENDING_RISK_REVIEW", "CONTINGENT_ORDER")
WORKING = ("ACCEPTED", "TRIGGERED", "ACTIVATED", "STOPPED", "SUSPENDED", "REPLACE_PENDING")
FIXED = {
    "PARTIAL": "partially_filled",
    "CANCEL_PENDING": "pending_cancel",
    "EXECUTED": "filled",
    # Canceled after a partial fill: final, the fills stay.
    "CANCELED": "canceled",
    "PARTIAL_CANCELED": "canceled",
    # FAILED: the brokerage did not take the order.
    "REJECTED": "rejected",
    "FAILED": "rejected",
    "EXPIRED": "expired",
    "REPLACED": "replaced",
}
TERMINAL = ("filled", "canceled", "rejected", "expired", "replaced")

# The contract's words -> SnapTrade's request (and record) words (§4.5).
ORDER_TYPE = {"market": "Market", "limit": "Limit", "stop": "Stop", "stop_limit": "StopLimit"}
TIME_IN_FORCE = {"day": "Day", "gtc": "GTC", "ioc": "IOC", "fok": "FOK"}

# Read, submit or cancel: what a refusal means depends on what was asked.
READ, SUBMIT, CANCEL = "read", "submit", "cancel"


# ------------------------------------------------------------ wire helpers


def encode(text):
    """Percent-encodes everything but RFC 3986's unreserved characters, so a
    value can never split a query or a path (`u 1&x` -> `u%201%26x`, §2)."""
    return urllib.parse.quote(str(text), safe="")


def plain(d):
    """A decimal's digits, no exponent, no trailing zeros: "100", "189.5"."""
    if d is None:
        return None
    s = format(Decimal(str(d)), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def canonical(value):
    """Canonical JSON (keys sorted at every level, no whitespace), decimals
    written as JSON numbers with exactly their digits: the body is signed
    as it is sent."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Decimal, int)):
        return plain(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ",".join("%s:%s" % (canonical(k), canonical(value[k])) for k in sorted(value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    raise TypeError("cannot write %s as canonical JSON" % type(value).__name__)


def signature(consumer_key, path, query, body):
    """The `Signature` header (§2). `body` is canonical JSON already, so it
    goes in as it is sent; no body and `{}` both sign as null."""
    content = body.strip() if body is not None else ""
    if content in ("", "{}"):
        content = "null"
    message = '{"content":%s,"path":%s,"query":%s}' % (
        content,
        json.dumps(path, ensure_ascii=False),
        json.dumps(query, ensure_ascii=False),
    )
    mac = hmac.new(consumer_key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def number(value, what):
    """A SnapTrade number (v1 JSON number, v2 decimal string) as a Decimal,
    never through a float; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise AdapterError.unknown("SnapTrade's %s is not a number: %r" % (what, value))
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise AdapterError.unknown("SnapTrade's %s is not a number: %.40r" % (what, value))


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$"
)


def parse_time(text):
    """An RFC 3339 date-time as (aware UTC datetime, nanoseconds), or None."""
    m = _RFC3339.match(text or "")
    if not m:
        return None
    y, mo, d, h, mi, s, frac, off = m.groups()
    try:
        if off in ("Z", "z"):
            tz = datetime.timezone.utc
        else:
            sign = 1 if off[0] == "+" else -1
            tz = datetime.timezone(sign * datetime.timedelta(hours=int(off[1:3]), minutes=int(off[4:6])))
        when = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=tz)
    except ValueError:
        return None
    nanos = int((frac or "0")[:9].ljust(9, "0"))
    return when.astimezone(datetime.timezone.utc), nanos


def utc_rfc3339(text):
    """An RFC 3339 date-time in UTC with `Z`, its fraction as short as it can
    be of 0, 3, 6 or 9 digits (chrono's AutoSi); None if it is not one."""
    parsed = parse_time(text)
    if parsed is None:
        return None
    when, nanos = parsed
    base = when.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos == 0:
        frac = ""
    elif nanos % 1000000 == 0:
        frac = ".%03d" % (nanos // 1000000)
    elif nanos % 1000 == 0:
        frac = ".%06d" % (nanos // 1000)
    else:
        frac = ".%09d" % nanos
    return base + frac + "Z"


def placed_ms(o):
    """When an order was placed (`time_placed`), in Unix ms, or None."""
    parsed = parse_time(o.get("time_placed"))
    if parsed is None:
        return None
    when, nanos = parsed
    return int(when.timestamp()) * 1000 + nanos // 1000000


# ----------------------------------------------------------- the transport


class Response:
    """One HTTP answer, read in full: status, headers and body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name) if self.headers is not None else None

    def json(self):
        """The body as JSON (floats as Decimal); `unknown` when it is not."""
        try:
            return json.loads(self.body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError) as e:
            raise AdapterError.unknown(
                "SnapTrade answered HTTP %d with a body that is not JSON (%s): %.200r"
                % (self.status, e, self.body[:200])
            )


class SnapTrade:
    """SnapTrade's REST API in commercial-key mode (§1.2, §2): every request
    signed afresh (the timestamp moves with the clock). Holds the secrets;
    nothing it logs or raises contains them or a URL."""

    def __init__(self, base_url, client_id, consumer_key, user_id, user_secret):
        # A path part of the base URL (a mount prefix) is sent but not signed (§1.3).
        self.base = base_url.rstrip("/")
        self._client_id = client_id
        self._consumer_key = consumer_key
        self._user_id = user_id
        self._user_secret = user_secret
        # After a 429 nothing is sent until the wait SnapTrade asked for is
        # over (see SnapTradeAdapter.respect_hold).
        self.throttle = Throttle()

    def query(self, params):
        """The query as sent and signed: userId, userSecret, the operation's
        own parameters, clientId, timestamp (Unix seconds), in that order."""
        pairs = [("userId", encode(self._user_id)), ("userSecret", encode(self._user_secret))]
        pairs.extend((k, encode(v)) for k, v in params)
        pairs.append(("clientId", encode(self._client_id)))
        pairs.append(("timestamp", str(int(time.time()))))
        return "&".join("%s=%s" % kv for kv in pairs)

    def exchange(self, method, path, params=(), body=None, timeout_ms=REQUEST_TIMEOUT_MS):
        """One signed exchange: the answer whatever its status, or a
        transport failure as `timeout` (it may have landed) or `unavailable`
        (the connection was never made)."""
        query = self.query(params)
        headers = {
            "Signature": signature(self._consumer_key, path, query, body),
            "Accept": "application/json",
            "User-Agent": "raxx-bridge-snaptrade/1",
        }
        data = None
        if body is not None:
            data = body.encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path + "?" + query, data=data, method=method, headers=headers)
        what = "%s %s" % (method, path)
        try:
            with urllib.request.urlopen(req, timeout=timeout_ms / 1000.0) as resp:
                return Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as e:
            try:
                raw = e.read()
            except (OSError, ValueError):
                raw = b""
            return Response(e.code, e.headers, raw)
        except (socket.timeout, TimeoutError) as e:
            raise AdapterError.timeout("no answer from SnapTrade within %d ms (%s)" % (timeout_ms, what)) from e
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise AdapterError.timeout("no answer from SnapTrade within %d ms (%s)" % (timeout_ms, what)) from e
            if isinstance(reason, (ConnectionRefusedError, socket.gaierror)):
                raise AdapterError.unavailable("cannot reach SnapTrade (%s): %s" % (what, type(reason).__name__)) from e
            # The request may have gone out before the connection broke.
            raise AdapterError.timeout(
                "the connection broke before SnapTrade answered (%s): %s" % (what, type(reason).__name__)
            ) from e
        except (ConnectionError, OSError) as e:
            # A dropped connection after the request went out: the order may exist.
            raise AdapterError.timeout(
                "the connection broke before SnapTrade answered (%s): %s" % (what, type(e).__name__)
            ) from e


# ------------------------------------------------------------- refusals


def rate_wait_ms(resp, detail):
    """The wait a 429 asks for: Retry-After, else the detail's "Expected
    available in N seconds" (§8.3), else X-RateLimit-Reset (seconds), else 1 s."""

    def header(name):
        try:
            return int(str(resp.header(name)).strip())
        except (TypeError, ValueError):
            return None

    def in_detail():
        _, found, rest = detail.partition("available in ")
        words = rest.split()
        if not found or not words:
            return None
        try:
            return int(words[0])
        except ValueError:
            return None

    for seconds in (header("Retry-After"), in_detail(), header("X-RateLimit-Reset")):
        if seconds is not None and seconds >= 0:
            return seconds * 1000
    return DEFAULT_RATE_WAIT_MS


def kind_of_status(status):
    """The shared reading of an HTTP status (adapters' http::kind_of_status)."""
    if status == 401:
        return "auth_expired"
    if status == 403:
        return "rejected"
    if status == 404:
        return "not_found"
    if status in (408, 504):
        return "timeout"
    if status == 429:
        return "rate_limited"
    if status in (400, 405, 413, 415, 422):
        return "invalid_request"
    if status >= 500:
        return "unavailable"
    return "unknown"


def classify(resp, call, brokerage):
    """A non-2xx answer as the contract's error (§6): the status and
    SnapTrade's code decide the kind; the code travels in broker_code.
    `brokerage` names the institution behind the account once it is known."""
    body = {}
    try:
        parsed = json.loads(resp.body.decode("utf-8"))
        if isinstance(parsed, dict):
            body = parsed
    except (UnicodeDecodeError, ValueError):
        pass

    def text_of(v):
        if isinstance(v, bool) or v is None:
            return None
        if isinstance(v, (str, int)):
            return str(v)
        return None

    code = text_of(body.get("code"))
    if code is None:
        code = text_of(body.get("default_code"))
    detail = None
    for key in ("detail", "default_detail", "error"):
        if isinstance(body.get(key), str):
            detail = body[key]
            break
    if detail is None:
        detail = resp.body.decode("utf-8", "replace").strip()
    text = "SnapTrade answered HTTP %d: %s" % (resp.status, detail[:200])
    behind = "%.60s (the brokerage behind SnapTrade)" % brokerage if brokerage else "the brokerage behind SnapTrade"
    s = resp.status
    if s == 429:
        return AdapterError.rate_limited(text, retry_after_ms=rate_wait_ms(resp, detail), broker_code=code)
    if s == 400:
        if call == SUBMIT:
            # The adapter writes valid orders: a 400 is the brokerage declining it.
            return AdapterError.rejected(text, broker_code=code)
        if call == CANCEL:
            # §4.5: a cancel is refused when the order can no longer be canceled.
            return AdapterError.too_late_to_cancel(text, broker_code=code)
        return AdapterError.invalid_request(text, broker_code=code)
    if s == 401:
        # A bad signature (1076) or an unknown userId/userSecret (1083): the
        # keys are wrong, and no token can be renewed to fix it.
        return AdapterError.reauth_required(text, broker_code=code)
    if s == 402:
        # Every 402 is a disabled connection (3003; 3011 "already disabled"):
        # reads answer from SnapTrade's cache, anything live fails until the
        # user reconnects (§6.3).
        return AdapterError.reauth_required(
            "the connection to %s is broken: the user must reconnect it through SnapTrade's connection portal (%s)"
            % (behind, text),
            broker_code=code,
        )
    if s == 403 and code == FEATURE_OFF:
        return AdapterError.unsupported(text, broker_code=code)
    if s == 403 and code == NOT_PERMITTED and call != READ:
        return AdapterError.read_only("the connection to %s does not allow trading (%s)" % (behind, text), broker_code=code)
    if s == 403 and code == NOT_PERMITTED:
        return AdapterError.reauth_required(text, broker_code=code)
    if s == 425:
        # The first sync is still running (§9.3): not ready yet, soon will be.
        return AdapterError("unavailable", text, retry_after_ms=NOT_READY_WAIT_MS, broker_code=code)
    if s == 501:
        return AdapterError.unsupported(text, broker_code=code)
    if s == 503 and code == BROKERAGE_FAILED:
        return AdapterError.unavailable("%s did not answer SnapTrade (%s)" % (behind, text), broker_code=code)
    return AdapterError(kind_of_status(s), text, broker_code=code)


# ------------------------------------------------------------ orders


def status_of(word, filled):
    """SnapTrade's status word as the contract's; a word the adapter does
    not know is an `unknown` error, never a guess."""
    if word in WAITING:
        return "pending" if filled == 0 else "partially_filled"
    if word in WORKING:
        return "accepted" if filled == 0 else "partially_filled"
    if word in FIXED:
        return FIXED[word]
    raise AdapterError.unknown("SnapTrade order status %.40s has no meaning the adapter knows" % word)


def order_result(o, client_order_id):
    """An AccountOrderRecord (§5) as the contract's OrderResult;
    `client_order_id` is what the adapter remembers for it (SnapTrade keeps none)."""
    oid = o.get("brokerage_order_id")
    word = o.get("status")
    if not isinstance(word, str):
        raise AdapterError.unknown("SnapTrade's order %.40s has no status" % oid)
    total = number(o.get("total_quantity"), "total_quantity")
    if total is None:
        raise AdapterError.unknown("SnapTrade's order %.40s has no total_quantity" % oid)
    # An executed order is filled in full, whether or not the brokerage
    # reported the quantity.
    filled = number(o.get("filled_quantity"), "filled_quantity")
    if filled is None:
        filled = total if word == "EXECUTED" else Decimal(0)
    canceled = number(o.get("canceled_quantity"), "canceled_quantity") or Decimal(0)
    status = status_of(word, filled)
    remaining = max(total - filled - canceled, Decimal(0))
    price = number(o.get("execution_price"), "execution_price")
    return OrderResult(
        broker_order_id=oid,
        client_order_id=client_order_id,
        status=status,
        filled_quantity=plain(filled),
        remaining_quantity=plain(remaining),
        average_fill_price=plain(price) if price is not None and filled != 0 else None,
        reject_reason=(
            "SnapTrade reports the order %s (the brokerage gave no reason through it)" % word
            if status == "rejected"
            else None
        ),
        broker_status=word,
    )


def record_of(value, what):
    """An AccountOrderRecord as read: it must at least name its order."""
    if not isinstance(value, dict) or not isinstance(value.get("brokerage_order_id"), str):
        raise AdapterError.unknown("SnapTrade's %s is not an order record: %.120r" % (what, value))
    return value


class Spec:
    """What the adapter asks SnapTrade for: built from a contract order,
    written out as POST /trade/place's body (§4.5), and compared with the
    orders recentOrders lists when a submit's answer was lost. Only what
    this adapter places is taken (single-leg equities in whole units);
    anything else is refused before a request is sent."""

    def __init__(self, order):
        if order.legs:
            raise AdapterError.unsupported("the SnapTrade adapter places single-leg orders only")
        if order.instrument.is_option:
            raise AdapterError.unsupported("the SnapTrade adapter places equity orders only")
        if order.quantity <= 0:
            raise AdapterError.invalid_request("an order's quantity must be positive")
        if order.quantity != order.quantity.to_integral_value():
            raise AdapterError.unsupported("the SnapTrade adapter places whole units only (no fractional orders)")
        t = order.order_type.value
        self.symbol = order.instrument.symbol
        self.action = "BUY" if order.side.value == "buy" else "SELL"
        self.order_type = ORDER_TYPE[t]
        self.time_in_force = TIME_IN_FORCE[order.time_in_force.value]
        self.units = order.quantity
        # The limit price for Limit and StopLimit only, the stop price for
        # Stop and StopLimit only: present and positive.
        self.price = needed(order.limit_price, "limit price", t) if t in ("limit", "stop_limit") else None
        self.stop = needed(order.stop_price, "stop price", t) if t in ("stop", "stop_limit") else None

    def body(self, account_id):
        form = {
            "account_id": account_id,
            "action": self.action,
            "order_type": self.order_type,
            "symbol": self.symbol,
            "time_in_force": self.time_in_force,
            "units": self.units,
        }
        if self.price is not None:
            form["price"] = self.price
        if self.stop is not None:
            form["stop"] = self.stop
        return canonical(form)

    def matches(self, o):
        """Whether a listed order is what this spec asks for."""
        u = o.get("universal_symbol") or {}
        symbol = isinstance(u, dict) and self.symbol in (u.get("symbol"), u.get("raw_symbol"))

        def same(sent, listed, what):
            if sent is None:
                return True
            try:
                return number(listed, what) == sent
            except AdapterError:
                return False

        return bool(
            symbol
            and o.get("action") == self.action
            and same(self.units, o.get("total_quantity"), "total_quantity")
            and o.get("order_type") == self.order_type
            and o.get("time_in_force") == self.time_in_force
            and same(self.price, o.get("limit_price"), "limit_price")
            and same(self.stop, o.get("stop_price"), "stop_price")
        )


def needed(price, what, order_type):
    if price is None:
        raise AdapterError.invalid_request("a %s order needs a %s" % (order_type, what))
    if price <= 0:
        raise AdapterError.invalid_request("a %s order's %s must be positive" % (order_type, what))
    return price


class Intents:
    """Which brokerage order serves which client order id (the id lives in
    this adapter only), and when an intent whose submit ended unknown was
    first sent."""

    def __init__(self):
        self._lock = threading.Lock()
        self.owners = {}  # brokerage order id -> client order id
        self.unresolved = {}  # client order id -> first send, Unix ms

    def client_order_id(self, broker_order_id):
        with self._lock:
            return self.owners.get(broker_order_id, "")

    def remember(self, broker_order_id, client_order_id):
        with self._lock:
            self.owners[broker_order_id] = client_order_id

    def order_of(self, client_order_id):
        with self._lock:
            for oid, cid in sorted(self.owners.items()):
                if cid == client_order_id:
                    return oid
        return None

    def claim(self, client_order_id, from_ms, candidates):
        """The listing rule: the one recent, unclaimed candidate is the
        intent's (and is remembered as its); none is absent (None); several
        cannot be told apart."""
        with self._lock:
            left = [
                o
                for o in candidates
                if placed_ms(o) is not None
                and placed_ms(o) >= from_ms
                and self.owners.get(o["brokerage_order_id"], client_order_id) == client_order_id
            ]
        if not left:
            return None
        if len(left) == 1:
            self.remember(left[0]["brokerage_order_id"], client_order_id)
            return left[0]
        ids = ", ".join(o["brokerage_order_id"] for o in left)
        raise AdapterError.unknown(
            "%d identical orders were placed since the submit (%s): which one is intent %.60s's cannot be told; nothing was sent again"
            % (len(left), ids, client_order_id)
        )


def order_id(oid):
    """A brokerage order id as the adapter sends it: free-form (§3), never
    empty or unbounded; anything else names no order."""
    if not oid or len(oid.encode("utf-8")) > MAX_ORDER_ID:
        raise AdapterError.not_found("%.40s is not a SnapTrade brokerage order id" % oid)
    return oid


def budgeted(ms):
    """A bridge call: its waits and retries fit in `ms` of its deadline."""

    def wrap(fn):
        @functools.wraps(fn)
        def inner(self, *args, **kwargs):
            self.deadline = time.monotonic() + ms / 1000.0
            try:
                return fn(self, *args, **kwargs)
            finally:
                self.deadline = None

        return inner

    return wrap


class SnapTradeAdapter(Adapter):
    log_name = "snaptrade-adapter"
    # No poll_interval: SnapTrade pushes order states only through webhooks
    # (§9), so the adapter has no stream (streaming: false), and the bridge
    # follows its orders by calling get_order.

    def __init__(self, config):
        super().__init__(config)
        self.api = SnapTrade(
            config.base_url,
            config.credential("client_id", ""),
            config.credential("consumer_key", ""),
            config.credential("user_id", ""),
            config.credential("user_secret", ""),
        )
        self.intents = Intents()
        self.account_id = os.environ.get("SNAPTRADE_ACCOUNT_ID") or None
        # The brokerage behind the account, once read: errors about it name it.
        self.institution = None
        self.deadline = None  # set for each call (budgeted)
        # Back-off jitter, seeded: the same answers give the same waits.
        self.rng = random.Random(0)

    def describe(self):
        return Description(
            name="snaptrade-python-reference",
            broker="snaptrade",
            tier="B",
            capabilities=Capabilities(
                equities=True,
                # Options go through the mleg endpoint, which this adapter does not use.
                options=False,
                multi_leg=False,
                read_only=False,
                short_selling=False,
                fractional=False,
                token_refresh=False,
                brackets=False,
                order_types=["market", "limit", "stop", "stop_limit"],
                time_in_force=["day", "gtc", "ioc", "fok"],
            ),
            request_timeout_ms=REQUEST_TIMEOUT_MS,
        )

    # -- time, waits and retries -------------------------------------------

    def left_ms(self):
        if self.deadline is None:
            return float(READ_BUDGET_MS)
        return (self.deadline - time.monotonic()) * 1000.0

    def fits(self, wait_ms):
        """Whether a wait of `wait_ms` and one more attempt fit in the call."""
        return wait_ms + MIN_ATTEMPT_MS <= self.left_ms()

    def respect_hold(self):
        """Waits out a throttle SnapTrade asked for before sending anything;
        one longer than the adapter may wait is handed back as rate_limited."""
        left = self.api.throttle.remaining_ms()
        if not left:
            return
        if left > MAX_WAIT_MS or not self.fits(left):
            raise AdapterError.rate_limited(
                "SnapTrade asked for no requests until its rate-limit window resets (%d ms more)" % left,
                retry_after_ms=left,
            )
        time.sleep(left / 1000.0)

    def note(self, err):
        """Remembers a throttle SnapTrade announced, for every later request."""
        if err.kind.value == "rate_limited" and err.retry_after_ms is not None:
            self.api.throttle.hold(err.retry_after_ms)

    def delay_ms(self, retry, at_least):
        """Equal jitter: half of the capped exponential step fixed, half drawn,
        never less than what SnapTrade asked for."""
        step = min(BASE_DELAY_MS * (1 << min(retry - 1, 16)), MAX_DELAY_MS)
        jittered = step // 2 + self.rng.randint(0, step // 2)
        return max(jittered, at_least or 0)

    def wait_for(self, attempts, err):
        """The wait before retrying after `err`, or None when it must not be
        retried (not transient, a wait longer than the adapter takes, the
        attempts or the call's time used up)."""
        if not err.is_transient or attempts >= MAX_ATTEMPTS:
            return None
        if err.retry_after_ms is not None and err.retry_after_ms > MAX_WAIT_MS:
            return None
        wait = self.delay_ms(attempts, err.retry_after_ms)
        return wait if self.fits(wait) else None

    def retry_read(self, op):
        """Runs an idempotent request, retrying transient failures with back-off."""
        attempts = 0
        while True:
            attempts += 1
            self.respect_hold()
            try:
                return op()
            except AdapterError as e:
                self.note(e)
                wait = self.wait_for(attempts, e)
                if wait is None:
                    raise
                time.sleep(wait / 1000.0)

    def call(self, method, path, params=(), body=None, call=READ):
        """One signed exchange, every refusal an error."""
        timeout = max(min(REQUEST_TIMEOUT_MS, int(self.left_ms())), MIN_ATTEMPT_MS)
        resp = self.api.exchange(method, path, params, body, timeout)
        if 200 <= resp.status < 300:
            return resp
        raise classify(resp, call, self.institution)

    # -- the account ---------------------------------------------------------

    def account(self):
        """The SnapTrade account traded: named, or the first one listed of a
        connection that trades (read once)."""
        if self.account_id is None:
            connections = self.retry_read(lambda: self.call("GET", "/authorizations").json())
            trading = [
                c.get("id") for c in connections or [] if isinstance(c, dict) and c.get("type") == "trade"
            ]
            accounts = self.retry_read(lambda: self.call("GET", "/accounts").json())
            listed = [a for a in accounts or [] if isinstance(a, dict) and isinstance(a.get("id"), str)]
            ours = [a for a in listed if a.get("brokerage_authorization") in trading] or listed
            if not ours:
                raise AdapterError.unknown("SnapTrade lists no account for this user")
            self.account_id = ours[0]["id"]
            name = ours[0].get("institution_name")
            if isinstance(name, str) and name:
                self.institution = name
            log("trading SnapTrade account %s (%s)", self.account_id, name)
        return self.account_id

    def account_path(self, rest=""):
        return "/accounts/%s%s" % (encode(self.account()), rest)

    def read_account(self):
        """GET /accounts/{id}; the brokerage behind it is kept, so that errors
        about it name it."""
        path = self.account_path()
        doc = self.retry_read(lambda: self.call("GET", path).json())
        if not isinstance(doc, dict):
            raise AdapterError.unknown("SnapTrade's account is not an object")
        name = doc.get("institution_name")
        if doc.get("id") == self.account_id and isinstance(name, str) and name:
            self.institution = name
        return doc

    # -- orders --------------------------------------------------------------

    def to_result(self, o):
        return order_result(o, self.intents.client_order_id(o["brokerage_order_id"]))

    def recent(self):
        """The account's orders of the last 24 hours, executed or not."""
        path = self.account_path("/recentOrders")
        doc = self.retry_read(lambda: self.call("GET", path, [("only_executed", "false")]).json())
        orders = doc.get("orders") if isinstance(doc, dict) else None
        return [o for o in orders or [] if isinstance(o, dict) and isinstance(o.get("brokerage_order_id"), str)]

    def find(self, spec, cid, sent_ms):
        """The order `spec` became, if SnapTrade lists it, placed no earlier
        than `sent_ms` less the skew (None when it does not)."""
        candidates = [o for o in self.recent() if spec.matches(o)]
        found = self.intents.claim(cid, sent_ms - CLOCK_SKEW_MS, candidates)
        return None if found is None else self.to_result(found)

    def place_once(self, body, spec, cid, sent_ms):
        """One POST of the order; its answer is the order's first state. An
        answer that cannot be read still placed the order: it is looked for,
        and one that cannot be found is an error the caller must not retry."""
        resp = self.call("POST", "/trade/place", body=body, call=SUBMIT)
        try:
            record = record_of(resp.json(), "answer to /trade/place")
        except AdapterError as unreadable:
            try:
                found = self.find(spec, cid, sent_ms)
                if found is not None:
                    return found
                why = "the order is not listed yet"
            except AdapterError as e:
                why = e.message
            raise AdapterError.unknown(
                "SnapTrade placed the order but its answer could not be read (%s), and %s; it was not sent again"
                % (unreadable.message, why)
            )
        self.intents.remember(record["brokerage_order_id"], cid)
        return self.to_result(record)

    @budgeted(SUBMIT_BUDGET_MS)
    def submit_order(self, order):
        """Places an order once per intent. An intent this adapter already
        placed answers with its order; one whose earlier submit ended unknown
        is looked for before anything is sent."""
        spec = Spec(order)
        cid = order.client_order_id
        known = self.intents.order_of(cid)
        if known is not None:
            return self.read_order(known)
        body = spec.body(self.account())
        first_sent = self.intents.unresolved.get(cid)
        earlier = first_sent is not None
        if not earlier:
            first_sent = int(time.time() * 1000)
            self.intents.unresolved[cid] = first_sent
        if earlier:
            # A failed lookup leaves the intent unresolved, as it was.
            found = self.find(spec, cid, first_sent)
            if found is not None:
                self.intents.unresolved.pop(cid, None)
                return found
        try:
            placed = self.reconciled(body, spec, cid, first_sent)
        except AdapterError as e:
            # Only an outcome still unknown keeps the intent's first send time.
            if e.kind.value not in ("timeout", "unknown"):
                self.intents.unresolved.pop(cid, None)
            raise
        self.intents.unresolved.pop(cid, None)
        return placed

    def reconciled(self, body, spec, cid, first_sent):
        """Submits with reconciliation: after any failure that may have landed
        the order it is looked for first, and sent again only when SnapTrade
        does not hold it and it cannot still be on its way (SnapTrade would
        take a second copy)."""
        attempts = 0
        while True:
            attempts += 1
            self.respect_hold()
            try:
                return self.place_once(body, spec, cid, first_sent)
            except AdapterError as err:
                self.note(err)
                if not err.is_transient:
                    raise
                if err.retry_after_ms is not None and err.retry_after_ms > MAX_WAIT_MS:
                    raise
                # A rate limit means SnapTrade did not take the order; anything
                # else (a timeout, a dropped connection, a 5xx) may have been
                # committed before the answer was lost.
                if err.kind.value != "rate_limited":
                    log("submit %s: %s; looking for the order among recentOrders", cid, err.kind.value)
                    try:
                        found = self.find(spec, cid, first_sent)
                    except AdapterError as lookup_err:
                        raise AdapterError.timeout(
                            "the order's outcome is unknown: %s; and the broker could not be asked (%s)"
                            % (err, lookup_err)
                        )
                    if found is not None:
                        return found
                    if err.kind.value == "timeout":
                        raise AdapterError.timeout(
                            "the order's outcome is unknown: %s; the broker does not hold it yet, but the request may still land, and the broker would take a second copy, so it was not sent again"
                            % err
                        )
                wait = self.wait_for(attempts, err)
                if wait is None:
                    raise
                time.sleep(wait / 1000.0)

    def read_order(self, oid):
        """POST /accounts/{id}/orders/details: one order, real-time."""
        oid = order_id(oid)
        body = canonical({"brokerage_order_id": oid})
        path = self.account_path("/orders/details")

        def once():
            record = record_of(self.call("POST", path, body=body).json(), "order detail")
            if record["brokerage_order_id"] != oid:
                raise AdapterError.unknown(
                    "SnapTrade answered with order %.40s when asked for %.40s" % (record["brokerage_order_id"], oid)
                )
            return self.to_result(record)

        return self.retry_read(once)

    @budgeted(READ_BUDGET_MS)
    def get_order(self, broker_order_id):
        return self.read_order(broker_order_id)

    @budgeted(READ_BUDGET_MS)
    def cancel_order(self, broker_order_id):
        """POST /accounts/{id}/trading/cancel; the answer only says the
        brokerage was asked: the order read back says where it is."""
        oid = order_id(broker_order_id)
        body = canonical({"brokerage_order_id": oid})
        path = self.account_path("/trading/cancel")
        try:
            # A second cancel of a canceling order changes nothing: retried like a read.
            self.retry_read(lambda: self.call("POST", path, body=body, call=CANCEL))
        except AdapterError as e:
            if e.kind.value == "too_late_to_cancel":
                return self.refused_cancel(oid, e)
            raise
        try:
            o = self.read_order(oid)
        except AdapterError:
            # Not readable now: the cancel is on its way.
            return CancelResult(broker_order_id=oid, status="pending_cancel")
        if o.status.value == "canceled":
            return CancelResult(broker_order_id=oid, status="canceled")
        if o.status.value in TERMINAL:
            raise AdapterError.too_late_to_cancel(
                "order %s became %s before the cancel took effect" % (oid, o.broker_status)
            )
        return CancelResult(broker_order_id=oid, status="pending_cancel")

    def refused_cancel(self, oid, refusal):
        """A cancel SnapTrade refused (400, §4.5): the order read back says
        why. A cancel already on its way makes this one a success; a final
        order is too late (a canceled one: the cancel is done); a working one
        that cannot be canceled is `rejected`, since nothing about it is late."""
        try:
            o = self.read_order(oid)
        except AdapterError:
            raise refusal
        status = o.status.value
        if status == "pending_cancel":
            return CancelResult(broker_order_id=oid, status="pending_cancel")
        if status not in TERMINAL:
            raise AdapterError(
                "rejected",
                "SnapTrade refused to cancel order %.40s while it is %s: %s" % (oid, o.broker_status, refusal.message),
                broker_code=refusal.broker_code,
            )
        if status == "canceled":
            return CancelResult(broker_order_id=oid, status="canceled")
        raise AdapterError(
            refusal.kind,
            "order %s is already %s" % (oid, o.broker_status),
            retry_after_ms=refusal.retry_after_ms,
            broker_code=refusal.broker_code,
        )

    # -- holdings and money ----------------------------------------------------

    @budgeted(READ_BUDGET_MS)
    def get_holdings(self):
        """The account's holdings with their age: as_of is when SnapTrade
        fetched them from the brokerage (data_freshness.as_of), which on a
        cached plan or a disabled connection can be long ago (§8.1)."""
        path = self.account_path("/positions/all")
        doc = self.retry_read(lambda: self.call("GET", path).json())
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
            raise AdapterError.unknown("SnapTrade's positions/all has no results")
        freshness = doc.get("data_freshness")
        stamp = freshness.get("as_of") if isinstance(freshness, dict) else None
        as_of = utc_rfc3339(stamp) if isinstance(stamp, str) else None
        if as_of is None:
            raise AdapterError.unknown("SnapTrade's data_freshness.as_of %.40r is not a date-time" % (stamp,))
        return Holdings(account_id=self.account_id, positions=self.positions(doc["results"]), as_of=as_of)

    def positions(self, results):
        """The positions of positions/all the contract can express."""
        out = []
        for p in results:
            i = p.get("instrument") if isinstance(p, dict) else None
            if not isinstance(i, dict) or not isinstance(i.get("symbol"), str):
                raise AdapterError.unknown("SnapTrade sent a position without an instrument")
            instrument = instrument_of(i)
            if instrument is None:
                continue
            units = number(p.get("units"), "units")
            if units is None:
                raise AdapterError.unknown("SnapTrade's position in %.24s has no units" % i["symbol"])
            if units == 0:
                continue
            out.append(
                Position(
                    account_id=self.account_id,
                    instrument=instrument,
                    quantity=plain(units),
                    average_price=average_price(p, i["symbol"]),
                )
            )
        return out

    def get_positions(self):
        return self.get_holdings().positions

    @budgeted(READ_BUDGET_MS)
    def revoke(self):
        """Deletes the account's connection at SnapTrade (`DELETE
        /connection/{id}`, the id the account names): from then on it
        reaches nothing there."""
        connection = self.read_account().get("brokerage_authorization")
        if not isinstance(connection, str) or not connection:
            raise AdapterError.unknown("SnapTrade's account names no brokerage_authorization to delete")
        self.call("DELETE", "/connection/%s" % encode(connection))
        return True

    @budgeted(READ_BUDGET_MS)
    def get_account(self):
        """Cash and buying power from the USD balance, equity from the
        account's total value (two reads)."""
        doc = self.read_account()
        path = self.account_path("/balances")
        balances = self.retry_read(lambda: self.call("GET", path).json())
        if doc.get("id") != self.account_id:
            raise AdapterError.unknown(
                "SnapTrade answered for account %.40s when asked for %.40s" % (doc.get("id"), self.account_id)
            )
        usd = None
        for b in balances if isinstance(balances, list) else []:
            currency = b.get("currency") if isinstance(b, dict) else None
            code = currency.get("code") if isinstance(currency, dict) else None
            if isinstance(code, str) and code.upper() == "USD":
                usd = b
                break
        if usd is None:
            raise AdapterError.unknown("SnapTrade reports no USD balance for the account")
        cash = number(usd.get("cash"), "cash")
        if cash is None:
            raise AdapterError.unknown("SnapTrade reports no USD cash for the account")
        balance = doc.get("balance")
        total = balance.get("total") if isinstance(balance, dict) else None
        if not isinstance(total, dict):
            raise AdapterError.unknown("SnapTrade reports no total value for the account")
        currency = total.get("currency")
        if currency is not None and not (isinstance(currency, str) and currency.upper() == "USD"):
            raise AdapterError.unknown("SnapTrade reports the account's total value in %.8s, not USD" % currency)
        equity = number(total.get("amount"), "total value")
        if equity is None:
            raise AdapterError.unknown("SnapTrade reports no total value for the account")
        buying_power = number(usd.get("buying_power"), "buying_power")
        return Account(
            account_id=self.account_id,
            cash=plain(cash),
            buying_power=plain(cash if buying_power is None else buying_power),
            equity=plain(equity),
        )


def instrument_of(i):
    """Stock-like kinds by their ticker, options by their OCC symbol; None
    for what the contract cannot express (crypto, futures, funds, other)."""
    kind = i.get("kind")
    if kind in ("stock", "etf", "adr", "cef"):
        return Instrument.equity(i["symbol"])
    if kind == "option":
        try:
            return Instrument.option(i["symbol"])
        except ContractError:
            raise AdapterError.unknown("SnapTrade option symbol %.32s is not an OCC symbol" % i["symbol"])
    return None


def average_price(p, symbol):
    """The cost basis per share, else the current price when the brokerage
    reports no cost; a short position's cost may come signed."""
    for key in ("cost_basis", "price"):
        value = number(p.get(key), key)
        if value is not None:
            return plain(abs(value))
    raise AdapterError.unknown("SnapTrade's position in %.24s has neither a cost basis nor a price" % symbol)


if __name__ == "__main__":
    raxx_bridge.run(SnapTradeAdapter)
