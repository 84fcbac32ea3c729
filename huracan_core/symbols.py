"""Symbol spelling. Keys and file names use `BTC-USDT`; only the ccxt boundary speaks `BTC/USDT`.

Dagster does not validate dynamic partition keys, and `|`, `,` and `/` break multi-partition keys and
paths, so every symbol is normalised here and rejected with a clear error when it cannot be.
"""

from __future__ import annotations

import re

_VALID = re.compile(r"^[A-Z0-9]{1,20}-[A-Z0-9]{2,10}$")


class SymbolError(ValueError):
    """A symbol that cannot be used as a partition key or file name."""


def normalise_symbol(symbol: str) -> str:
    """`btc/usdt`, `BTC/USDT:USDT`, `BTC_USDT` or `BTC-USDT` → `BTC-USDT`."""
    raw = symbol.strip().upper().split(":")[0]
    out = raw.replace("/", "-").replace("_", "-")
    if not _VALID.match(out):
        raise SymbolError(f"symbol {symbol!r} is not of the form BASE-QUOTE (letters and digits only)")
    return out


def to_ccxt(symbol: str) -> str:
    """`BTC-USDT` → `BTC/USDT` (spot) for the ccxt client."""
    return normalise_symbol(symbol).replace("-", "/")


def base_of(symbol: str) -> str:
    return normalise_symbol(symbol).split("-")[0]


def parse_symbols(text: str) -> list[str]:
    """A comma-separated list from the command line, normalised, in order, without repeats."""
    seen: dict[str, None] = {}
    for part in text.split(","):
        if part.strip():
            seen[normalise_symbol(part)] = None
    return list(seen)
