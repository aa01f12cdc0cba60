import io
import json
import os
import threading
import time
import unittest

import support
from support import CapturedLog, order_json, request, result_json

import raxx_bridge
from raxx_bridge import AdapterError, OrderResult, OrderTracker, Poller, WatchList

from test_rpc import Fake


def r(status, filled="0", oid="b-1", word=None):
    return OrderResult.from_json(result_json(oid=oid, status=status, filled=filled, word=word))


class Tracker(unittest.TestCase):
    def test_only_progress_passes(self):
        t = OrderTracker()
        seq = [
            (r("pending"), True),
            (r("pending"), False),  # duplicate
            (r("accepted", word="new"), True),
            (r("accepted", word="accepted"), False),  # same progress, another word: not news
            (r("pending"), False),  # older
            (r("partially_filled", "2"), True),
            (r("accepted"), False),  # a stale read from before the fill
            (r("pending_cancel", "2"), True),
            (r("partially_filled", "3"), True),  # a fill that beat the cancel: more is filled
            (r("partially_filled", "2"), False),  # reordered: filled never goes back
            (r("canceled", "3"), True),
            (r("canceled", "3"), False),
            (r("filled", "10"), False),  # nothing after a terminal state
            (r("accepted", "0", oid="b-2"), True),  # orders are tracked apart
        ]
        for i, (update, passes) in enumerate(seq):
            self.assertEqual(t.offer(update), passes, "step %d: %s %s" % (i, update.status, update.filled_quantity))
        self.assertTrue(t.is_terminal("b-1"))
        self.assertEqual(t.last("b-1").status, "canceled")
        self.assertFalse(t.is_terminal("b-2"))

    def test_every_terminal_status_ends_an_order(self):
        for end in ("filled", "canceled", "rejected", "expired", "replaced"):
            t = OrderTracker()
            self.assertTrue(t.offer(r(end, "0")))
            self.assertFalse(t.offer(r("partially_filled", "5")), end)

    def test_a_shuffled_history_comes_out_monotonic(self):
        import random

        history = [r("pending"), r("accepted")] + [r("partially_filled", str(i)) for i in range(1, 10)] + [r("filled", "10")]
        rnd = random.Random(7)
        for _ in range(200):
            events = history + [rnd.choice(history) for _ in range(10)]  # duplicates too
            rnd.shuffle(events)
            t = OrderTracker()
            out = [e for e in events if t.offer(e)]
            progress = [e.progress for e in out]
            self.assertEqual(progress, sorted(set(progress)))
            self.assertTrue(all(not e.is_terminal for e in out[:-1]))


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Polls(unittest.TestCase):
    def setUp(self):
        self.log = CapturedLog().__enter__()
        self.emitted = []
        self.tracker = OrderTracker()
        self.reads = []
        self.answers = {}
        self.clock = Clock()

    def tearDown(self):
        self.log.__exit__(None, None, None)

    def emit(self, update):
        if isinstance(update, OrderResult) and not self.tracker.offer(update):
            return False
        self.emitted.append(update)
        return True

    def get_order(self, oid):
        self.reads.append(oid)
        a = self.answers[oid]
        if isinstance(a, list):
            a = a.pop(0) if len(a) > 1 else a[0]
        if isinstance(a, Exception):
            raise a
        return a

    def poller(self):
        return Poller(self.get_order, self.emit, interval=0.25, clock=self.clock)

    def test_follows_each_order_until_it_is_terminal(self):
        p = self.poller()
        p.watch.add("b-1")
        p.watch.add("b-2")
        self.answers = {
            "b-1": [r("accepted"), r("accepted"), r("partially_filled", "4"), r("filled", "10")],
            "b-2": [r("accepted", oid="b-2")],
        }
        for _ in range(5):
            p.poll_once()
        self.assertEqual(
            [(u.broker_order_id, u.status.value) for u in self.emitted],
            [("b-1", "accepted"), ("b-2", "accepted"), ("b-1", "partially_filled"), ("b-1", "filled")],
        )
        self.assertEqual(self.reads.count("b-1"), 4)  # not read again once filled
        self.assertEqual(self.reads.count("b-2"), 5)

    def test_a_rate_limit_pauses_every_poll_for_the_wait(self):
        p = self.poller()
        p.watch.add("b-1")
        p.watch.add("b-2")
        self.answers = {
            "b-1": [AdapterError.rate_limited("slow down", retry_after_ms=1500), r("accepted")],
            "b-2": [r("accepted", oid="b-2")],
        }
        p.poll_once()
        self.assertEqual(self.reads, ["b-1"])  # b-2 waits too
        self.clock.now = 1.4
        p.poll_once()
        self.assertEqual(self.reads, ["b-1"])
        self.clock.now = 1.5
        p.poll_once()
        self.assertEqual(self.reads, ["b-1", "b-1", "b-2"])
        self.assertEqual(len(self.emitted), 2)

    def test_errors(self):
        p = self.poller()
        for oid in ("slow", "gone", "auth"):
            p.watch.add(oid)
        self.answers = {
            "slow": [AdapterError.timeout("no answer"), AdapterError.unavailable("503"), r("accepted", oid="slow")],
            "gone": [AdapterError.not_found("order not found")],
            "auth": [AdapterError.auth_expired("401"), AdapterError.auth_expired("401"), r("accepted", oid="auth"),
                     AdapterError.auth_expired("401")],
        }
        for _ in range(4):
            p.poll_once()
        kinds = [u.kind.value if isinstance(u, AdapterError) else u.broker_order_id for u in self.emitted]
        # Transient errors are retried silently; not_found is said once and the
        # order dropped; another error is said once until the order reads again.
        self.assertEqual(kinds, ["not_found", "auth_expired", "slow", "auth", "auth_expired"])
        self.assertNotIn("gone", p.watch)
        self.assertEqual(self.reads.count("gone"), 1)

    def test_an_adapter_bug_is_logged_and_said_once(self):
        p = self.poller()
        p.watch.add("b-1")
        self.answers = {"b-1": [ZeroDivisionError("oops")]}
        p.poll_once()
        p.poll_once()
        self.assertEqual(len(self.emitted), 1)
        self.assertEqual(self.emitted[0].kind.value, "unknown")
        self.assertIn("ZeroDivisionError", self.log.text)

    def test_call_lock_keeps_polls_out_of_requests(self):
        lock = threading.RLock()
        p = Poller(self.get_order, self.emit, interval=0.01, call_lock=lock)
        p.watch.add("b-1")
        self.answers = {"b-1": [r("accepted")]}
        with lock:
            p.start()
            time.sleep(0.1)
            self.assertEqual(self.reads, [])  # held off while a request runs
        deadline = time.time() + 5
        while not self.reads and time.time() < deadline:
            time.sleep(0.01)
        p.stop(timeout=5)
        self.assertFalse(p.running)
        self.assertTrue(self.reads)


    def test_the_poll_thread_waits_without_lock_timeouts(self):
        # Under libfaketime with a sped-up clock, a lock wait with a timeout
        # (Event.wait, Queue.get, Condition.wait) never returns on CPython
        # >= 3.9 with glibc >= 2.30 (sem_clockwait is not intercepted); the
        # poller must pause with time.sleep, which is.
        real_wait = threading.Event.wait

        def no_timeouts(self, timeout=None):
            if timeout is not None:
                raise AssertionError("Event.wait(timeout) in the poller")
            return real_wait(self)

        p = Poller(self.get_order, self.emit, interval=0.01)
        p.watch.add("b-1")
        self.answers = {"b-1": [r("accepted")]}
        threading.Event.wait = no_timeouts
        try:
            p.start()
            deadline = time.time() + 5
            while len(self.reads) < 3 and time.time() < deadline:
                time.sleep(0.01)
        finally:
            threading.Event.wait = real_wait
            p.stop(timeout=5)
        self.assertGreaterEqual(len(self.reads), 3)
        self.assertNotIn("AssertionError", self.log.text)


class PolledAdapter(Fake):
    poll_interval = 0.02

    def __init__(self):
        super().__init__()
        self.state = {}

    def submit_order(self, order):
        result = super().submit_order(order)
        self.state[result.broker_order_id] = [
            result_json(oid=result.broker_order_id, cid=order.client_order_id, status="accepted", word="new"),
            result_json(oid=result.broker_order_id, cid=order.client_order_id, status="partially_filled", filled="4", remaining="6"),
            result_json(oid=result.broker_order_id, cid=order.client_order_id, status="filled", filled="10", remaining="0", avg="1.5"),
        ]
        return result

    def get_order(self, broker_order_id):
        states = self.state[broker_order_id]
        return states.pop(0) if len(states) > 1 else states[0]


class EndToEnd(unittest.TestCase):
    def test_the_default_poller_pushes_every_step_of_a_submitted_order(self):
        a = PolledAdapter()
        rd, wr, close = _pipe()
        stdout = io.BytesIO()
        server = raxx_bridge.Server(a, rd, stdout)
        thread = threading.Thread(target=server.serve)
        with CapturedLog():
            thread.start()
            wr(request(1, "describe", {"protocol": 2}))
            wr(request(2, "subscribe_order_updates", {}))
            wr(request(3, "submit_order", {"order": order_json("c1")}))
            deadline = time.time() + 5
            while stdout.getvalue().count(b'"filled"') < 1 and time.time() < deadline:
                time.sleep(0.02)
            wr(request(4, "shutdown", {}))
            thread.join(5)
            close()
        out = [json.loads(l) for l in stdout.getvalue().decode().splitlines()]
        notes = [m["params"]["order"] for m in out if m.get("method") == "order_update"]
        self.assertEqual([n["status"] for n in notes], ["accepted", "partially_filled", "filled"])
        self.assertEqual(notes[-1]["average_fill_price"], "1.5")
        self.assertEqual([m["id"] for m in out if "id" in m], [1, 2, 3, 4])
        self.assertFalse(a._raxx_poller.running)


def _pipe():
    """A stdin the test writes to line by line."""
    r_fd, w_fd = os.pipe()
    rd = os.fdopen(r_fd, "rb")
    wf = os.fdopen(w_fd, "wb", buffering=0)

    def write(line):
        wf.write((line + "\n").encode())

    def close():
        wf.close()
        rd.close()

    return rd, write, close


if __name__ == "__main__":
    unittest.main()
