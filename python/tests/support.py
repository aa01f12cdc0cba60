"""Shared test helpers. Importing this puts the repo's python/ directory on
sys.path, so `python3 -m unittest discover python/tests` needs no install."""

import io
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.normpath(os.path.join(HERE, os.pardir))
REPO = os.path.normpath(os.path.join(PYTHON_DIR, os.pardir))
if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)

import raxx_bridge  # noqa: E402
from raxx_bridge import logs  # noqa: E402


def order_json(cid="intent-1", **over):
    o = {
        "client_order_id": cid,
        "instrument": {"kind": "equity", "symbol": "AAPL"},
        "side": "buy",
        "position_effect": None,
        "quantity": "10",
        "order_type": "limit",
        "limit_price": "189.50",
        "stop_price": None,
        "time_in_force": "day",
        "legs": None,
    }
    o.update(over)
    return o


def result_json(oid="b-1", status="accepted", filled="0", remaining="10", avg=None, cid="intent-1", word=None):
    return {
        "broker_order_id": oid,
        "client_order_id": cid,
        "status": status,
        "filled_quantity": filled,
        "remaining_quantity": remaining,
        "average_fill_price": avg,
        "reject_reason": None,
        "broker_status": word or status,
    }


def request(rid, method, params=None):
    msg = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        msg["params"] = params
    return json.dumps(msg)


def run_lines(adapter, lines):
    """Feeds `lines` to a Server over in-memory streams; returns the parsed
    output lines (responses and notifications) and the server."""
    stdin = io.BytesIO("".join(l + "\n" for l in lines).encode())
    stdout = io.BytesIO()
    server = raxx_bridge.Server(adapter, stdin, stdout)
    server.serve()
    return [json.loads(l) for l in stdout.getvalue().decode().splitlines()], server


class CapturedLog(object):
    """Captures raxx_bridge.log() output for the duration of a `with`."""

    def __enter__(self):
        self.stream = io.StringIO()
        logs.set_stream(self.stream)
        return self

    def __exit__(self, *exc):
        logs.set_stream(None)

    @property
    def text(self):
        return self.stream.getvalue()


class SlowPipe(io.RawIOBase):
    """A binary stdout that takes each write a few bytes at a time, yielding
    between chunks, so an unserialized writer would interleave lines."""

    def __init__(self, chunk=7):
        self.chunk = chunk
        self.buf = bytearray()
        self.lock = threading.Lock()

    def writable(self):
        return True

    def write(self, data):
        data = bytes(data)
        for i in range(0, len(data), self.chunk):
            with self.lock:
                self.buf += data[i : i + self.chunk]
            # Give other threads the GIL between chunks.
            time.sleep(0)
        return len(data)

    def flush(self):
        pass

    def lines(self):
        with self.lock:
            return bytes(self.buf).decode().splitlines()


class BrokenPipe(io.RawIOBase):
    """A stdout whose reader has gone."""

    def __init__(self):
        self.writes = 0

    def writable(self):
        return True

    def write(self, data):
        self.writes += 1
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        pass
