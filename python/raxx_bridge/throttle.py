"""A shared hold-back for a broker's rate limit.

When the broker answers "too many requests, wait N ms", every later request
of the adapter (including a background poller's) must wait too: the
harness counts a request sent inside a wait the broker asked for as a
violation. ``Throttle.hold(ms)`` records the wait; ``Throttle.check()``
before each request either lets it go or raises ``rate_limited`` with the
wait that is left, without sending anything; ``Throttle.wait_out()`` sleeps
through a short wait instead and hands back a long one.
"""

import threading
import time

from .errors import AdapterError


class Throttle:
    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self._lock = threading.Lock()
        self._until = 0.0
        self._clock = clock
        self._sleep = sleep

    def hold(self, ms):
        """Nobody sends for ``ms`` milliseconds from now (a longer hold already in force stays)."""
        until = self._clock() + max(ms, 0) / 1000.0
        with self._lock:
            self._until = max(self._until, until)

    def remaining_ms(self):
        with self._lock:
            left = self._until - self._clock()
        if left <= 0:
            return 0
        return max(int(left * 1000 + 0.999), 1)

    def check(self, what="request"):
        """Raises ``rate_limited`` (with the wait left) while a hold is in force."""
        left = self.remaining_ms()
        if left:
            raise AdapterError.rate_limited(
                "%s held back: the broker asked us to wait %d ms more" % (what, left), retry_after_ms=left
            )

    def wait_out(self, patience_ms, what="request"):
        """Sleeps through a hold of at most ``patience_ms``; raises
        ``rate_limited`` for a longer one (the caller decides when to come back)."""
        left = self.remaining_ms()
        if left and left <= patience_ms:
            self._sleep(left / 1000.0)
            left = self.remaining_ms()
        if left:
            self.check(what)
