"""The base class an adapter author subclasses, and its configuration.

::

    class MyAdapter(raxx_bridge.Adapter):
        def describe(self): ...
        def submit_order(self, order): ...       # Order -> OrderResult
        def cancel_order(self, broker_order_id): ...  # -> CancelResult
        def get_order(self, broker_order_id): ...     # -> OrderResult
        def get_positions(self): ...             # -> [Position]
        def get_account(self): ...               # -> Account
        # optional:
        def replace_order(self, broker_order_id, changes): ...  # Replace -> OrderResult
        def get_holdings(self): ...              # -> Holdings (Tier B: required)
        def start_order_updates(self, emit): ...  # push OrderResults with emit(...)
        def revoke(self): ...                    # -> bool (revoked at the vendor)

    raxx_bridge.run(MyAdapter)

Every method may raise :class:`raxx_bridge.AdapterError`; anything else it
raises is reported as ``unknown`` ("adapter bug") and logged with its
traceback. Methods may return the dataclasses or plain dicts of the
contract's JSON (a dict is checked as strictly as the Rust side checks it).
"""

import json
import os
import threading
from typing import Any, Dict, List, Mapping, Optional

from .errors import AdapterError
from .logs import log
from .types import Account, CancelResult, Description, Holdings, Order, OrderResult, Position, Replace
from .updates import Poller, WatchList

_lazy = threading.Lock()


class Config:
    """How the harness (or Raxx) started the adapter: ``RAXX_BROKER`` (the
    broker's slug), ``RAXX_BASE_URL`` (the broker's base URL in the vendor's
    own form) and ``RAXX_CREDENTIALS`` (a JSON object). Its ``repr`` never
    shows the credentials."""

    def __init__(self, broker, base_url, credentials=None):
        # type: (str, str, Optional[Mapping[str, Any]]) -> None
        self.broker = broker
        self.base_url = base_url
        self.credentials = dict(credentials or {})

    @classmethod
    def from_env(cls, environ=None):
        env = os.environ if environ is None else environ
        raw = env.get("RAXX_CREDENTIALS", "") or "{}"
        try:
            credentials = json.loads(raw)
        except ValueError:
            # Never quote it: a malformed value is still a secret.
            log("RAXX_CREDENTIALS is not valid JSON (%d characters); using no credentials", len(raw))
            credentials = {}
        if not isinstance(credentials, dict):
            log("RAXX_CREDENTIALS is not a JSON object; using no credentials")
            credentials = {}
        return cls(env.get("RAXX_BROKER", ""), env.get("RAXX_BASE_URL", ""), credentials)

    def credential(self, name, default=None):
        """One credential, e.g. ``config.credential("key_id")``."""
        return self.credentials.get(name, default)

    def __repr__(self):
        return "Config(broker=%r, base_url=%r, credentials=[redacted: %s])" % (
            self.broker,
            self.base_url,
            ", ".join(sorted(self.credentials)) or "none",
        )

    __str__ = __repr__


class Adapter:
    """Subclass this and implement the contract's methods.

    Class attributes to tune the helper:

    - ``poll_interval``: seconds. Set it to get order updates by polling
      ``get_order`` for every order submitted (or replaced) through the
      adapter, with no code of your own (see :class:`raxx_bridge.Poller`);
      ``None`` (the default) means no order updates unless you implement
      ``start_order_updates``.
    - ``poll_concurrently``: False (the default) holds :attr:`call_lock`
      around each poll, so polls never run while a request is handled
      (safe for adapters that are not thread-safe); True lets them overlap
      (then a slow poll never delays the harness's next request).
    - ``log_name``: the prefix of every log line (default: the class name).
    """

    poll_interval = None  # type: Optional[float]
    poll_concurrently = False
    log_name = None  # type: Optional[str]

    def __init__(self, config):
        # type: (Config) -> None
        self.config = config

    # -- the contract ------------------------------------------------------

    def describe(self):
        # type: () -> Description
        raise NotImplementedError("describe")

    def submit_order(self, order):
        # type: (Order) -> OrderResult
        raise NotImplementedError("submit_order")

    def cancel_order(self, broker_order_id):
        # type: (str) -> CancelResult
        raise NotImplementedError("cancel_order")

    def get_order(self, broker_order_id):
        # type: (str) -> OrderResult
        raise NotImplementedError("get_order")

    def get_positions(self):
        # type: () -> List[Position]
        raise NotImplementedError("get_positions")

    def get_account(self):
        # type: () -> Account
        raise NotImplementedError("get_account")

    def replace_order(self, broker_order_id, changes):
        # type: (str, Replace) -> OrderResult
        """Optional: replace a working order; answers the replacement."""
        raise AdapterError.unsupported("this adapter does not replace orders")

    def get_holdings(self):
        # type: () -> Holdings
        """The positions with when the broker's answer says they were taken
        (``as_of``, RFC 3339). Required of a Tier B adapter, whose holdings
        come through an aggregator's cache and may be old: the harness asks
        it instead of ``get_positions``. A broker read live says nothing of
        age; the harness never asks a Tier A adapter."""
        raise AdapterError.unsupported(
            "this adapter does not say how old its holdings are (get_holdings); a Tier B adapter must"
        )

    def revoke(self):
        # type: () -> bool
        """Optional: revoke the user's grant at the vendor, where the vendor
        has a way to (SnapTrade's ``DELETE /connection/{id}``, Plaid's
        ``/item/remove``), so that the connection reaches nothing there any
        more. Answers whether anything was revoked at the vendor; the default
        has no way to and answers False (the caller's token store then keeps
        the credential from being used)."""
        return False

    def start_order_updates(self, emit):
        """Optional: start pushing order updates. ``emit(order_result)`` (or
        ``emit(adapter_error)`` for a stream failure) is thread-safe and may
        be called from any thread, at any time, until shutdown; it passes on
        only progress (see :class:`raxx_bridge.OrderTracker`) and returns
        whether it did. Return once the updates are started.

        The default polls (when ``poll_interval`` is set)."""
        if not self.poll_interval:
            raise AdapterError.unsupported("this adapter has no order updates")
        self.start_polling(emit, self.poll_interval)

    def close(self):
        """Called once at shutdown (or when stdin closes): stop what you started."""
        poller = self.__dict__.get("_raxx_poller")
        if poller is not None:
            poller.stop(timeout=2.0)

    # -- helpers -----------------------------------------------------------

    @property
    def call_lock(self):
        """Held by the helper around every request it hands the adapter."""
        return self._lazy("_raxx_call_lock", threading.RLock)

    @property
    def submitted_orders(self):
        # type: () -> WatchList
        """Every order submitted or replaced through the adapter (filled in by
        the helper): what the poller follows. Add others with ``.add(id)``."""
        return self._lazy("_raxx_submitted", WatchList)

    def start_polling(self, emit, interval):
        """Starts a :class:`Poller` over ``get_order`` for :attr:`submitted_orders`."""
        poller = Poller(
            self.get_order,
            emit,
            interval=interval,
            watch=self.submitted_orders,
            call_lock=None if self.poll_concurrently else self.call_lock,
        )
        self.__dict__["_raxx_poller"] = poller
        return poller.start()

    def supports_replace(self):
        return _overrides(self, "replace_order")

    def supports_order_updates(self):
        return _overrides(self, "start_order_updates") or bool(self.poll_interval)

    def _lazy(self, name, make):
        value = self.__dict__.get(name)
        if value is None:
            with _lazy:
                value = self.__dict__.get(name)
                if value is None:
                    value = make()
                    self.__dict__[name] = value
        return value


def _overrides(adapter, name):
    """Whether ``adapter``'s class implements ``name`` itself (not Adapter's default)."""
    mine = getattr(type(adapter), name, None)
    return mine is not None and mine is not getattr(Adapter, name)
