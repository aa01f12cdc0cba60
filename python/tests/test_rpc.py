import io
import json
import threading
import unittest
from decimal import Decimal

import support
from support import BrokenPipe, CapturedLog, SlowPipe, order_json, request, result_json, run_lines

import raxx_bridge
from raxx_bridge import (
    Account,
    Adapter,
    AdapterError,
    CancelResult,
    Capabilities,
    Config,
    Description,
    Holdings,
    Instrument,
    Order,
    OrderResult,
    Position,
    Replace,
)

SECRET = "s3cr3t-value-XYZ"


def config():
    return Config("alpaca", "http://127.0.0.1:1", {"key_id": "PKTEST1234", "secret_key": SECRET})


class Fake(Adapter):
    """Answers from memory; client order ids steer failures."""

    def __init__(self, cfg=None):
        super().__init__(cfg or config())
        self.closed = 0
        self.replaced = []

    def describe(self):
        return Description(
            "fake", "alpaca", "A",
            Capabilities(options=True, order_types=["market", "limit"], time_in_force=["day", "gtc"]),
            request_timeout_ms=2000,
        )

    def submit_order(self, order):
        assert isinstance(order, Order)
        cid = order.client_order_id
        if cid == "throttled":
            raise AdapterError.rate_limited("rate limit exceeded", retry_after_ms=1500, broker_code="42910000")
        if cid == "bug":
            return {}["no such key"]
        if cid == "leaky":
            raise AdapterError.unknown("auth with %s failed" % SECRET)
        if cid == "extra-field":
            return dict(result_json(cid=cid), surprise=1)
        if cid == "not-a-result":
            return 42
        return OrderResult(
            broker_order_id="b-" + cid, client_order_id=cid, status="accepted",
            filled_quantity=0, remaining_quantity=order.quantity, broker_status="new",
        )

    def cancel_order(self, broker_order_id):
        if broker_order_id == "filled":
            raise AdapterError.too_late_to_cancel("order is already filled", broker_code="42210000")
        return CancelResult(broker_order_id, "pending_cancel")

    def get_order(self, broker_order_id):
        return result_json(oid=broker_order_id)  # a dict is fine too

    def get_positions(self):
        return [Position("PA1", Instrument.equity("AAPL"), "-3", "189.5")]

    def get_account(self):
        return Account("PA1", "1000.00", "2000", "1000.00")

    def close(self):
        self.closed += 1
        super().close()


class Bracketing(Fake):
    def describe(self):
        d = super().describe()
        d.capabilities.brackets = True
        return d

    def submit_order(self, order):
        self.exits = order.exits
        return super().submit_order(order)


class Replacing(Fake):
    def replace_order(self, broker_order_id, changes):
        assert isinstance(changes, Replace)
        self.replaced.append((broker_order_id, changes))
        return result_json(oid=broker_order_id + "-r", remaining=str(changes.quantity or 10))


class Polled(Replacing):
    poll_interval = 30.0  # never ticks during a test


def answers(adapter, *lines):
    out, server = run_lines(adapter, list(lines))
    return out


class Loop(unittest.TestCase):
    def setUp(self):
        self.log = CapturedLog().__enter__()

    def tearDown(self):
        self.log.__exit__(None, None, None)

    def test_exits_reach_only_an_adapter_that_places_brackets(self):
        exits = {"take_profit": "120", "stop_loss": {"stop_price": "90", "limit_price": None}}
        line = request(1, "submit_order", {"order": order_json(exits=exits)})
        out = answers(Fake(), line)
        self.assertEqual(out[0]["error"]["data"]["kind"], "invalid_request")
        self.assertIn("places no exits", out[0]["error"]["message"])
        b = Bracketing()
        out = answers(b, line)
        self.assertEqual(out[0]["result"]["status"], "accepted")
        self.assertEqual(b.exits.take_profit, Decimal("120"))

    def test_every_method_answers_one_line_with_its_id(self):
        a = Fake()
        out = answers(
            a,
            request(1, "describe", {}),
            request(2, "submit_order", {"order": order_json("c1")}),
            request(3, "cancel_order", {"broker_order_id": "b-c1"}),
            request(4, "get_order", {"broker_order_id": "b-c1"}),
            request(5, "get_positions", {}),
            request(6, "get_account"),
            request(7, "shutdown", {}),
        )
        self.assertEqual([m["id"] for m in out], [1, 2, 3, 4, 5, 6, 7])
        self.assertTrue(all(m["jsonrpc"] == "2.0" for m in out))
        self.assertEqual(out[1]["result"]["broker_order_id"], "b-c1")
        self.assertEqual(out[1]["result"]["remaining_quantity"], "10")
        self.assertEqual(out[2]["result"], {"broker_order_id": "b-c1", "status": "pending_cancel"})
        self.assertEqual(out[3]["result"]["status"], "accepted")
        self.assertEqual(
            out[4]["result"],
            {"positions": [{"account_id": "PA1", "instrument": {"kind": "equity", "symbol": "AAPL"},
                            "quantity": "-3", "average_price": "189.5"}]},
        )
        self.assertEqual(out[5]["result"], {"account_id": "PA1", "cash": "1000.00", "buying_power": "2000", "equity": "1000.00"})
        self.assertEqual(out[6]["result"], {})
        self.assertEqual(a.closed, 1)

    def test_holdings_say_their_age_and_an_adapter_without_them_says_so(self):
        class TierB(Fake):
            def get_holdings(self):
                return Holdings("PA1", self.get_positions(), as_of="2026-01-05T14:30:00Z")

        out = answers(TierB(), request(1, "get_holdings", {}))
        self.assertEqual(out[0]["result"]["as_of"], "2026-01-05T14:30:00Z")
        self.assertEqual(out[0]["result"]["account_id"], "PA1")
        self.assertEqual(out[0]["result"]["positions"][0]["quantity"], "-3")

        err = answers(Fake(), request(1, "get_holdings", {}))[0]["error"]
        self.assertEqual(err["data"]["kind"], "unsupported")
        self.assertIn("get_holdings", err["message"])

        class NoOffset(Fake):
            def get_holdings(self):
                return {"account_id": "PA1", "positions": [], "as_of": "2026-01-05T14:30:00"}

        err = answers(NoOffset(), request(1, "get_holdings", {}))[0]["error"]
        self.assertIn("as_of", err["message"])

    def test_describe_gates_replace_and_streaming_on_protocol_2(self):
        def caps(adapter, params):
            return answers(adapter, request(1, "describe", params))[0]["result"]["capabilities"]

        for adapter, p1, p2 in [
            (Fake(), (False, False), (False, False)),
            (Replacing(), (False, False), (True, False)),
            (Polled(), (False, False), (True, True)),
        ]:
            c1, c2 = caps(adapter, {}), caps(adapter, {"protocol": 2})
            self.assertEqual((c1["replace"], c1["streaming"]), p1, type(adapter).__name__)
            self.assertEqual((c2["replace"], c2["streaming"]), p2, type(adapter).__name__)
        # A newer harness talks to this helper at the helper's protocol.
        self.assertTrue(caps(Polled(), {"protocol": 3})["streaming"])
        err = answers(Fake(), request(1, "describe", {"protocol": "2"}))[0]["error"]
        self.assertEqual(err["data"]["kind"], "invalid_request")

    def test_malformed_lines(self):
        out = answers(
            Fake(),
            "this is not json",
            "[1, 2]",
            '{"jsonrpc":"2.0","id":{"x":1},"method":"describe"}',
            '{"id":5,"method":"describe"}',
            request(6, "no_such_method"),
            request(7, "get_account", [1, 2]),
            "",
            request(8, "get_account"),
        )
        self.assertEqual(out[0], {"jsonrpc": "2.0", "id": None, "error": out[0]["error"]})
        self.assertEqual(out[0]["error"]["code"], -32700)
        self.assertEqual((out[1]["id"], out[1]["error"]["code"]), (None, -32600))
        self.assertEqual((out[2]["id"], out[2]["error"]["code"]), (None, -32600))
        self.assertEqual((out[3]["id"], out[3]["error"]["code"]), (5, -32600))
        self.assertEqual((out[4]["id"], out[4]["error"]["code"]), (6, -32601))
        self.assertIn("no_such_method", out[4]["error"]["message"])
        self.assertEqual((out[5]["id"], out[5]["error"]["data"]["kind"]), (7, "invalid_request"))
        self.assertEqual(out[6]["id"], 8)  # the blank line was skipped; the loop goes on
        self.assertIn("result", out[6])

    def test_bytes_that_are_not_utf8_are_a_parse_error(self):
        stdout = io.BytesIO()
        server = raxx_bridge.Server(Fake(), io.BytesIO(b"\xff\xfe{}\n" + request(2, "get_account").encode() + b"\n"), stdout)
        server.serve()
        out = [json.loads(l) for l in stdout.getvalue().decode().splitlines()]
        self.assertEqual((out[0]["id"], out[0]["error"]["code"]), (None, -32700))
        self.assertEqual(out[1]["id"], 2)

    def test_adapter_errors_are_typed(self):
        out = answers(
            Fake(),
            request(1, "submit_order", {"order": order_json("throttled")}),
            request(2, "cancel_order", {"broker_order_id": "filled"}),
        )
        self.assertEqual(
            out[0]["error"],
            {"code": -32000, "message": "rate limit exceeded",
             "data": {"kind": "rate_limited", "retry_after_ms": 1500, "broker_code": "42910000"}},
        )
        self.assertEqual(out[1]["error"]["data"], {"kind": "too_late_to_cancel", "broker_code": "42210000"})
        self.assertIn("submit_order -> rate_limited", self.log.text)

    def test_bugs_and_bad_results_are_unknown(self):
        out = answers(
            Fake(),
            request(1, "submit_order", {"order": order_json("bug")}),
            request(2, "submit_order", {"order": order_json("extra-field")}),
            request(3, "submit_order", {"order": order_json("not-a-result")}),
            request(4, "get_account"),
        )
        for m in out[:3]:
            self.assertEqual(m["error"]["code"], -32000)
            self.assertEqual(m["error"]["data"], {"kind": "unknown"})
        self.assertIn("adapter bug in submit_order: KeyError", out[0]["error"]["message"])
        self.assertIn("surprise", out[1]["error"]["message"])
        self.assertIn("int", out[2]["error"]["message"])
        self.assertIn("Traceback", self.log.text)
        self.assertIn("result", out[3])  # and it keeps serving

    def test_params_that_break_the_contract_are_invalid_requests(self):
        out = answers(
            Fake(),
            request(1, "submit_order", {"order": dict(order_json(), surprise=True)}),
            request(2, "submit_order", {"order": order_json(quantity=10)}),
            request(3, "submit_order", {}),
            request(4, "cancel_order", {"broker_order_id": 7}),
        )
        for m in out:
            self.assertEqual(m["error"]["data"], {"kind": "invalid_request"}, m)
        self.assertIn("surprise", out[0]["error"]["message"])

    def test_credentials_never_leave_the_adapter(self):
        raxx_bridge.logs.add_secrets(config().credentials)
        out = answers(Fake(), request(1, "submit_order", {"order": order_json("leaky")}))
        msg = out[0]["error"]["message"]
        self.assertEqual(msg, "auth with [redacted] failed")
        raxx_bridge.log("key is %s", SECRET)
        self.assertNotIn(SECRET, self.log.text)
        self.assertIn("[redacted]", self.log.text)
        self.assertNotIn(SECRET, repr(config()))

    def test_shutdown_answers_then_stops_reading(self):
        a = Fake()
        out = answers(a, request(1, "shutdown", {}), request(2, "get_account"))
        self.assertEqual(out, [{"jsonrpc": "2.0", "id": 1, "result": {}}])
        self.assertEqual(a.closed, 1)

    def test_revoke_answers_what_the_adapter_revoked(self):
        # The default has no way to revoke at its vendor: false, not an error.
        out = answers(Fake(), request(1, "revoke", {}))
        self.assertEqual(out, [{"jsonrpc": "2.0", "id": 1, "result": {"revoked": False}}])

        class Revoking(Fake):
            def revoke(self):
                return True

        class Vague(Fake):
            def revoke(self):
                return "yes"

        self.assertEqual(answers(Revoking(), request(1, "revoke", {}))[0]["result"], {"revoked": True})
        self.assertIn("True or False", answers(Vague(), request(1, "revoke", {}))[0]["error"]["message"])

    def test_end_of_input_ends_the_loop(self):
        a = Fake()
        self.assertEqual(answers(a, request(1, "get_account"))[0]["id"], 1)
        self.assertEqual(a.closed, 1)

    def test_notifications_from_the_caller_get_no_answer(self):
        out = answers(Fake(), '{"jsonrpc":"2.0","method":"get_account"}', request(2, "get_account"))
        self.assertEqual([m["id"] for m in out], [2])

    def test_a_broken_pipe_ends_the_loop_quietly(self):
        a = Fake()
        stdin = io.BytesIO((request(1, "get_account") + "\n" + request(2, "get_account") + "\n").encode())
        pipe = BrokenPipe()
        self.assertEqual(raxx_bridge.Server(a, stdin, pipe).serve(), 0)
        self.assertEqual(pipe.writes, 1)  # it stopped after the first failed write
        self.assertEqual(a.closed, 1)

    def test_replace_order(self):
        a = Replacing()
        out = answers(
            a,
            request(1, "replace_order", {"broker_order_id": "b-1", "changes": {"quantity": "5", "limit_price": "10.25"}}),
            request(2, "replace_order", {"broker_order_id": "b-1", "changes": {}}),
            request(3, "replace_order", {"broker_order_id": "b-1", "changes": {"qty": "5"}}),
        )
        self.assertEqual(out[0]["result"]["broker_order_id"], "b-1-r")
        self.assertEqual(a.replaced, [("b-1", Replace(quantity=Decimal("5"), limit_price=Decimal("10.25")))])
        self.assertEqual(out[1]["error"]["data"]["kind"], "invalid_request")
        self.assertEqual(out[2]["error"]["data"]["kind"], "invalid_request")
        out = answers(Fake(), request(1, "replace_order", {"broker_order_id": "b-1", "changes": {"quantity": "5"}}))
        self.assertEqual(out[0]["error"]["data"]["kind"], "unsupported")

    def test_submitted_and_replaced_orders_are_followed(self):
        a = Replacing()
        answers(
            a,
            request(1, "submit_order", {"order": order_json("c1")}),
            request(2, "submit_order", {"order": order_json("throttled")}),
            request(3, "replace_order", {"broker_order_id": "b-c1", "changes": {"quantity": "5"}}),
        )
        self.assertEqual(a.submitted_orders.ids(), ["b-c1", "b-c1-r"])


class Updates(unittest.TestCase):
    def setUp(self):
        self.log = CapturedLog().__enter__()

    def tearDown(self):
        self.log.__exit__(None, None, None)

    def test_subscribe_without_updates_is_unsupported(self):
        out = answers(Fake(), request(1, "subscribe_order_updates", {}))
        self.assertEqual(out[0]["error"]["data"]["kind"], "unsupported")

    def test_updates_start_after_the_subscribe_answer(self):
        class Pushing(Fake):
            def start_order_updates(self, emit):
                # Emitted before the answer is out: held, then written after it.
                self.first = emit(OrderResult.from_json(result_json(oid="b-1")))
                emit(OrderResult.from_json(result_json(oid="b-1")))  # a duplicate: dropped
                emit(AdapterError.unavailable("stream dropped; reconnecting"))

        a = Pushing()
        out = answers(
            a,
            request(1, "describe", {"protocol": 2}),
            request(2, "subscribe_order_updates", {}),
            request(3, "subscribe_order_updates", {}),
            request(4, "get_account"),
        )
        self.assertTrue(out[0]["result"]["capabilities"]["streaming"])
        self.assertEqual(out[1], {"jsonrpc": "2.0", "id": 2, "result": {}})
        self.assertEqual(
            out[2],
            {"jsonrpc": "2.0", "method": "order_update", "params": {"order": result_json(oid="b-1")}},
        )
        self.assertEqual(
            out[3],
            {"jsonrpc": "2.0", "method": "order_update_error",
             "params": {"kind": "unavailable", "message": "stream dropped; reconnecting"}},
        )
        self.assertEqual(out[4], {"jsonrpc": "2.0", "id": 3, "result": {}})  # idempotent
        self.assertEqual(out[5]["id"], 4)
        self.assertTrue(a.first)

    def test_notifications_never_interleave_with_responses(self):
        n_threads, per_thread, n_requests = 4, 60, 150
        done = threading.Event()

        go = threading.Event()

        class Busy(Fake):
            def start_order_updates(self, emit):
                def push(t):
                    go.wait(10)  # start once requests are flowing
                    for i in range(per_thread):
                        # Progress each time: a growing fill on one order per thread.
                        emit(result_json(oid="t%d" % t, status="partially_filled", filled=str(i + 1), remaining="1000"))
                threads = [threading.Thread(target=push, args=(t,)) for t in range(n_threads)]
                for t in threads:
                    t.start()
                self.threads = threads

            def get_order(self, broker_order_id):
                go.set()
                if broker_order_id == "join":
                    for t in self.threads:
                        t.join()
                    done.set()
                return super().get_order(broker_order_id)

        lines = [request(1, "subscribe_order_updates", {})]
        lines += [request(i, "get_order", {"broker_order_id": "b-%d" % i}) for i in range(2, n_requests)]
        lines += [request(n_requests, "get_order", {"broker_order_id": "join"})]
        pipe = SlowPipe(chunk=5)
        stdin = io.BytesIO("".join(l + "\n" for l in lines).encode())
        raxx_bridge.Server(Busy(), stdin, pipe).serve()
        self.assertTrue(done.is_set())
        out = [json.loads(l) for l in pipe.lines()]  # every line is one whole JSON object
        responses = [m for m in out if "id" in m]
        notes = [m for m in out if "method" in m]
        self.assertEqual([m["id"] for m in responses], list(range(1, n_requests + 1)))
        self.assertEqual(len(notes), n_threads * per_thread)
        for t in range(n_threads):
            fills = [Decimal(m["params"]["order"]["filled_quantity"]) for m in notes
                     if m["params"]["order"]["broker_order_id"] == "t%d" % t]
            self.assertEqual(fills, sorted(fills))
            self.assertEqual(len(fills), per_thread)

    def test_nothing_is_written_after_shutdown(self):
        class Late(Fake):
            def start_order_updates(self, emit):
                self.emit = emit

        a = Late()
        out = answers(a, request(1, "subscribe_order_updates", {}), request(2, "shutdown", {}))
        self.assertFalse(a.emit(result_json(oid="late")))
        self.assertEqual([m["id"] for m in out], [1, 2])


class Run(unittest.TestCase):
    def setUp(self):
        self.log = CapturedLog().__enter__()

    def tearDown(self):
        self.log.__exit__(None, None, None)

    def env(self):
        return {
            "RAXX_BROKER": "alpaca",
            "RAXX_BASE_URL": "http://127.0.0.1:1",
            "RAXX_CREDENTIALS": json.dumps({"key_id": "PKTEST1234", "secret_key": SECRET}),
        }

    def test_run_builds_the_adapter_from_the_environment(self):
        seen = {}

        class Seeing(Fake):
            def __init__(self, cfg):
                super().__init__(cfg)
                seen["config"] = cfg

        stdin = io.BytesIO((request(1, "describe", {}) + "\n" + request(2, "shutdown") + "\n").encode())
        stdout = io.BytesIO()
        self.assertEqual(raxx_bridge.run(Seeing, environ=self.env(), stdin=stdin, stdout=stdout, exit=False), 0)
        cfg = seen["config"]
        self.assertEqual((cfg.broker, cfg.base_url, cfg.credential("secret_key")), ("alpaca", "http://127.0.0.1:1", SECRET))
        self.assertIn("Seeing: starting for broker alpaca", self.log.text)
        self.assertNotIn(SECRET, self.log.text)

    def test_a_constructor_that_fails_is_reported_on_every_call(self):
        class Broken(Fake):
            def __init__(self, cfg):
                raise RuntimeError("no key_id in the credentials")

        stdin = io.BytesIO((request(1, "describe", {}) + "\n").encode())
        stdout = io.BytesIO()
        raxx_bridge.run(Broken, environ=self.env(), stdin=stdin, stdout=stdout, exit=False)
        err = json.loads(stdout.getvalue().decode())["error"]
        self.assertEqual(err["data"]["kind"], "unknown")
        self.assertIn("failed to start: RuntimeError: no key_id", err["message"])

    def test_malformed_credentials_are_not_quoted(self):
        env = dict(self.env(), RAXX_CREDENTIALS='{"secret_key": "%s"' % SECRET)
        cfg = Config.from_env(env)
        self.assertEqual(cfg.credentials, {})
        self.assertNotIn(SECRET, self.log.text)


if __name__ == "__main__":
    unittest.main()
