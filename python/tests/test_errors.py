import unittest

import support  # noqa: F401

from raxx_bridge import ADAPTER_ERROR, AdapterError, ErrorKind, Throttle

KINDS = [
    "unavailable", "timeout", "rate_limited", "auth_expired", "reauth_required", "rejected", "not_found",
    "too_late_to_cancel", "read_only", "unsupported", "invalid_request", "kill_switch", "unknown",
]


class Errors(unittest.TestCase):
    def test_the_contract_kinds(self):
        self.assertEqual([k.value for k in ErrorKind], KINDS)
        for k in KINDS:
            helper = getattr(AdapterError, k)
            e = helper("m", retry_after_ms=5) if k == "rate_limited" else helper("m")
            self.assertEqual(e.kind.value, k)
            self.assertEqual(e.rpc_error()["code"], ADAPTER_ERROR)
            self.assertEqual(e.rpc_error()["data"]["kind"], k)
        self.assertEqual(
            [k for k in KINDS if ErrorKind(k).is_transient], ["unavailable", "timeout", "rate_limited"]
        )

    def test_rpc_error_shape(self):
        e = AdapterError.rate_limited("rate limit exceeded", retry_after_ms=1500, broker_code=42910000)
        self.assertEqual(
            e.rpc_error(),
            {"code": -32000, "message": "rate limit exceeded",
             "data": {"kind": "rate_limited", "retry_after_ms": 1500, "broker_code": "42910000"}},
        )
        self.assertEqual(AdapterError("rejected", "no").rpc_error()["data"], {"kind": "rejected"})
        self.assertEqual(str(e), "rate_limited: rate limit exceeded")

    def test_rate_limited_must_say_how_long(self):
        with self.assertRaises(ValueError):
            AdapterError("rate_limited", "slow down")
        with self.assertRaises(TypeError):
            AdapterError.rate_limited("slow down", retry_after_ms="1500")
        self.assertEqual(AdapterError.rate_limited("x", retry_after_ms=-5).retry_after_ms, 0)
        self.assertEqual(AdapterError.rate_limited("x", retry_after_ms=12.7).retry_after_ms, 12)

    def test_unknown_kinds_are_refused(self):
        with self.assertRaises(ValueError):
            AdapterError("bogus", "m")

    def test_reading_errors_back_as_the_rust_side_does(self):
        e = AdapterError.from_rpc_error(AdapterError.not_found("gone", broker_code="40410000").rpc_error())
        self.assertEqual((e.kind, e.message, e.broker_code), (ErrorKind.NOT_FOUND, "gone", "40410000"))
        for other in [
            {"code": -32601, "message": "Method not found"},
            {"code": -32000, "message": "m", "data": {"kind": "bogus"}},
            {"code": -32000, "message": "m"},
            "not an object",
        ]:
            self.assertEqual(AdapterError.from_rpc_error(other).kind, ErrorKind.UNKNOWN, other)


class FakeClock(object):
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.slept.append(s)
        self.now += s


class Throttles(unittest.TestCase):
    def test_a_hold_refuses_without_sending_until_it_is_over(self):
        clock = FakeClock()
        t = Throttle(clock=clock, sleep=clock.sleep)
        t.check()
        t.hold(1500)
        with self.assertRaises(AdapterError) as caught:
            t.check("GET /v2/orders")
        self.assertEqual(caught.exception.kind, ErrorKind.RATE_LIMITED)
        self.assertEqual(caught.exception.retry_after_ms, 1500)
        clock.now += 1.0
        self.assertEqual(t.remaining_ms(), 500)
        t.hold(100)  # a shorter hold does not shorten the one in force
        self.assertEqual(t.remaining_ms(), 500)
        clock.now += 0.5
        t.check()

    def test_short_waits_are_slept_long_ones_handed_back(self):
        clock = FakeClock()
        t = Throttle(clock=clock, sleep=clock.sleep)
        t.hold(800)
        t.wait_out(patience_ms=1000)
        self.assertEqual(clock.slept, [0.8])
        t.hold(15000)
        with self.assertRaises(AdapterError) as caught:
            t.wait_out(patience_ms=1000)
        self.assertEqual(caught.exception.retry_after_ms, 15000)


if __name__ == "__main__":
    unittest.main()
