#!/usr/bin/env python3
"""Deliberately bad bridge adapters: the reference SnapTrade adapter with one
realistic bug, named on the command line (`snaptrade_with_bug.py drops_age`).
Each must be caught over the bridge by the case named, from ground truth
the harness holds in every mode (harness/tests/bridge_snaptrade.rs). The
first three are the in-process mutants of harness/src/mutants.rs written
in Python:

  outage_as_refusal  reports SnapTrade's outage, the brokerage's (503), or
                     any outcome it left unknown, as the broker refusing
                     the order (`rejected`)
                                 -> aggregator_outage_is_transitive
  broken_as_outage   reads a broken connection (402, code 3003) as a
                     passing sync failure (`unavailable`): the user is told
                     to wait, not to reconnect
                                 -> downstream_connection_broken_is_typed
  drops_age          drops data_freshness.as_of: cached holdings pass for
                     current     -> stale_holdings_report_their_age
  resends            after an ambiguous submit, never looks among
                     recentOrders and sends the order again (SnapTrade
                     takes a second copy)
                                 -> ambiguous_submit_never_duplicates
  leaky              prints the consumer key on stderr
                                 -> no secret in a trace, log or error
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "..", "examples", "bridge", "snaptrade_adapter.py")
spec = importlib.util.spec_from_file_location("snaptrade_adapter", REFERENCE)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

BUGS = {}


def bug(fn):
    BUGS[fn.__name__] = fn
    return fn


@bug
def outage_as_refusal():
    plain_submit = ref.SnapTradeAdapter.submit_order

    def submit_order(self, order):
        try:
            return plain_submit(self, order)
        except ref.AdapterError as e:
            if e.kind.value not in ("unavailable", "timeout"):
                raise
            # "The order did not go through": an outage, or an outcome
            # nobody knows yet, told to the caller as a refusal.
            raise ref.AdapterError.rejected("SnapTrade refused the order: %s" % e.message, broker_code=e.broker_code)

    ref.SnapTradeAdapter.submit_order = submit_order


@bug
def broken_as_outage():
    plain_classify = ref.classify

    def classify(resp, call, brokerage):
        e = plain_classify(resp, call, brokerage)
        if resp.status == 402:
            # "Unable to sync with brokerage account": read as a sync
            # hiccup that passes, not a connection only the user can repair.
            return ref.AdapterError.unavailable(e.message, broker_code=e.broker_code)
        return e

    ref.classify = classify


@bug
def drops_age():
    plain_holdings = ref.SnapTradeAdapter.get_holdings

    def get_holdings(self):
        h = plain_holdings(self)
        # "The user's plan is real-time": the age is never passed on.
        h.as_of = None
        return h

    ref.SnapTradeAdapter.get_holdings = get_holdings


@bug
def resends():
    def reconciled(self, body, spec, cid, first_sent):
        # "It failed, so send it again": no lookup among recentOrders.
        try:
            return self.place_once(body, spec, cid, first_sent)
        except ref.AdapterError as e:
            if e.kind.value not in ("timeout", "unavailable"):
                raise
            ref.log("submit %s: %s; sending it again", cid, e.kind.value)
            return self.place_once(body, spec, cid, first_sent)

    ref.SnapTradeAdapter.reconciled = reconciled


@bug
def leaky():
    plain_submit = ref.SnapTradeAdapter.submit_order

    def submit_order(self, order):
        # Straight to stderr (the helper's log() would have redacted it).
        key = self.api._consumer_key
        print("signing %s with %s" % (order.client_order_id, key), file=sys.stderr, flush=True)
        return plain_submit(self, order)

    ref.SnapTradeAdapter.submit_order = submit_order


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in BUGS:
        sys.exit("usage: snaptrade_with_bug.py {%s}" % "|".join(BUGS))
    BUGS[sys.argv[1]]()
    ref.raxx_bridge.run(ref.SnapTradeAdapter)
