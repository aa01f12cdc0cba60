"""The contract's errors: every failure carries a ``kind`` the harness (and
Raxx) can act on, a message, and the vendor's own code where it has one.

Over the bridge an error travels as a JSON-RPC error with code -32000 and
``data: {kind, retry_after_ms?, broker_code?}`` (DESIGN.md, "The process
bridge"). Raise :class:`AdapterError` from an adapter method and the helper
writes exactly that.
"""

from enum import Enum
from typing import Any, Dict, Optional

#: The JSON-RPC error code the contract reserves for adapter errors.
ADAPTER_ERROR = -32000
#: JSON-RPC's own codes, used by the helper's loop.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601

#: Largest value of a Rust u64 (retry_after_ms is one on the Rust side).
_U64_MAX = (1 << 64) - 1


class ErrorKind(str, Enum):
    """The contract's error kinds (the Rust side's ``ErrorKind``)."""

    UNAVAILABLE = "unavailable"  # broker down or 5xx; nothing is known to have happened
    TIMEOUT = "timeout"  # no answer in time: the request may or may not have taken effect
    RATE_LIMITED = "rate_limited"  # throttled; retry_after_ms says when to try again
    AUTH_EXPIRED = "auth_expired"  # the access token expired; a refresh may fix it
    REAUTH_REQUIRED = "reauth_required"  # only a new authorization by the user fixes it
    REJECTED = "rejected"  # the broker refused the order
    NOT_FOUND = "not_found"
    TOO_LATE_TO_CANCEL = "too_late_to_cancel"  # the order is already terminal
    READ_ONLY = "read_only"  # a read-only (Tier C) connection was asked to trade
    UNSUPPORTED = "unsupported"  # the adapter or broker does not support this
    INVALID_REQUEST = "invalid_request"  # the request itself is malformed
    KILL_SWITCH = "kill_switch"  # a kill switch refuses live orders
    UNKNOWN = "unknown"  # anything else

    def __str__(self):
        return self.value

    @property
    def is_transient(self):
        """Whether the same request may succeed if sent again later."""
        return self in (ErrorKind.UNAVAILABLE, ErrorKind.TIMEOUT, ErrorKind.RATE_LIMITED)


class AdapterError(Exception):
    """A typed failure of an adapter call.

    ``AdapterError("rejected", "insufficient buying power", broker_code="40310000")``
    or, shorter, ``AdapterError.rejected("insufficient buying power", broker_code=...)``.
    A ``rate_limited`` error must say how long to wait (``retry_after_ms``):
    the harness waits exactly that long before it sends again.
    """

    def __init__(self, kind, message, retry_after_ms=None, broker_code=None):
        # type: (Any, str, Optional[int], Optional[Any]) -> None
        try:
            kind = ErrorKind(kind)
        except ValueError:
            raise ValueError(
                "unknown error kind %r; the contract's kinds are %s"
                % (kind, ", ".join(k.value for k in ErrorKind))
            ) from None
        if retry_after_ms is not None:
            if isinstance(retry_after_ms, bool) or not isinstance(retry_after_ms, (int, float)):
                raise TypeError("retry_after_ms must be a number of milliseconds, got %r" % (retry_after_ms,))
            retry_after_ms = min(max(int(retry_after_ms), 0), _U64_MAX)
        if kind is ErrorKind.RATE_LIMITED and retry_after_ms is None:
            raise ValueError("a rate_limited error must carry retry_after_ms (how long the caller waits)")
        message = str(message)
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after_ms = retry_after_ms
        self.broker_code = None if broker_code is None else str(broker_code)

    def __repr__(self):
        extra = ""
        if self.retry_after_ms is not None:
            extra += ", retry_after_ms=%d" % self.retry_after_ms
        if self.broker_code is not None:
            extra += ", broker_code=%r" % self.broker_code
        return "AdapterError(%r, %r%s)" % (self.kind.value, self.message, extra)

    def __str__(self):
        return "%s: %s" % (self.kind.value, self.message)

    @property
    def is_transient(self):
        return self.kind.is_transient

    def data(self):
        # type: () -> Dict[str, Any]
        """The JSON-RPC error's ``data``: ``{kind, retry_after_ms?, broker_code?}``."""
        d = {"kind": self.kind.value}  # type: Dict[str, Any]
        if self.retry_after_ms is not None:
            d["retry_after_ms"] = self.retry_after_ms
        if self.broker_code is not None:
            d["broker_code"] = self.broker_code
        return d

    def rpc_error(self):
        # type: () -> Dict[str, Any]
        """The JSON-RPC error object."""
        return {"code": ADAPTER_ERROR, "message": self.message, "data": self.data()}

    @classmethod
    def from_rpc_error(cls, err):
        # type: (Dict[str, Any]) -> AdapterError
        """The inverse of :meth:`rpc_error` (as the Rust side reads it): any
        code but -32000, or -32000 without a valid ``data.kind``, is ``unknown``."""
        if not isinstance(err, dict):
            return cls(ErrorKind.UNKNOWN, "malformed error object: %r" % (err,))
        message = err.get("message") if isinstance(err.get("message"), str) else ""
        code = err.get("code")
        data = err.get("data")
        if code == ADAPTER_ERROR:
            if isinstance(data, dict):
                try:
                    return cls(
                        data.get("kind"),
                        message,
                        retry_after_ms=data.get("retry_after_ms"),
                        broker_code=data.get("broker_code"),
                    )
                except (TypeError, ValueError):
                    pass
            return cls(ErrorKind.UNKNOWN, "adapter error without a valid data.kind: %s" % message)
        return cls(ErrorKind.UNKNOWN, "adapter error %s: %s" % (code, message))

    # One helper per kind, so call sites read as the contract does.
    @classmethod
    def unavailable(cls, message, broker_code=None):
        return cls(ErrorKind.UNAVAILABLE, message, broker_code=broker_code)

    @classmethod
    def timeout(cls, message, broker_code=None):
        return cls(ErrorKind.TIMEOUT, message, broker_code=broker_code)

    @classmethod
    def rate_limited(cls, message, retry_after_ms, broker_code=None):
        return cls(ErrorKind.RATE_LIMITED, message, retry_after_ms=retry_after_ms, broker_code=broker_code)

    @classmethod
    def auth_expired(cls, message, broker_code=None):
        return cls(ErrorKind.AUTH_EXPIRED, message, broker_code=broker_code)

    @classmethod
    def reauth_required(cls, message, broker_code=None):
        return cls(ErrorKind.REAUTH_REQUIRED, message, broker_code=broker_code)

    @classmethod
    def rejected(cls, message, broker_code=None):
        return cls(ErrorKind.REJECTED, message, broker_code=broker_code)

    @classmethod
    def not_found(cls, message, broker_code=None):
        return cls(ErrorKind.NOT_FOUND, message, broker_code=broker_code)

    @classmethod
    def too_late_to_cancel(cls, message, broker_code=None):
        return cls(ErrorKind.TOO_LATE_TO_CANCEL, message, broker_code=broker_code)

    @classmethod
    def read_only(cls, message, broker_code=None):
        return cls(ErrorKind.READ_ONLY, message, broker_code=broker_code)

    @classmethod
    def unsupported(cls, message, broker_code=None):
        return cls(ErrorKind.UNSUPPORTED, message, broker_code=broker_code)

    @classmethod
    def invalid_request(cls, message, broker_code=None):
        return cls(ErrorKind.INVALID_REQUEST, message, broker_code=broker_code)

    @classmethod
    def kill_switch(cls, message, broker_code=None):
        return cls(ErrorKind.KILL_SWITCH, message, broker_code=broker_code)

    @classmethod
    def unknown(cls, message, broker_code=None):
        return cls(ErrorKind.UNKNOWN, message, broker_code=broker_code)
