"""The adapter contract's shapes (DESIGN.md, "The adapter contract") as
dataclasses, with their exact JSON.

- Amounts and quantities are :class:`decimal.Decimal`, written as decimal
  strings (``"189.50"``): never floats. A float given where a decimal is
  expected is refused (``TypeError``), so binary rounding cannot reach a price.
- ``from_json`` refuses unknown fields wherever the Rust side does
  (``deny_unknown_fields``: orders, legs, replace changes, every result);
  an instrument, like the Rust side's, ignores fields it does not know.
- ``to_json`` writes exactly the contract's fields, ``null`` for an absent
  optional value (``Replace`` leaves unchanged fields out).
- The word types (:class:`Side`, :class:`OrderStatus`, …) are ``str`` enums:
  ``OrderStatus.FILLED == "filled"`` and ``str(Side.BUY) == "buy"``, and a
  constructor takes either form.

Decoding errors raise :class:`ContractError` (a ``ValueError``) naming the
offending field.
"""

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Dict, List, Optional, Tuple

__all__ = [
    "ContractError",
    "Side",
    "PositionEffect",
    "OrderType",
    "TimeInForce",
    "OrderStatus",
    "CancelStatus",
    "Tier",
    "Instrument",
    "Leg",
    "Order",
    "Replace",
    "OrderResult",
    "CancelResult",
    "Position",
    "Account",
    "Capabilities",
    "Description",
    "dec",
    "wire_decimal",
    "parse_occ",
    "format_occ",
    "STAGE",
]


class ContractError(ValueError):
    """A value that does not have the contract's shape."""


# ---------------------------------------------------------------------------
# Words


class _Word(str, Enum):
    """A contract word: a ``str`` whose ``str()`` is the word itself."""

    def __str__(self):
        return self.value

    @classmethod
    def of(cls, value, what=None):
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            raise ContractError(
                "%s must be one of %s, got %r"
                % (what or cls.__name__, ", ".join(repr(w.value) for w in cls), value)
            ) from None


class Side(_Word):
    BUY = "buy"
    SELL = "sell"


class PositionEffect(_Word):
    OPEN = "open"
    CLOSE = "close"


class OrderType(_Word):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(_Word):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(_Word):
    PENDING = "pending"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    PENDING_CANCEL = "pending_cancel"
    REPLACED = "replaced"

    @property
    def is_terminal(self):
        """No further transition is possible from a terminal status."""
        return STAGE[self] == 3

    @property
    def stage(self):
        """pending 0 < accepted, partially_filled 1 < pending_cancel 2 < terminal 3."""
        return STAGE[self]


#: How far along its life a status is; with the filled quantity, the order
#: of progress the update tracker keeps (see raxx_bridge.updates).
STAGE = {
    OrderStatus.PENDING: 0,
    OrderStatus.ACCEPTED: 1,
    OrderStatus.PARTIALLY_FILLED: 1,
    OrderStatus.PENDING_CANCEL: 2,
    OrderStatus.FILLED: 3,
    OrderStatus.CANCELED: 3,
    OrderStatus.REJECTED: 3,
    OrderStatus.EXPIRED: 3,
    OrderStatus.REPLACED: 3,
}


class CancelStatus(_Word):
    CANCELED = "canceled"
    PENDING_CANCEL = "pending_cancel"


class Tier(_Word):
    A = "A"  # direct
    B = "B"  # through an aggregator
    C = "C"  # read-only


# ---------------------------------------------------------------------------
# Decimals

_DECIMAL_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
#: What rust_decimal can hold: a 96-bit coefficient and at most 28 places.
_MAX_COEFFICIENT = 1 << 96
_MAX_SCALE = 28


def dec(value, what="value"):
    # type: (Any, str) -> Decimal
    """A contract decimal from a ``Decimal``, an ``int`` or a decimal string.

    Floats are refused: ``dec(0.1)`` would carry binary rounding into a
    price. Strings must be plain decimals (``"189.50"``, ``"-3"``): no
    exponent, no ``NaN``, no spaces, which is what the Rust side writes.
    """
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, bool):
        raise ContractError("%s must be a decimal, got a boolean" % what)
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str):
        if not _DECIMAL_TEXT.match(value):
            raise ContractError("%s must be a decimal string such as \"189.50\", got %r" % (what, value))
        try:
            d = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern rules it out
            raise ContractError("%s: %r is not a decimal" % (what, value)) from None
    elif isinstance(value, float):
        raise TypeError(
            "%s: floats are never money; pass a Decimal or a decimal string, got %r" % (what, value)
        )
    else:
        raise ContractError("%s must be a decimal string, got %s" % (what, type(value).__name__))
    if not d.is_finite():
        raise ContractError("%s must be finite, got %s" % (what, d))
    _fits_rust(d, what)
    return d


def _fits_rust(d, what):
    sign, digits, exponent = d.as_tuple()
    coefficient = int("".join(map(str, digits)) or "0")
    if exponent < 0:
        scale = -exponent
    else:
        scale = 0
        coefficient *= 10 ** exponent
    if scale > _MAX_SCALE:
        raise ContractError("%s = %s has more than %d decimal places" % (what, d, _MAX_SCALE))
    if coefficient >= _MAX_COEFFICIENT:
        raise ContractError("%s = %s is too large for the contract's decimals" % (what, d))


def wire_decimal(d, what="value"):
    # type: (Any, str) -> str
    """A decimal as the contract writes it: a plain string, its scale kept
    (``Decimal("189.50")`` → ``"189.50"``), never an exponent, never ``-0``."""
    d = dec(d, what)
    if d == 0 and d.is_signed():
        d = d.copy_abs()
    return format(d, "f")


def _jdec(value, what):
    """A decimal read from JSON: the contract writes decimals as strings only."""
    if not isinstance(value, str):
        raise ContractError("%s must be a decimal string such as \"189.50\", got %s" % (what, json_type(value)))
    return dec(value, what)


def _opt_jdec(value, what):
    return None if value is None else _jdec(value, what)


def json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "the number %r" % (value,)
    return type(value).__name__


def _opt_dec(value, what):
    return None if value is None else dec(value, what)


def _opt_wire(value, what):
    return None if value is None else wire_decimal(value, what)


# ---------------------------------------------------------------------------
# OCC option symbols

_OCC_ROOT = re.compile(r"^[A-Z0-9]{1,6}$")


def parse_occ(symbol):
    # type: (str) -> Tuple[str, datetime.date, str, Decimal]
    """``"AAPL  251219C00200000"`` (or the compact ``"AAPL251219C00200000"``)
    → ``("AAPL", date(2025, 12, 19), "C", Decimal("200"))``, by the same
    rules as the Rust side (mbt::OccSymbol)."""
    if not isinstance(symbol, str) or not symbol.isascii() or not 16 <= len(symbol) <= 21:
        raise ContractError(
            "OCC symbol %r: expected 21 characters (root padded to 6) or the compact form without padding"
            % (symbol,)
        )
    root_part, tail = symbol[:-15], symbol[-15:]
    root = root_part.rstrip(" ")
    if len(symbol) < 21 and root != root_part:
        raise ContractError("OCC symbol %r: the compact form carries no padding" % (symbol,))
    if not _OCC_ROOT.match(root):
        raise ContractError("OCC symbol %r: root must be 1-6 uppercase letters or digits" % (symbol,))
    date, right, strike = tail[:6], tail[6], tail[7:]
    try:
        if not date.isdigit():
            raise ValueError
        expiry = datetime.date(2000 + int(date[:2]), int(date[2:4]), int(date[4:]))
    except ValueError:
        raise ContractError("OCC symbol %r: expiry must be a valid yymmdd date" % (symbol,)) from None
    if right not in ("C", "P"):
        raise ContractError("OCC symbol %r: right must be C or P" % (symbol,))
    if not strike.isdigit() or int(strike) == 0:
        raise ContractError("OCC symbol %r: strike must be 8 digits (strike x 1000)" % (symbol,))
    price = (Decimal(int(strike)) / 1000).normalize()
    if price == price.to_integral_value():
        price = price.quantize(Decimal(1))  # "200", not "2E+2"
    return root, expiry, right, price


def format_occ(root, expiry, right, strike):
    # type: (str, datetime.date, str, Any) -> str
    """The padded 21-character OCC symbol of an option."""
    right = {"call": "C", "put": "P"}.get(str(right).lower(), str(right).upper())
    strike = dec(strike, "strike")
    milli = strike * 1000
    if strike <= 0 or milli != milli.to_integral_value() or milli >= 10 ** 8:
        raise ContractError("strike %s cannot be written in OCC form" % strike)
    symbol = "%-6s%s%s%08d" % (root, expiry.strftime("%y%m%d"), right, int(milli))
    parse_occ(symbol)  # the same rules both ways
    return symbol


# ---------------------------------------------------------------------------
# Decoding helpers


def _obj(value, what):
    if not isinstance(value, dict):
        raise ContractError("%s must be a JSON object, got %s" % (what, type(value).__name__))
    return value


def _keys(obj, what, allowed, required=()):
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise ContractError("%s: unknown field %s" % (what, ", ".join(repr(k) for k in unknown)))
    missing = [k for k in required if k not in obj]
    if missing:
        raise ContractError("%s: missing field %s" % (what, ", ".join(repr(k) for k in missing)))


def _str(value, what):
    if not isinstance(value, str):
        raise ContractError("%s must be a string, got %s" % (what, type(value).__name__))
    return value


def _opt_str(value, what):
    return None if value is None else _str(value, what)


def _bool(value, what):
    if not isinstance(value, bool):
        raise ContractError("%s must be true or false, got %r" % (what, value))
    return value


def _u64(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 64:
        raise ContractError("%s must be a non-negative integer, got %r" % (what, value))
    return value


def _opt_word(cls, value, what):
    return None if value is None else cls.of(value, what)


# ---------------------------------------------------------------------------
# Shapes


@dataclass(frozen=True)
class Instrument:
    """``{"kind":"equity","symbol":"AAPL"}`` or
    ``{"kind":"option","occ":"AAPL  251219C00200000"}``. Build one with
    :meth:`equity` or :meth:`option` (which takes the padded or the compact
    OCC symbol and keeps the padded, canonical one)."""

    kind: str
    symbol: Optional[str] = None
    occ: Optional[str] = None

    def __post_init__(self):
        if self.kind == "equity":
            if not isinstance(self.symbol, str) or self.occ is not None:
                raise ContractError("an equity instrument has a symbol string and no occ")
        elif self.kind == "option":
            if self.symbol is not None:
                raise ContractError("an option instrument has an occ and no symbol")
            object.__setattr__(self, "occ", format_occ(*parse_occ(self.occ)))
        else:
            raise ContractError("instrument kind must be 'equity' or 'option', got %r" % (self.kind,))

    @classmethod
    def equity(cls, symbol):
        return cls("equity", symbol=symbol)

    @classmethod
    def option(cls, occ):
        return cls("option", occ=occ)

    @property
    def is_option(self):
        return self.kind == "option"

    @property
    def compact(self):
        """The ticker, or the OCC symbol without padding (as Alpaca and Tradier write it)."""
        return self.symbol if self.kind == "equity" else self.occ.replace(" ", "")

    @property
    def root(self):
        """The ticker, or the option's root."""
        return self.symbol if self.kind == "equity" else self.occ[:6].rstrip(" ")

    def __str__(self):
        return self.symbol if self.kind == "equity" else self.occ

    def to_json(self):
        if self.kind == "equity":
            return {"kind": "equity", "symbol": self.symbol}
        return {"kind": "option", "occ": self.occ}

    @classmethod
    def from_json(cls, value, what="instrument"):
        # Like the Rust side (an internally tagged enum): fields it does not
        # know are ignored, the ones it needs are required.
        obj = _obj(value, what)
        kind = obj.get("kind")
        if kind == "equity":
            return cls.equity(_str(obj.get("symbol"), what + ".symbol"))
        if kind == "option":
            return cls.option(_str(obj.get("occ"), what + ".occ"))
        raise ContractError("%s.kind must be 'equity' or 'option', got %r" % (what, kind))


def _instrument(value, what):
    if isinstance(value, Instrument):
        return value
    if isinstance(value, dict):
        return Instrument.from_json(value, what)
    raise ContractError("%s must be an Instrument" % what)


@dataclass
class Leg:
    """One leg of a multi-leg order."""

    instrument: Instrument
    side: Side
    ratio_quantity: Decimal
    position_effect: Optional[PositionEffect] = None

    FIELDS = ("instrument", "side", "position_effect", "ratio_quantity")

    def __post_init__(self):
        self.instrument = _instrument(self.instrument, "leg.instrument")
        self.side = Side.of(self.side, "leg.side")
        self.position_effect = _opt_word(PositionEffect, self.position_effect, "leg.position_effect")
        self.ratio_quantity = dec(self.ratio_quantity, "leg.ratio_quantity")

    def to_json(self):
        return {
            "instrument": self.instrument.to_json(),
            "side": self.side.value,
            "position_effect": None if self.position_effect is None else self.position_effect.value,
            "ratio_quantity": wire_decimal(self.ratio_quantity, "ratio_quantity"),
        }

    @classmethod
    def from_json(cls, value, what="leg"):
        obj = _obj(value, what)
        _keys(obj, what, cls.FIELDS, ("instrument", "side", "ratio_quantity"))
        return cls(
            instrument=Instrument.from_json(obj["instrument"], what + ".instrument"),
            side=Side.of(obj["side"], what + ".side"),
            position_effect=_opt_word(PositionEffect, obj.get("position_effect"), what + ".position_effect"),
            ratio_quantity=_jdec(obj["ratio_quantity"], what + ".ratio_quantity"),
        )


@dataclass
class StopLoss:
    """A bracket's stop: a stop order, or a stop-limit with ``limit_price``."""

    stop_price: Decimal
    limit_price: Optional[Decimal] = None

    FIELDS = ("stop_price", "limit_price")

    def __post_init__(self):
        self.stop_price = dec(self.stop_price, "stop_loss.stop_price")
        self.limit_price = _opt_dec(self.limit_price, "stop_loss.limit_price")

    def to_json(self):
        return {
            "stop_price": wire_decimal(self.stop_price, "stop_price"),
            "limit_price": _opt_wire(self.limit_price, "limit_price"),
        }

    @classmethod
    def from_json(cls, value, what="stop_loss"):
        obj = _obj(value, what)
        _keys(obj, what, cls.FIELDS, ("stop_price",))
        return cls(
            stop_price=_jdec(obj["stop_price"], what + ".stop_price"),
            limit_price=_opt_jdec(obj.get("limit_price"), what + ".limit_price"),
        )


@dataclass
class Exits:
    """Exits placed with an entry (a bracket; one of the two alone: OTO): the
    broker holds them until the entry fills, then works them for what it
    filled, the first to fill cancelling the other. Only for adapters whose
    capabilities say ``brackets``; the helper refuses them for the others."""

    take_profit: Optional[Decimal] = None  # the take-profit's limit price
    stop_loss: Optional[StopLoss] = None

    FIELDS = ("take_profit", "stop_loss")

    def __post_init__(self):
        self.take_profit = _opt_dec(self.take_profit, "exits.take_profit")
        if self.stop_loss is not None and not isinstance(self.stop_loss, StopLoss):
            self.stop_loss = StopLoss.from_json(self.stop_loss, "exits.stop_loss")

    def to_json(self):
        return {
            "take_profit": _opt_wire(self.take_profit, "take_profit"),
            "stop_loss": None if self.stop_loss is None else self.stop_loss.to_json(),
        }

    @classmethod
    def from_json(cls, value, what="exits"):
        obj = _obj(value, what)
        _keys(obj, what, cls.FIELDS)
        stop = obj.get("stop_loss")
        return cls(
            take_profit=_opt_jdec(obj.get("take_profit"), what + ".take_profit"),
            stop_loss=None if stop is None else StopLoss.from_json(stop, what + ".stop_loss"),
        )


@dataclass
class Order:
    """What a trader's intent asks the broker to do. ``client_order_id``
    identifies the intent: resubmitting it must never make a second order."""

    client_order_id: str
    instrument: Instrument
    side: Side
    quantity: Decimal
    order_type: OrderType
    time_in_force: TimeInForce
    position_effect: Optional[PositionEffect] = None  # required for options, null for equities
    limit_price: Optional[Decimal] = None
    stop_price: Optional[Decimal] = None
    legs: Optional[List[Leg]] = None
    exits: Optional[Exits] = None  # a bracket's exits; absent on the wire when None

    FIELDS = (
        "client_order_id",
        "instrument",
        "side",
        "position_effect",
        "quantity",
        "order_type",
        "limit_price",
        "stop_price",
        "time_in_force",
        "legs",
        "exits",
    )

    def __post_init__(self):
        self.client_order_id = _str(self.client_order_id, "order.client_order_id")
        self.instrument = _instrument(self.instrument, "order.instrument")
        self.side = Side.of(self.side, "order.side")
        self.quantity = dec(self.quantity, "order.quantity")
        self.order_type = OrderType.of(self.order_type, "order.order_type")
        self.time_in_force = TimeInForce.of(self.time_in_force, "order.time_in_force")
        self.position_effect = _opt_word(PositionEffect, self.position_effect, "order.position_effect")
        self.limit_price = _opt_dec(self.limit_price, "order.limit_price")
        self.stop_price = _opt_dec(self.stop_price, "order.stop_price")
        if self.legs is not None:
            self.legs = [leg if isinstance(leg, Leg) else Leg.from_json(leg, "order.legs[]") for leg in self.legs]
        if self.exits is not None and not isinstance(self.exits, Exits):
            self.exits = Exits.from_json(self.exits, "order.exits")

    @property
    def is_multi_leg(self):
        return bool(self.legs)

    def to_json(self):
        out = {
            "client_order_id": self.client_order_id,
            "instrument": self.instrument.to_json(),
            "side": self.side.value,
            "position_effect": None if self.position_effect is None else self.position_effect.value,
            "quantity": wire_decimal(self.quantity, "quantity"),
            "order_type": self.order_type.value,
            "limit_price": _opt_wire(self.limit_price, "limit_price"),
            "stop_price": _opt_wire(self.stop_price, "stop_price"),
            "time_in_force": self.time_in_force.value,
            "legs": None if self.legs is None else [leg.to_json() for leg in self.legs],
        }
        if self.exits is not None:
            out["exits"] = self.exits.to_json()
        return out

    @classmethod
    def from_json(cls, value, what="order"):
        obj = _obj(value, what)
        _keys(
            obj,
            what,
            cls.FIELDS,
            ("client_order_id", "instrument", "side", "quantity", "order_type", "time_in_force"),
        )
        legs = obj.get("legs")
        if legs is not None:
            if not isinstance(legs, list):
                raise ContractError("%s.legs must be a list or null" % what)
            legs = [Leg.from_json(leg, "%s.legs[%d]" % (what, i)) for i, leg in enumerate(legs)]
        exits = obj.get("exits")
        return cls(
            client_order_id=_str(obj["client_order_id"], what + ".client_order_id"),
            instrument=Instrument.from_json(obj["instrument"], what + ".instrument"),
            side=Side.of(obj["side"], what + ".side"),
            position_effect=_opt_word(PositionEffect, obj.get("position_effect"), what + ".position_effect"),
            quantity=_jdec(obj["quantity"], what + ".quantity"),
            order_type=OrderType.of(obj["order_type"], what + ".order_type"),
            limit_price=_opt_jdec(obj.get("limit_price"), what + ".limit_price"),
            stop_price=_opt_jdec(obj.get("stop_price"), what + ".stop_price"),
            time_in_force=TimeInForce.of(obj["time_in_force"], what + ".time_in_force"),
            legs=legs,
            exits=None if exits is None else Exits.from_json(exits, what + ".exits"),
        )


@dataclass
class Replace:
    """What a replace changes on a working order; ``None`` stays as it is.
    On the wire only the changed fields are written."""

    quantity: Optional[Decimal] = None
    limit_price: Optional[Decimal] = None
    stop_price: Optional[Decimal] = None
    time_in_force: Optional[TimeInForce] = None
    client_order_id: Optional[str] = None  # the replacement's own, where the broker takes one

    FIELDS = ("quantity", "limit_price", "stop_price", "time_in_force", "client_order_id")

    def __post_init__(self):
        self.quantity = _opt_dec(self.quantity, "changes.quantity")
        self.limit_price = _opt_dec(self.limit_price, "changes.limit_price")
        self.stop_price = _opt_dec(self.stop_price, "changes.stop_price")
        self.time_in_force = _opt_word(TimeInForce, self.time_in_force, "changes.time_in_force")
        self.client_order_id = _opt_str(self.client_order_id, "changes.client_order_id")

    def is_empty(self):
        return all(getattr(self, f) is None for f in self.FIELDS)

    def to_json(self):
        out = {}  # type: Dict[str, Any]
        if self.quantity is not None:
            out["quantity"] = wire_decimal(self.quantity, "quantity")
        if self.limit_price is not None:
            out["limit_price"] = wire_decimal(self.limit_price, "limit_price")
        if self.stop_price is not None:
            out["stop_price"] = wire_decimal(self.stop_price, "stop_price")
        if self.time_in_force is not None:
            out["time_in_force"] = self.time_in_force.value
        if self.client_order_id is not None:
            out["client_order_id"] = self.client_order_id
        return out

    @classmethod
    def from_json(cls, value, what="changes"):
        obj = _obj(value, what)
        _keys(obj, what, cls.FIELDS)
        return cls(
            quantity=_opt_jdec(obj.get("quantity"), what + ".quantity"),
            limit_price=_opt_jdec(obj.get("limit_price"), what + ".limit_price"),
            stop_price=_opt_jdec(obj.get("stop_price"), what + ".stop_price"),
            time_in_force=_opt_word(TimeInForce, obj.get("time_in_force"), what + ".time_in_force"),
            client_order_id=_opt_str(obj.get("client_order_id"), what + ".client_order_id"),
        )


@dataclass
class OrderResult:
    """An order as the broker reports it, normalized. ``filled_quantity`` is
    cumulative; ``average_fill_price`` is null before the first fill;
    ``broker_status`` is the vendor's own word, verbatim."""

    broker_order_id: str
    client_order_id: str
    status: OrderStatus
    filled_quantity: Decimal
    remaining_quantity: Decimal
    broker_status: str
    average_fill_price: Optional[Decimal] = None
    reject_reason: Optional[str] = None

    FIELDS = (
        "broker_order_id",
        "client_order_id",
        "status",
        "filled_quantity",
        "remaining_quantity",
        "average_fill_price",
        "reject_reason",
        "broker_status",
    )

    def __post_init__(self):
        self.broker_order_id = _str(self.broker_order_id, "broker_order_id")
        self.client_order_id = _str(self.client_order_id, "client_order_id")
        self.status = OrderStatus.of(self.status, "status")
        self.filled_quantity = dec(self.filled_quantity, "filled_quantity")
        self.remaining_quantity = dec(self.remaining_quantity, "remaining_quantity")
        self.broker_status = _str(self.broker_status, "broker_status")
        self.average_fill_price = _opt_dec(self.average_fill_price, "average_fill_price")
        self.reject_reason = _opt_str(self.reject_reason, "reject_reason")

    @property
    def is_terminal(self):
        return self.status.is_terminal

    @property
    def progress(self):
        """(filled_quantity, stage): what only ever grows over an order's life."""
        return (self.filled_quantity, self.status.stage)

    def to_json(self):
        return {
            "broker_order_id": self.broker_order_id,
            "client_order_id": self.client_order_id,
            "status": self.status.value,
            "filled_quantity": wire_decimal(self.filled_quantity, "filled_quantity"),
            "remaining_quantity": wire_decimal(self.remaining_quantity, "remaining_quantity"),
            "average_fill_price": _opt_wire(self.average_fill_price, "average_fill_price"),
            "reject_reason": self.reject_reason,
            "broker_status": self.broker_status,
        }

    @classmethod
    def from_json(cls, value, what="order result"):
        obj = _obj(value, what)
        _keys(
            obj,
            what,
            cls.FIELDS,
            ("broker_order_id", "client_order_id", "status", "filled_quantity", "remaining_quantity", "broker_status"),
        )
        return cls(
            broker_order_id=_str(obj["broker_order_id"], what + ".broker_order_id"),
            client_order_id=_str(obj["client_order_id"], what + ".client_order_id"),
            status=OrderStatus.of(obj["status"], what + ".status"),
            filled_quantity=_jdec(obj["filled_quantity"], what + ".filled_quantity"),
            remaining_quantity=_jdec(obj["remaining_quantity"], what + ".remaining_quantity"),
            average_fill_price=_opt_jdec(obj.get("average_fill_price"), what + ".average_fill_price"),
            reject_reason=_opt_str(obj.get("reject_reason"), what + ".reject_reason"),
            broker_status=_str(obj["broker_status"], what + ".broker_status"),
        )


@dataclass
class CancelResult:
    """What a cancel request achieved: ``canceled`` or ``pending_cancel``."""

    broker_order_id: str
    status: CancelStatus

    FIELDS = ("broker_order_id", "status")

    def __post_init__(self):
        self.broker_order_id = _str(self.broker_order_id, "broker_order_id")
        self.status = CancelStatus.of(self.status, "status")

    def to_json(self):
        return {"broker_order_id": self.broker_order_id, "status": self.status.value}

    @classmethod
    def from_json(cls, value, what="cancel result"):
        obj = _obj(value, what)
        _keys(obj, what, cls.FIELDS, cls.FIELDS)
        return cls(
            broker_order_id=_str(obj["broker_order_id"], what + ".broker_order_id"),
            status=CancelStatus.of(obj["status"], what + ".status"),
        )


@dataclass
class Position:
    """A holding; ``quantity`` is signed (negative is short)."""

    account_id: str
    instrument: Instrument
    quantity: Decimal
    average_price: Decimal

    FIELDS = ("account_id", "instrument", "quantity", "average_price")

    def __post_init__(self):
        self.account_id = _str(self.account_id, "position.account_id")
        self.instrument = _instrument(self.instrument, "position.instrument")
        self.quantity = dec(self.quantity, "position.quantity")
        self.average_price = dec(self.average_price, "position.average_price")

    def to_json(self):
        return {
            "account_id": self.account_id,
            "instrument": self.instrument.to_json(),
            "quantity": wire_decimal(self.quantity, "quantity"),
            "average_price": wire_decimal(self.average_price, "average_price"),
        }

    @classmethod
    def from_json(cls, value, what="position"):
        obj = _obj(value, what)
        _keys(obj, what, cls.FIELDS, cls.FIELDS)
        return cls(
            account_id=_str(obj["account_id"], what + ".account_id"),
            instrument=Instrument.from_json(obj["instrument"], what + ".instrument"),
            quantity=_jdec(obj["quantity"], what + ".quantity"),
            average_price=_jdec(obj["average_price"], what + ".average_price"),
        )


def _opt_rfc3339(value, what):
    """None, or a timezone-aware RFC 3339 date-time (``2026-01-05T15:00:00Z``)."""
    if value is None:
        return None
    text = _str(value, what)
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ContractError("%s must be an RFC 3339 date-time, not %r" % (what, text[:40]))
    if when.tzinfo is None:
        raise ContractError("%s must say its offset (Z or +hh:mm): %r" % (what, text[:40]))
    return text


@dataclass
class Holdings:
    """``get_holdings``' result: the positions with when the broker's answer
    says they were taken. A broker read live says nothing (``as_of`` None);
    one read through an aggregator's cache (Tier B) says how old they are,
    as RFC 3339."""

    account_id: str
    positions: List[Position]
    as_of: Optional[str] = None

    FIELDS = ("account_id", "positions", "as_of")

    def __post_init__(self):
        self.account_id = _str(self.account_id, "holdings.account_id")
        if not isinstance(self.positions, (list, tuple)):
            raise ContractError("holdings.positions must be a list")
        self.positions = [
            p if isinstance(p, Position) else Position.from_json(p, "holdings.positions[%d]" % i)
            for i, p in enumerate(self.positions)
        ]
        self.as_of = _opt_rfc3339(self.as_of, "holdings.as_of")

    def to_json(self):
        return {
            "account_id": self.account_id,
            "positions": [p.to_json() for p in self.positions],
            "as_of": self.as_of,
        }

    @classmethod
    def from_json(cls, value, what="holdings"):
        obj = _obj(value, what)
        _keys(obj, what, cls.FIELDS, ("account_id", "positions"))
        rows = obj["positions"]
        if not isinstance(rows, list):
            raise ContractError("%s.positions must be a list" % what)
        return cls(
            account_id=_str(obj["account_id"], what + ".account_id"),
            positions=[Position.from_json(p, "%s.positions[%d]" % (what, i)) for i, p in enumerate(rows)],
            as_of=_opt_rfc3339(obj.get("as_of"), what + ".as_of"),
        )


@dataclass
class Account:
    """``account_id`` is the broker's own account number as a user sees it."""

    account_id: str
    cash: Decimal
    buying_power: Decimal
    equity: Decimal

    FIELDS = ("account_id", "cash", "buying_power", "equity")

    def __post_init__(self):
        self.account_id = _str(self.account_id, "account.account_id")
        self.cash = dec(self.cash, "account.cash")
        self.buying_power = dec(self.buying_power, "account.buying_power")
        self.equity = dec(self.equity, "account.equity")

    def to_json(self):
        return {
            "account_id": self.account_id,
            "cash": wire_decimal(self.cash, "cash"),
            "buying_power": wire_decimal(self.buying_power, "buying_power"),
            "equity": wire_decimal(self.equity, "equity"),
        }

    @classmethod
    def from_json(cls, value, what="account"):
        obj = _obj(value, what)
        _keys(obj, what, cls.FIELDS, cls.FIELDS)
        return cls(
            account_id=_str(obj["account_id"], what + ".account_id"),
            cash=_jdec(obj["cash"], what + ".cash"),
            buying_power=_jdec(obj["buying_power"], what + ".buying_power"),
            equity=_jdec(obj["equity"], what + ".equity"),
        )


def _words(cls, values, what):
    if not isinstance(values, (list, tuple)):
        raise ContractError("%s must be a list" % what)
    return [cls.of(v, what + "[]") for v in values]


@dataclass
class Capabilities:
    """What an adapter can do. ``replace`` and ``streaming`` are set by the
    helper from what the adapter implements and the protocol the harness
    speaks (see raxx_bridge.adapter); leave them out."""

    equities: bool = True
    options: bool = False
    multi_leg: bool = False
    replace: bool = False
    streaming: bool = False
    read_only: bool = False
    short_selling: bool = False  # opening a short position from flat
    fractional: bool = False  # fractional quantities
    token_refresh: bool = False  # OAuth access tokens renewed with a refresh token
    brackets: bool = False  # exits placed with an entry: Order.exits
    order_types: List[OrderType] = field(default_factory=lambda: [OrderType.MARKET, OrderType.LIMIT])
    time_in_force: List[TimeInForce] = field(default_factory=lambda: [TimeInForce.DAY])

    FIELDS = (
        "equities",
        "options",
        "multi_leg",
        "replace",
        "streaming",
        "read_only",
        "short_selling",
        "fractional",
        "token_refresh",
        "brackets",
        "order_types",
        "time_in_force",
    )
    # Added after protocol 1's first harness: optional on the wire.
    OPTIONAL = ("short_selling", "fractional", "token_refresh", "brackets")

    def __post_init__(self):
        for name in self.FIELDS[:10]:
            _bool(getattr(self, name), "capabilities." + name)
        self.order_types = _words(OrderType, self.order_types, "capabilities.order_types")
        self.time_in_force = _words(TimeInForce, self.time_in_force, "capabilities.time_in_force")

    def to_json(self):
        return {
            "equities": self.equities,
            "options": self.options,
            "multi_leg": self.multi_leg,
            "replace": self.replace,
            "streaming": self.streaming,
            "read_only": self.read_only,
            "short_selling": self.short_selling,
            "fractional": self.fractional,
            "token_refresh": self.token_refresh,
            "brackets": self.brackets,
            "order_types": [t.value for t in self.order_types],
            "time_in_force": [t.value for t in self.time_in_force],
        }

    @classmethod
    def from_json(cls, value, what="capabilities"):
        obj = _obj(value, what)
        required = tuple(k for k in cls.FIELDS if k not in cls.OPTIONAL)
        _keys(obj, what, cls.FIELDS, required)
        return cls(**{k: obj[k] for k in cls.FIELDS if k in obj})


@dataclass
class Description:
    """What ``describe`` answers: who the adapter is and what it can do.
    ``request_timeout_ms`` (default 2000 when left out) is how long the
    adapter waits for one HTTP response; the bridge's deadlines follow it."""

    name: str
    broker: str
    tier: Tier
    capabilities: Capabilities
    request_timeout_ms: Optional[int] = None

    FIELDS = ("name", "broker", "tier", "capabilities", "request_timeout_ms")

    def __post_init__(self):
        self.name = _str(self.name, "description.name")
        self.broker = _str(self.broker, "description.broker")
        self.tier = Tier.of(self.tier, "description.tier")
        if isinstance(self.capabilities, dict):
            self.capabilities = Capabilities.from_json(self.capabilities)
        elif not isinstance(self.capabilities, Capabilities):
            raise ContractError("description.capabilities must be Capabilities")
        if self.request_timeout_ms is not None:
            _u64(self.request_timeout_ms, "description.request_timeout_ms")

    def to_json(self):
        out = {
            "name": self.name,
            "broker": self.broker,
            "tier": self.tier.value,
            "capabilities": self.capabilities.to_json(),
        }  # type: Dict[str, Any]
        if self.request_timeout_ms is not None:
            out["request_timeout_ms"] = self.request_timeout_ms
        return out

    @classmethod
    def from_json(cls, value, what="description"):
        obj = _obj(value, what)
        _keys(obj, what, cls.FIELDS, ("name", "broker", "tier", "capabilities"))
        rt = obj.get("request_timeout_ms")
        return cls(
            name=_str(obj["name"], what + ".name"),
            broker=_str(obj["broker"], what + ".broker"),
            tier=Tier.of(obj["tier"], what + ".tier"),
            capabilities=Capabilities.from_json(obj["capabilities"], what + ".capabilities"),
            request_timeout_ms=None if rt is None else _u64(rt, what + ".request_timeout_ms"),
        )


def positions_to_json(positions):
    """``get_positions``' result: ``{"positions": [...]}``."""
    return {"positions": [p.to_json() for p in positions]}


def positions_from_json(value, what="positions"):
    obj = _obj(value, what)
    _keys(obj, what, ("positions",), ("positions",))
    rows = obj["positions"]
    if not isinstance(rows, list):
        raise ContractError("%s.positions must be a list" % what)
    return [Position.from_json(p, "%s.positions[%d]" % (what, i)) for i, p in enumerate(rows)]
