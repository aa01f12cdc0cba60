#!/usr/bin/env python3
"""A deliberately bad bridge adapter: the reference Alpaca adapter, except
that a 429 is retried every 50 ms, ignoring the wait Alpaca asked for. The
rate-limit invariant must catch it over the bridge (the broker model records
every request that arrives inside a wait it asked for)."""

import importlib.util
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "..", "examples", "bridge", "alpaca_adapter.py")
spec = importlib.util.spec_from_file_location("alpaca_adapter", REFERENCE)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)


class Impatient(ref.Alpaca):
    def request(self, method, path, body=None, query=None):
        for _ in range(40):
            try:
                return super().request(method, path, body, query)
            except ref.HttpError as e:
                if e.status != 429:
                    raise
            except ref.AdapterError as e:
                if e.kind != "rate_limited":
                    raise
            # Ignores Retry-After / X-Ratelimit-Reset and the helper's throttle.
            self.throttle = ref.Throttle()
            time.sleep(0.05)
        return super().request(method, path, body, query)


ref.Alpaca = Impatient

if __name__ == "__main__":
    ref.raxx_bridge.run(ref.AlpacaAdapter)
