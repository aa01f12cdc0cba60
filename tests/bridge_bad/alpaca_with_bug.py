#!/usr/bin/env python3
"""Deliberately bad bridge adapters: the reference Alpaca adapter with one
realistic bug, named on the command line (`alpaca_with_bug.py impatient`).
Each invariant (or the case named) must catch its bug over the bridge, from
ground truth the harness holds in every mode (harness/tests/bridge_suite.rs):

  impatient        retries a 429 every 50 ms, ignoring the wait Alpaca asked
                   for                        -> documented rate limits respected
  leaky            prints its API key on stderr -> no secret in a trace, log or error
  resubmits        after an ambiguous submit, never looks the intent up and
                   sends the order again under a fresh client order id
                                              -> one broker order per client intent
  unsigned_shorts  reports short positions as long (drops the sign)
                                              -> adapter positions equal the ledger's
  short_ids        cuts client ids to 48 characters (Alpaca's old limit)
                                              -> unusual_client_ids_reconcile
"""

import dataclasses
import importlib.util
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "..", "examples", "bridge", "alpaca_adapter.py")
spec = importlib.util.spec_from_file_location("alpaca_adapter", REFERENCE)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

BUGS = {}


def bug(fn):
    BUGS[fn.__name__] = fn
    return fn


@bug
def impatient():
    plain_request = ref.Alpaca.request

    def request(self, method, path, body=None, query=None):
        for _ in range(40):
            try:
                return plain_request(self, method, path, body, query)
            except ref.HttpError as e:
                if e.status != 429:
                    raise
            except ref.AdapterError as e:
                if e.kind.value != "rate_limited":
                    raise
            # Ignores Retry-After / X-Ratelimit-Reset and the helper's throttle.
            self.throttle = ref.Throttle()
            time.sleep(0.05)
        return plain_request(self, method, path, body, query)

    ref.Alpaca.request = request


@bug
def leaky():
    plain_submit = ref.AlpacaAdapter.submit_order

    def submit_order(self, order):
        # Straight to stderr (the helper's log() would have redacted it).
        key = self.api._headers["APCA-API-KEY-ID"]
        print("submitting %s with key %s" % (order.client_order_id, key), file=sys.stderr, flush=True)
        return plain_submit(self, order)

    ref.AlpacaAdapter.submit_order = submit_order


@bug
def resubmits():
    plain_submit = ref.AlpacaAdapter.submit_order
    # Never looks an intent up after an ambiguous answer...
    ref.AlpacaAdapter.lookup = lambda self, client_order_id: None

    def submit_order(self, order):
        try:
            return plain_submit(self, order)
        except ref.AdapterError:
            # ...and "it failed, so send it again", under a new id, so
            # Alpaca's duplicate check cannot save it.
            again = dataclasses.replace(order, client_order_id=order.client_order_id + "-again")
            return plain_submit(self, again)

    ref.AlpacaAdapter.submit_order = submit_order


@bug
def short_ids():
    plain_submit = ref.AlpacaAdapter.submit_order

    def submit_order(self, order):
        # Alpaca's old docs said client_order_id holds 48 characters: cut
        # to fit, the caller's id is lost, and the order is reconciled and
        # reported under another one.
        return plain_submit(self, dataclasses.replace(order, client_order_id=order.client_order_id[:48]))

    ref.AlpacaAdapter.submit_order = submit_order


@bug
def unsigned_shorts():
    plain_positions = ref.AlpacaAdapter.get_positions

    def get_positions(self):
        positions = plain_positions(self)
        for p in positions:
            p.quantity = abs(p.quantity)
        return positions

    ref.AlpacaAdapter.get_positions = get_positions


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in BUGS:
        sys.exit("usage: alpaca_with_bug.py {%s}" % "|".join(BUGS))
    BUGS[sys.argv[1]]()
    ref.raxx_bridge.run(ref.AlpacaAdapter)
