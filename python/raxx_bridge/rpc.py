"""The JSON-RPC 2.0 loop of the process bridge.

One JSON object per line: requests on stdin, one response line per request
on stdout, flushed. Order-update notifications (protocol 2, after
``subscribe_order_updates``) are written on stdout between responses, from
any thread; one lock serializes every write, so a notification never lands
inside a response line.

- a line that is not JSON (or not UTF-8) → -32700, id null;
- a JSON value that is not a request object → -32600, id null;
- an unknown method → -32601;
- an :class:`AdapterError` → -32000 with ``data: {kind, retry_after_ms?, broker_code?}``;
- params that do not have the contract's shape → -32000 ``invalid_request``;
- any other exception in the adapter → -32000 ``unknown`` ("adapter bug"),
  with the traceback in the log;
- ``shutdown`` → ``{}``, then the loop ends (so does end of input);
- a broken pipe on stdout (the harness is gone) ends the loop quietly.

Every message written (responses, errors, log lines) has the credentials
removed (see raxx_bridge.logs).
"""

import io
import json
import os
import sys
import threading
import traceback
from typing import Any, Callable, Dict, Optional

from . import logs as _log
from .adapter import Adapter, Config
from .errors import ADAPTER_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, AdapterError, ErrorKind
from .logs import log
from .types import (
    Account,
    CancelResult,
    ContractError,
    Description,
    Holdings,
    Order,
    OrderResult,
    Position,
    Replace,
    positions_to_json,
)
from .updates import OrderTracker

#: The newest bridge protocol this helper speaks. 1: the methods of
#: DESIGN.md; 2: adds replace_order and order-update notifications.
PROTOCOL = 2


class Output:
    """stdout for the bridge: whole lines, flushed, one writer at a time.
    After a broken pipe (or :meth:`close`) every write is dropped."""

    def __init__(self, stream):
        self._stream = stream
        self._text = isinstance(stream, io.TextIOBase)
        self._lock = threading.Lock()
        self.closed = False

    def write(self, obj):
        # type: (Dict[str, Any]) -> bool
        line = json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=False) + "\n"
        with self._lock:
            if self.closed:
                return False
            try:
                self._stream.write(line if self._text else line.encode("ascii"))
                self._stream.flush()
                return True
            except (OSError, ValueError):
                # BrokenPipeError (the harness closed our stdout) or a closed
                # file: nobody is listening any more.
                self.closed = True
                return False

    def close(self):
        with self._lock:
            self.closed = True


class Emitter:
    """The ``emit`` callable handed to ``start_order_updates``: thread-safe.

    ``emit(order_result)`` writes an ``order_update`` notification when the
    result is progress for its order (the tracker decides, atomically with
    the write, so two threads cannot put an older state after a newer one
    on the wire); ``emit(adapter_error)`` writes an ``order_update_error``.
    Returns whether a notification was written (or queued). Until the
    ``subscribe_order_updates`` response is out, notifications are held and
    then written right after it."""

    def __init__(self, output, tracker=None):
        self._output = output
        self.tracker = tracker if tracker is not None else OrderTracker()
        self._lock = threading.Lock()
        self._held = []  # type: list
        self._ready = False
        self._dead = False

    def __call__(self, update):
        if isinstance(update, BaseException):
            payload = {"jsonrpc": "2.0", "method": "order_update_error", "params": _error_params(update)}
            with self._lock:
                return self._send(payload)
        if isinstance(update, dict):
            update = OrderResult.from_json(update)
        if not isinstance(update, OrderResult):
            raise TypeError("emit takes an OrderResult (or an AdapterError), got %s" % type(update).__name__)
        payload = {"jsonrpc": "2.0", "method": "order_update", "params": {"order": update.to_json()}}
        with self._lock:
            if self._dead or not self.tracker.offer(update):
                return False
            return self._send(payload)

    def _send(self, payload):
        if self._dead:
            return False
        if not self._ready:
            self._held.append(payload)
            return True
        return self._output.write(payload)

    def release(self):
        """The subscribe response is out: write what was held, then write through."""
        with self._lock:
            held, self._held = self._held, []
            self._ready = True
            for payload in held:
                self._output.write(payload)

    def kill(self):
        """No more notifications (shutdown, or the subscription failed)."""
        with self._lock:
            self._dead = True
            self._held = []


def _error_params(e):
    if isinstance(e, AdapterError):
        return {"kind": e.kind.value, "message": _log.redact(e.message)}
    return {"kind": ErrorKind.UNKNOWN.value, "message": _log.redact("order updates failed: %s" % type(e).__name__)}


class _BadParams(Exception):
    pass


class _BadResult(Exception):
    pass


def _coerce(cls, value, method):
    if isinstance(value, cls):
        return value
    if isinstance(value, dict):
        try:
            return cls.from_json(value)
        except ContractError as e:
            raise _BadResult("adapter answered %s with a malformed result: %s" % (method, e))
    raise _BadResult(
        "adapter answered %s with %s, not %s" % (method, type(value).__name__, cls.__name__)
    )


def _param(params, name, decode):
    if name not in params:
        raise _BadParams("missing %s" % name)
    try:
        return decode(params[name])
    except (ContractError, TypeError) as e:
        raise _BadParams(str(e))


def _string(value):
    if not isinstance(value, str):
        raise ContractError("must be a string, got %s" % type(value).__name__)
    return value


class Server:
    """Drives one adapter over one pair of streams. ``serve()`` runs the
    loop until ``shutdown`` or end of input and returns the exit status."""

    def __init__(self, adapter, stdin, stdout):
        self.adapter = adapter
        self.stdin = stdin
        self.out = Output(stdout)
        self.protocol = 1
        self.emitter = None  # type: Optional[Emitter]
        self.stopping = False
        self._methods = {
            "describe": self._describe,
            "submit_order": self._submit_order,
            "cancel_order": self._cancel_order,
            "get_order": self._get_order,
            "get_positions": self._get_positions,
            "get_holdings": self._get_holdings,
            "get_account": self._get_account,
            "replace_order": self._replace_order,
            "subscribe_order_updates": self._subscribe,
            "revoke": self._revoke,
            "shutdown": self._shutdown,
        }  # type: Dict[str, Callable[[Dict[str, Any]], Any]]

    # -- the loop ------------------------------------------------------------

    def serve(self):
        try:
            while not self.stopping and not self.out.closed:
                try:
                    line = self.stdin.readline()
                except (OSError, ValueError):
                    break
                if not line:
                    break  # end of input: the harness is gone or done
                self.handle_line(line)
        finally:
            self.close()
        return 0

    def close(self):
        if self.emitter is not None:
            self.emitter.kill()
        try:
            close = getattr(self.adapter, "close", None)
            if close is not None:
                close()
        except Exception as e:
            log("close failed: %s: %s", type(e).__name__, e)

    def handle_line(self, line):
        """Handles one input line; returns the response written (or None)."""
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                return self._reply(None, error={"code": PARSE_ERROR, "message": "parse error: not UTF-8"})
        line = line.strip()
        if not line:
            return None
        try:
            req = json.loads(line)
        except ValueError as e:
            return self._reply(None, error={"code": PARSE_ERROR, "message": "parse error: %s" % e})
        if not isinstance(req, dict):
            return self._reply(None, error={"code": INVALID_REQUEST, "message": "invalid request: not an object"})
        has_id = "id" in req
        rid = req.get("id")
        if rid is not None and (isinstance(rid, bool) or not isinstance(rid, (int, str))):
            return self._reply(None, error={"code": INVALID_REQUEST, "message": "invalid request: bad id"})
        method = req.get("method")
        if req.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return self._reply(rid, error={"code": INVALID_REQUEST, "message": "invalid request"})
        params = req.get("params")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return self._reply(rid, error=AdapterError.invalid_request("params must be an object").rpc_error())
        handler = self._methods.get(method)
        if handler is None:
            if not has_id:
                return None
            return self._reply(rid, error={"code": METHOD_NOT_FOUND, "message": "method not found: %s" % method})
        after = None
        try:
            result = handler(params)
            if isinstance(result, tuple):
                result, after = result
        except _BadParams as e:
            error = AdapterError.invalid_request("%s: bad params: %s" % (method, e)).rpc_error()
            return self._reply(rid, error=error, notify=has_id)
        except AdapterError as e:
            log("%s -> %s: %s", method, e.kind.value, e.message)
            return self._reply(rid, error=e.rpc_error(), notify=has_id)
        except _BadResult as e:
            log("%s: %s", method, e)
            return self._reply(rid, error=AdapterError.unknown(str(e)).rpc_error(), notify=has_id)
        except Exception as e:
            log("%s failed:\n%s", method, traceback.format_exc().rstrip())
            error = AdapterError.unknown("adapter bug in %s: %s: %s" % (method, type(e).__name__, e))
            return self._reply(rid, error=error.rpc_error(), notify=has_id)
        written = self._reply(rid, result=result, notify=has_id)
        if after is not None:
            after()
        return written

    def _reply(self, rid, result=None, error=None, notify=True):
        if not notify:
            return None
        msg = {"jsonrpc": "2.0", "id": rid}  # type: Dict[str, Any]
        if error is not None:
            error = dict(error)
            error["message"] = _log.redact(error.get("message", ""))
            msg["error"] = error
        else:
            msg["result"] = result
        try:
            self.out.write(msg)
        except (TypeError, ValueError) as e:  # a result json cannot write
            log("cannot write the answer to request %r: %s", rid, e)
            msg = {
                "jsonrpc": "2.0",
                "id": rid,
                "error": AdapterError.unknown("adapter answered with a value JSON cannot carry: %s" % e).rpc_error(),
            }
            self.out.write(msg)
        return msg

    # -- the methods -----------------------------------------------------------

    def _call(self, name, *args):
        lock = getattr(self.adapter, "call_lock", None)
        fn = getattr(self.adapter, name)
        if lock is None:
            return fn(*args)
        with lock:
            return fn(*args)

    def _claims_brackets(self):
        d = _coerce(Description, self._call("describe"), "describe")
        return d.capabilities.brackets

    def _supports(self, what):
        fn = getattr(self.adapter, what, None)
        return bool(fn()) if fn is not None else False

    def _describe(self, params):
        protocol = params.get("protocol", 1)
        if isinstance(protocol, bool) or not isinstance(protocol, int) or protocol < 1:
            raise _BadParams("protocol must be a positive integer")
        self.protocol = min(protocol, PROTOCOL)
        d = _coerce(Description, self._call("describe"), "describe")
        caps = d.capabilities
        replace = self._supports("supports_replace")
        updates = self._supports("supports_order_updates")
        if caps.replace and not replace:
            log("describe says replace, but the adapter has no replace_order: reporting replace=false")
        if caps.streaming and not updates:
            log("describe says streaming, but the adapter has no order updates: reporting streaming=false")
        # The harness calls replace_order and subscribe_order_updates only
        # from protocol 2 on; an older harness must not be told it can.
        caps.replace = replace and self.protocol >= 2
        caps.streaming = updates and self.protocol >= 2
        return d.to_json()

    def _track(self, result):
        watch = getattr(self.adapter, "submitted_orders", None)
        if watch is not None:
            watch.add(result.broker_order_id)

    def _submit_order(self, params):
        order = _param(params, "order", Order.from_json)
        if order.exits is not None and not self._claims_brackets():
            # Sent on as a bare entry, the order would lose its protection.
            raise AdapterError.invalid_request("this adapter places no exits (brackets); the entry is not sent without them")
        result = _coerce(OrderResult, self._call("submit_order", order), "submit_order")
        self._track(result)
        return result.to_json()

    def _cancel_order(self, params):
        oid = _param(params, "broker_order_id", _string)
        return _coerce(CancelResult, self._call("cancel_order", oid), "cancel_order").to_json()

    def _get_order(self, params):
        oid = _param(params, "broker_order_id", _string)
        return _coerce(OrderResult, self._call("get_order", oid), "get_order").to_json()

    def _get_positions(self, params):
        rows = self._call("get_positions")
        if isinstance(rows, dict) and set(rows) == {"positions"}:
            rows = rows["positions"]
        if not isinstance(rows, (list, tuple)):
            raise _BadResult("adapter answered get_positions with %s, not a list" % type(rows).__name__)
        return positions_to_json([_coerce(Position, p, "get_positions") for p in rows])

    def _get_holdings(self, params):
        return _coerce(Holdings, self._call("get_holdings"), "get_holdings").to_json()

    def _revoke(self, params):
        revoked = self._call("revoke")
        if not isinstance(revoked, bool):
            raise AdapterError.unknown("revoke must answer True or False, not %r" % (revoked,))
        return {"revoked": revoked}

    def _get_account(self, params):
        return _coerce(Account, self._call("get_account"), "get_account").to_json()

    def _replace_order(self, params):
        oid = _param(params, "broker_order_id", _string)
        changes = _param(params, "changes", Replace.from_json)
        if changes.is_empty():
            raise AdapterError.invalid_request("a replace must change at least one field")
        if not self._supports("supports_replace"):
            raise AdapterError.unsupported("this adapter does not replace orders")
        result = _coerce(OrderResult, self._call("replace_order", oid, changes), "replace_order")
        self._track(result)
        return result.to_json()

    def _subscribe(self, params):
        if self.emitter is not None:
            return {}
        if not self._supports("supports_order_updates"):
            raise AdapterError.unsupported("this adapter has no order updates")
        emitter = Emitter(self.out)
        try:
            self._call("start_order_updates", emitter)
        except BaseException:
            emitter.kill()
            raise
        self.emitter = emitter
        return {}, emitter.release

    def _shutdown(self, params):
        self.stopping = True

        def after():
            if self.emitter is not None:
                self.emitter.kill()
            log("shutting down")

        return {}, after


class _NotStarted(Adapter):
    """Stands in for an adapter whose constructor failed: every call says why,
    so the harness reports the cause instead of a dead process."""

    def __init__(self, why):
        self.why = why

    def _fail(self, *args):
        raise AdapterError.unknown("the adapter failed to start: %s" % self.why)

    describe = submit_order = cancel_order = get_order = get_positions = get_holdings = get_account = _fail


def _rpc_streams():
    """The real stdin and stdout for the RPC, with file descriptor 1 then
    pointed at stderr: a stray print() (or a library writing to stdout)
    lands in the log instead of breaking the protocol."""
    stdin = sys.stdin.buffer
    try:
        sys.stdout.flush()
        rpc_fd = os.dup(1)
        os.dup2(2, 1)
        stdout = os.fdopen(rpc_fd, "wb")
    except (OSError, AttributeError, ValueError):
        return stdin, sys.stdout.buffer
    sys.stdout = sys.stderr
    return stdin, stdout


def run(adapter_class, environ=None, stdin=None, stdout=None, exit=True):
    """Builds the adapter from the environment (RAXX_BROKER, RAXX_BASE_URL,
    RAXX_CREDENTIALS) and answers the bridge until shutdown. With the real
    stdio (the default) the process then exits; with given streams (tests)
    it returns the exit status."""
    config = Config.from_env(environ)
    _log.add_secrets(config.credentials)
    name = getattr(adapter_class, "log_name", None) or adapter_class.__name__
    _log.set_prefix(name if name.endswith(": ") else name + ": ")
    if stdin is None or stdout is None:
        real_in, real_out = _rpc_streams()
        stdin = stdin if stdin is not None else real_in
        stdout = stdout if stdout is not None else real_out
    log("starting for broker %s at %s", config.broker or "?", config.base_url or "?")
    try:
        adapter = adapter_class(config)
    except Exception as e:
        log("the adapter failed to start:\n%s", traceback.format_exc().rstrip())
        adapter = _NotStarted("%s: %s" % (type(e).__name__, e))
    code = Server(adapter, stdin, stdout).serve()
    if exit:
        sys.exit(code)
    return code
