"""Order updates: a monotonic tracker every update passes through, and a
polling source for adapters whose broker has no stream (or whose stream
needs a client the standard library does not have).

Monotonic means, per order: never the same state twice, never an older
state after a newer one, and nothing after a terminal state. Progress is
``(filled_quantity, stage)``, compared in that order, with stage
pending 0 < accepted / partially_filled 1 < pending_cancel 2 < terminal 3
(filled, canceled, rejected, expired, replaced). An update is passed on only
when its progress is strictly greater than the last one passed on for that
order, so a duplicated or reordered broker event is dropped, a fill that
lands while a cancel is pending still goes out (more is filled), and a
stale read after the fill never does.
"""

import threading
import time
from typing import Callable, Dict, List, Optional

from .errors import AdapterError, ErrorKind
from .logs import log
from .types import OrderResult


class OrderTracker:
    """Remembers the last update passed on per order; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last = {}  # type: Dict[str, OrderResult]

    def offer(self, result):
        # type: (OrderResult) -> bool
        """True (and remembered) when ``result`` is progress for its order;
        False for a duplicate, an older state, or anything after a terminal one."""
        if not isinstance(result, OrderResult):
            result = OrderResult.from_json(result)
        with self._lock:
            last = self._last.get(result.broker_order_id)
            if last is not None:
                if last.is_terminal or result.progress <= last.progress:
                    return False
            self._last[result.broker_order_id] = result
            return True

    def last(self, broker_order_id):
        # type: (str) -> Optional[OrderResult]
        with self._lock:
            return self._last.get(broker_order_id)

    def is_terminal(self, broker_order_id):
        last = self.last(broker_order_id)
        return last is not None and last.is_terminal


class WatchList:
    """The orders to follow (those submitted or replaced through the
    adapter), in the order they were added; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ids = {}  # type: Dict[str, None]

    def add(self, broker_order_id):
        with self._lock:
            self._ids.setdefault(broker_order_id, None)

    def discard(self, broker_order_id):
        with self._lock:
            self._ids.pop(broker_order_id, None)

    def ids(self):
        # type: () -> List[str]
        with self._lock:
            return list(self._ids)

    def __contains__(self, broker_order_id):
        with self._lock:
            return broker_order_id in self._ids

    def __len__(self):
        with self._lock:
            return len(self._ids)


class Poller:
    """Polls ``get_order`` every ``interval`` seconds for each order on the
    watch list until it is terminal, and hands each result to ``emit``
    (which passes on only progress: see :class:`OrderTracker`).

    - a transient error (``unavailable``, ``timeout``) is tried again next tick;
    - ``rate_limited`` pauses all polling for the wait the broker asked for,
      so the poller never sends inside it;
    - any other error is emitted once (an ``order_update_error``) until the
      order reads again; ``not_found`` also stops following the order;
    - an exception that is not an AdapterError (an adapter bug) is logged
      and emitted once as ``unknown``.

    ``call_lock``, when given, is held around each ``get_order`` so polls
    never run at the same time as a request (for adapters that are not
    thread-safe). ``clock`` and ``start=False`` with :meth:`poll_once` make
    it testable without threads.
    """

    def __init__(
        self,
        get_order,  # type: Callable[[str], OrderResult]
        emit,  # type: Callable[[object], bool]
        interval=1.0,  # type: float
        watch=None,  # type: Optional[WatchList]
        call_lock=None,
        clock=time.monotonic,
    ):
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.get_order = get_order
        self.emit = emit
        self.interval = float(interval)
        self.watch = watch if watch is not None else WatchList()
        self.call_lock = call_lock
        self.clock = clock
        self._stop = threading.Event()
        self._thread = None  # type: Optional[threading.Thread]
        self._done = set()  # ids whose terminal state was read
        self._failed = {}  # type: Dict[str, str]  # id -> kind last emitted as an error
        self._paused_until = 0.0

    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="raxx-bridge-poller", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout=None):
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def _run(self):
        while self._pause(self.interval):
            try:
                self.poll_once()
            except Exception as e:  # never let the thread die silently
                log("order poller: %s: %s", type(e).__name__, e)

    #: How often a pause looks at the stop flag.
    SLICE = 0.05

    def _pause(self, seconds):
        """Sleeps ``seconds`` in short time.sleep slices; False once stopped.

        Not ``Event.wait(timeout)``: on CPython >= 3.11 a lock wait with a
        timeout is ``sem_clockwait`` on CLOCK_MONOTONIC, which libfaketime
        (0.9.10) does not intercept, so under a sped-up faked clock the wait
        never ends; ``time.sleep`` is intercepted and scales with the clock
        (see "Time acceleration" in examples/bridge/README.md)."""
        end = time.monotonic() + seconds
        while not self._stop.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return True
            time.sleep(min(left, self.SLICE))
        return False

    def poll_once(self):
        """One round over the watch list."""
        for oid in self.watch.ids():
            if self._stop.is_set():
                return
            if oid in self._done:
                continue
            if self.clock() < self._paused_until:
                return
            self._poll(oid)

    def _read(self, oid):
        if self.call_lock is None:
            return self.get_order(oid)
        with self.call_lock:
            return self.get_order(oid)

    def _poll(self, oid):
        try:
            result = self._read(oid)
        except AdapterError as e:
            if e.kind is ErrorKind.RATE_LIMITED:
                self._paused_until = self.clock() + (e.retry_after_ms or 0) / 1000.0
                return
            if e.kind in (ErrorKind.UNAVAILABLE, ErrorKind.TIMEOUT):
                return
            if e.kind is ErrorKind.NOT_FOUND:
                self.watch.discard(oid)
            self._fail(oid, e)
            return
        except Exception as e:
            log("order poller: get_order(%s) raised %s: %s", oid, type(e).__name__, e)
            self._fail(oid, AdapterError.unknown("polling order %s: adapter bug: %s" % (oid, type(e).__name__)))
            return
        self._failed.pop(oid, None)
        if not isinstance(result, OrderResult):
            result = OrderResult.from_json(result)
        if result.is_terminal:
            self._done.add(oid)
        self.emit(result)

    def _fail(self, oid, error):
        if self._failed.get(oid) == error.kind.value:
            return
        self._failed[oid] = error.kind.value
        self.emit(error)
