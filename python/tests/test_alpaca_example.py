"""examples/bridge/alpaca_adapter.py against a small fake of Alpaca's REST
API (the vendor rules it encodes: reconciliation, duplicates, rate limits,
replace, error mapping), and started the way the harness starts it."""

import email.utils
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import unittest
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import support
from support import CapturedLog, order_json, request

import raxx_bridge
from raxx_bridge import AdapterError, Config, Order, Replace

EXAMPLE = os.path.join(support.REPO, "examples", "bridge", "alpaca_adapter.py")
KEY, SECRET = "PKFAKE0001", "fake-secret-0001"


def load_example():
    spec = importlib.util.spec_from_file_location("alpaca_adapter_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeAlpaca(object):
    """Orders in memory; client order ids and paths steer the faults."""

    def __init__(self):
        self.orders = {}
        self.requests = []
        self.hang = 0.0
        self.lock = threading.Lock()
        self.rate_limited_until = 0  # unix seconds: 429 until then
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def new_order(self, body, status="new", **extra):
        o = {
            "id": str(uuid.uuid4()),
            "client_order_id": body.get("client_order_id") or str(uuid.uuid4()),
            "symbol": body.get("symbol"),
            "qty": body.get("qty"),
            "filled_qty": "0",
            "filled_avg_price": None,
            "status": status,
            "type": body.get("type"),
            "time_in_force": body.get("time_in_force"),
            "limit_price": body.get("limit_price"),
            "stop_price": body.get("stop_price"),
            "replaced_by": None,
            "replaces": None,
        }
        o.update(extra)
        self.orders[o["id"]] = o
        return o

    def by_cid(self, cid):
        for o in self.orders.values():
            if o["client_order_id"] == cid:
                return o
        return None

    def handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send(self, status, body=None, headers=()):
                raw = b"" if body is None else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for k, v in headers:
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:
                    pass

            def handle_any(self, method):
                url = urlparse(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n)) if n else None
                with fake.lock:
                    fake.requests.append((method, url.path, body))
                if self.headers.get("APCA-API-KEY-ID") != KEY or self.headers.get("APCA-API-SECRET-KEY") != SECRET:
                    return self.send(401, {"message": "unauthorized"})
                now = time.time()
                if now < fake.rate_limited_until:
                    return self.send(
                        429,
                        {"code": 42910000, "message": "rate limit exceeded"},
                        [("X-Ratelimit-Reset", str(int(fake.rate_limited_until))),
                         ("Date", email.utils.formatdate(now, usegmt=True))],
                    )
                path = url.path
                if method == "POST" and path == "/v2/orders":
                    cid = body["client_order_id"]
                    if fake.by_cid(cid) is not None:
                        return self.send(422, {"code": 40010001, "message": "client_order_id must be unique"})
                    o = fake.new_order(body)
                    if cid.startswith("lost"):
                        time.sleep(fake.hang)  # committed, answer too late
                        return self.send(200, o)
                    return self.send(200, o)
                if method == "GET" and path == "/v2/orders:by_client_order_id":
                    o = fake.by_cid(parse_qs(url.query)["client_order_id"][0])
                    return self.send(200, o) if o else self.send(404, {"code": 40410000, "message": "order not found"})
                if path.startswith("/v2/orders/"):
                    oid = path[len("/v2/orders/"):]
                    o = fake.orders.get(oid)
                    if o is None:
                        try:
                            uuid.UUID(oid)
                        except ValueError:
                            return self.send(422, {"code": 40010001, "message": "order_id is missing"})
                        return self.send(404, {"code": 40410000, "message": "order not found"})
                    if method == "GET":
                        return self.send(200, o)
                    if method == "DELETE":
                        if o["status"] in ("filled", "expired", "replaced"):
                            return self.send(422, {"code": 42210000, "message": 'order is already in "%s" state' % o["status"]})
                        o["status"] = "canceled"
                        return self.send(204)
                    if method == "PATCH":
                        if o["status"] not in ("new", "accepted", "partially_filled"):
                            return self.send(422, {"code": 42210000, "message": "unable to replace order, order is not open"})
                        merged = dict((k, o[k]) for k in ("symbol", "qty", "type", "time_in_force", "limit_price", "stop_price"))
                        merged.update(body)
                        merged.setdefault("client_order_id", str(uuid.uuid4()))
                        new = fake.new_order(merged, replaces=oid)
                        o["status"], o["replaced_by"] = "replaced", new["id"]
                        if o["client_order_id"].startswith("slow-replace"):
                            time.sleep(fake.hang)
                        return self.send(200, new)
                if method == "GET" and path == "/v2/account":
                    return self.send(200, {"account_number": "PA0001", "cash": "1000.50", "buying_power": "2001.00", "equity": "1000.50"})
                if method == "GET" and path == "/v2/positions":
                    return self.send(200, [
                        {"symbol": "AAPL", "asset_class": "us_equity", "qty": "-3", "avg_entry_price": "189.50"},
                        {"symbol": "SPY260116P00400000", "asset_class": "us_option", "qty": "2", "avg_entry_price": "1.05"},
                    ])
                return self.send(404, {"code": 40410000, "message": "not found"})

            def do_GET(self):
                self.handle_any("GET")

            def do_POST(self):
                self.handle_any("POST")

            def do_DELETE(self):
                self.handle_any("DELETE")

            def do_PATCH(self):
                self.handle_any("PATCH")

        return Handler


class AlpacaExample(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mod = load_example()

    def setUp(self):
        self.log = CapturedLog().__enter__()
        self.fake = FakeAlpaca()
        self.mod.REQUEST_TIMEOUT_MS = 300  # the fake's hangs are short
        self.fake.hang = 0.6
        self.a = self.mod.AlpacaAdapter(Config("alpaca", self.fake.base_url, {"key_id": KEY, "secret_key": SECRET}))

    def tearDown(self):
        self.mod.REQUEST_TIMEOUT_MS = 2000
        self.fake.close()
        self.log.__exit__(None, None, None)

    def sent(self, method, path=None):
        return [r for r in self.fake.requests if r[0] == method and (path is None or r[1] == path)]

    def order(self, cid, **over):
        return Order.from_json(order_json(cid, **over))

    def test_a_lost_submit_reconciles_by_client_order_id(self):
        r = self.a.submit_order(self.order("lost-1"))
        self.assertEqual(r.client_order_id, "lost-1")
        self.assertEqual(len(self.fake.orders), 1)
        self.assertEqual(len(self.sent("POST")), 1)  # found, so never sent again
        self.assertIn("reconciling by client_order_id", self.log.text)
        # The same intent again is the same order (422 duplicate → lookup).
        again = self.a.submit_order(self.order("lost-1"))
        self.assertEqual(again.broker_order_id, r.broker_order_id)
        self.assertEqual(len(self.fake.orders), 1)

    def test_the_submit_body(self):
        r = self.a.submit_order(self.order(
            "opt-1", instrument={"kind": "option", "occ": "SPY   260116P00400000"}, position_effect="open",
            quantity="2.000", limit_price="1.50",
        ))
        self.assertEqual(r.status, "accepted")
        self.assertEqual(r.remaining_quantity, Decimal("2"))
        body = self.sent("POST")[0][2]
        self.assertEqual(body, {
            "symbol": "SPY260116P00400000", "qty": "2", "side": "buy", "type": "limit", "time_in_force": "day",
            "client_order_id": "opt-1", "limit_price": "1.5", "position_intent": "buy_to_open",
        })

    def test_local_refusals_send_nothing(self):
        for over, kind in [({"quantity": "0"}, "invalid_request"), ({"limit_price": None}, "invalid_request"),
                           ({"client_order_id": ""}, "invalid_request")]:
            with self.assertRaises(AdapterError) as caught:
                self.a.submit_order(self.order("x", **over))
            self.assertEqual(caught.exception.kind.value, kind)
        self.assertEqual(self.fake.requests, [])

    def test_a_rate_limit_is_handed_back_and_held(self):
        self.fake.rate_limited_until = int(time.time()) + 3
        with self.assertRaises(AdapterError) as caught:
            self.a.get_account()
        e = caught.exception
        self.assertEqual((e.kind.value, e.broker_code), ("rate_limited", "42910000"))
        self.assertTrue(1000 <= e.retry_after_ms <= 4000, e.retry_after_ms)
        n = len(self.fake.requests)
        with self.assertRaises(AdapterError) as caught:
            self.a.get_order(str(uuid.uuid4()))  # inside the wait: not sent
        self.assertEqual(caught.exception.kind.value, "rate_limited")
        self.assertEqual(len(self.fake.requests), n)

    def test_error_mapping(self):
        o = self.fake.new_order({"symbol": "AAPL", "qty": "1"}, status="filled", filled_qty="1", filled_avg_price="10")
        with self.assertRaises(AdapterError) as caught:
            self.a.cancel_order(o["id"])
        self.assertEqual((caught.exception.kind.value, caught.exception.broker_code), ("too_late_to_cancel", "42210000"))
        for oid in (str(uuid.uuid4()), "nope"):
            with self.assertRaises(AdapterError) as caught:
                self.a.get_order(oid)
            self.assertEqual(caught.exception.kind.value, "not_found", oid)
        bad = self.mod.AlpacaAdapter(Config("alpaca", self.fake.base_url, {"key_id": KEY, "secret_key": "wrong"}))
        with self.assertRaises(AdapterError) as caught:
            bad.get_account()
        self.assertEqual(caught.exception.kind.value, "auth_expired")

    def test_cancel_is_pending_until_it_lands_and_idempotent(self):
        r = self.a.submit_order(self.order("c-1"))
        self.assertEqual(self.a.cancel_order(r.broker_order_id).status, "canceled")  # the fake cancels at once
        self.assertEqual(self.a.cancel_order(r.broker_order_id).status, "canceled")

    def test_positions_and_account(self):
        p = self.a.get_positions()
        self.assertEqual([x.to_json() for x in p], [
            {"account_id": "PA0001", "instrument": {"kind": "equity", "symbol": "AAPL"}, "quantity": "-3", "average_price": "189.5"},
            {"account_id": "PA0001", "instrument": {"kind": "option", "occ": "SPY   260116P00400000"}, "quantity": "2", "average_price": "1.05"},
        ])
        self.assertEqual(self.a.get_account().to_json(),
                         {"account_id": "PA0001", "cash": "1000.5", "buying_power": "2001", "equity": "1000.5"})

    def test_replace_answers_the_new_order(self):
        r = self.a.submit_order(self.order("rep-1"))
        new = self.a.replace_order(r.broker_order_id, Replace(quantity="5", limit_price="190.25"))
        self.assertNotEqual(new.broker_order_id, r.broker_order_id)
        self.assertEqual(new.remaining_quantity, Decimal("5"))
        self.assertEqual(self.sent("PATCH")[0][2], {"qty": "5", "limit_price": "190.25"})
        self.assertEqual(self.a.get_order(r.broker_order_id).status, "replaced")
        # The original is no longer open: Alpaca refuses, typed.
        with self.assertRaises(AdapterError) as caught:
            self.a.replace_order(r.broker_order_id, Replace(limit_price="191"))
        self.assertEqual((caught.exception.kind.value, caught.exception.broker_code), ("rejected", "42210000"))

    def test_replace_refuses_what_alpaca_would(self):
        r = self.a.submit_order(self.order("rep-2"))
        for changes, kind in [(Replace(quantity="1.5"), "unsupported"), (Replace(quantity="0"), "invalid_request"),
                              (Replace(limit_price="-1"), "invalid_request"), (Replace(client_order_id="x" * 129), "invalid_request")]:
            with self.assertRaises(AdapterError) as caught:
                self.a.replace_order(r.broker_order_id, changes)
            self.assertEqual(caught.exception.kind.value, kind)
        self.assertEqual(self.sent("PATCH"), [])

    def test_an_ambiguous_replace_is_read_back_never_resent(self):
        r = self.a.submit_order(self.order("slow-replace-1"))
        new = self.a.replace_order(r.broker_order_id, Replace(limit_price="188"))
        self.assertEqual(new.broker_order_id, self.fake.orders[r.broker_order_id]["replaced_by"])
        self.assertEqual(len(self.sent("PATCH")), 1)
        self.assertIn("reading the original back", self.log.text)

    def test_an_ambiguous_replace_that_did_not_land_stays_unknown(self):
        r = self.a.submit_order(self.order("slow-replace-2"))
        self.fake.orders[r.broker_order_id]["client_order_id"] = "other"  # the fake then answers at once
        def hang_patch(*args):
            raise AdapterError.timeout("no answer from Alpaca")
        real = self.a.api.request
        self.a.api.request = lambda m, p, body=None, query=None: hang_patch() if m == "PATCH" else real(m, p, body, query)
        with self.assertRaises(AdapterError) as caught:
            self.a.replace_order(r.broker_order_id, Replace(limit_price="188"))
        self.assertEqual(caught.exception.kind.value, "timeout")
        self.assertIn("not replaced: the replace may still land", caught.exception.message)

    def test_order_updates_are_polled_and_monotonic(self):
        self.a.poll_interval = 0.05
        r = self.a.submit_order(self.order("upd-1"))
        self.a.submitted_orders.add(r.broker_order_id)
        seen = []
        self.a.start_order_updates(lambda u: seen.append(u) or True)
        o = self.fake.orders[r.broker_order_id]
        for status, filled in [("partially_filled", "4"), ("filled", "10")]:
            time.sleep(0.2)
            o.update(status=status, filled_qty=filled, filled_avg_price="189.4")
        deadline = time.time() + 5
        while (not seen or seen[-1].status != "filled") and time.time() < deadline:
            time.sleep(0.05)
        self.a.close()
        statuses = [u.status.value for u in seen]
        self.assertEqual(statuses[-1], "filled")
        self.assertEqual(statuses[0], "accepted")


class StartedLikeTheHarness(unittest.TestCase):
    def test_it_runs_from_a_checkout_without_an_install(self):
        env = dict(os.environ, RAXX_BROKER="alpaca", RAXX_BASE_URL="http://127.0.0.1:9",
                   RAXX_CREDENTIALS=json.dumps({"key_id": KEY, "secret_key": SECRET}))
        env.pop("PYTHONPATH", None)
        lines = [request(1, "describe", {}), request(2, "describe", {"protocol": 2}), request(3, "shutdown", {})]
        proc = subprocess.run(
            [sys.executable, "-I", EXAMPLE], input="\n".join(lines) + "\n", env=env, cwd="/",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=30,
        )
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = [json.loads(l) for l in proc.stdout.splitlines()]
        self.assertEqual([m["id"] for m in out], [1, 2, 3])
        c1, c2 = out[0]["result"]["capabilities"], out[1]["result"]["capabilities"]
        self.assertEqual((c1["replace"], c1["streaming"]), (False, False))
        self.assertEqual((c2["replace"], c2["streaming"]), (True, True))
        self.assertEqual(out[0]["result"]["request_timeout_ms"], 2000)
        self.assertIn("alpaca-adapter: starting", proc.stderr)
        self.assertNotIn(SECRET, proc.stderr)


if __name__ == "__main__":
    unittest.main()
