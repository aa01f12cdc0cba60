"""The adapter's log: stderr, which the bridge captures into the trace.

Everything written here goes through a redactor that removes the
credentials the adapter was started with (every string value of
RAXX_CREDENTIALS of 4 characters or more, as the Rust side does), so a
credential that slips into a message, an exception or a traceback never
reaches a trace. Do not rely on it: never log credentials in the first place.
"""

import sys
import threading

_lock = threading.Lock()
_secrets = []  # longest first
_prefix = ["raxx-adapter: "]
#: The stream log() writes to; None means sys.stderr at the time of writing.
_stream = [None]


def add_secrets(values):
    """Adds strings that must never be written anywhere (the credentials)."""
    with _lock:
        found = set(_secrets)
        for v in _walk(values):
            if len(v) >= 4:
                found.add(v)
        _secrets[:] = sorted(found, key=len, reverse=True)


def _walk(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            for s in _walk(v):
                yield s
    elif isinstance(value, (list, tuple)):
        for v in value:
            for s in _walk(v):
                yield s


def redact(text):
    # type: (str) -> str
    """``text`` with every known secret replaced by ``[redacted]``."""
    text = str(text)
    for s in list(_secrets):
        if s in text:
            text = text.replace(s, "[redacted]")
    return text


def set_prefix(prefix):
    """What every log line starts with (``"alpaca-adapter: "``)."""
    _prefix[0] = prefix


def set_stream(stream):
    """Where log() writes (tests); None for sys.stderr."""
    _stream[0] = stream


def log(message, *args):
    """Writes one line to stderr, redacted. ``log("submit %s: %s", cid, kind)``
    formats like ``%``. Never raises (a closed stderr loses the line)."""
    try:
        text = message % args if args else str(message)
    except (TypeError, ValueError):
        text = "%s %r" % (message, args)
    lines = redact(text).splitlines() or [""]
    out = "".join(_prefix[0] + line + "\n" for line in lines)
    stream = _stream[0] or sys.__stderr__ or sys.stderr
    try:
        with _lock:
            stream.write(out)
            stream.flush()
    except (OSError, ValueError, AttributeError):
        pass
