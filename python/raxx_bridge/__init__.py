"""raxx_bridge: write a Raxx broker adapter in Python and run it over the
process bridge (DESIGN.md, "The adapter contract", "The process bridge").

Standard library only. ::

    import raxx_bridge
    from raxx_bridge import Adapter, AdapterError, OrderResult

    class MyAdapter(Adapter):
        def describe(self): ...
        def submit_order(self, order): ...
        ...

    if __name__ == "__main__":
        raxx_bridge.run(MyAdapter)

See examples/bridge/README.md for the protocol and
examples/bridge/alpaca_adapter.py for a complete adapter.
"""

from .adapter import Adapter, Config
from .errors import ADAPTER_ERROR, AdapterError, ErrorKind
from .logs import log, redact
from .rpc import PROTOCOL, Emitter, Output, Server, run
from .throttle import Throttle
from .types import (
    Account,
    CancelResult,
    CancelStatus,
    Capabilities,
    ContractError,
    Description,
    Exits,
    Holdings,
    Instrument,
    Leg,
    Order,
    OrderResult,
    OrderStatus,
    OrderType,
    Position,
    PositionEffect,
    Replace,
    Side,
    StopLoss,
    Tier,
    TimeInForce,
    dec,
    format_occ,
    parse_occ,
    wire_decimal,
)
from .updates import OrderTracker, Poller, WatchList

__version__ = "0.1.0"

__all__ = [
    "ADAPTER_ERROR",
    "Account",
    "Adapter",
    "AdapterError",
    "CancelResult",
    "CancelStatus",
    "Capabilities",
    "Config",
    "ContractError",
    "Description",
    "Emitter",
    "ErrorKind",
    "Exits",
    "Holdings",
    "Instrument",
    "Leg",
    "Order",
    "OrderResult",
    "OrderStatus",
    "OrderTracker",
    "OrderType",
    "Output",
    "PROTOCOL",
    "Poller",
    "Position",
    "PositionEffect",
    "Replace",
    "Server",
    "Side",
    "StopLoss",
    "Throttle",
    "Tier",
    "TimeInForce",
    "WatchList",
    "dec",
    "format_occ",
    "log",
    "parse_occ",
    "redact",
    "run",
    "wire_decimal",
]
