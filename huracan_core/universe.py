"""Which coins are worth studying tonight, and why every other coin is not.

Filters, in order: quote currency, market type, active (delisted/halted out), stablecoin bases,
leveraged tokens (BTCUP, ETHBEAR, ...), a 24 h ticker, minimum 24 h quote volume, minimum age
(days since the first candle). The survivors are ranked by 24 h quote volume (ties by tighter
spread) and the top N are selected. Every coin gets a row with its numbers and the reason it is in
or out, so a user can audit the choice and a past date can be reproduced with the replay source.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import polars as pl

from huracan_core.atomic import read_json, write_json
from huracan_core.config import UniverseSettings
from huracan_core.market.base import MarketInfo, MarketSource, Ticker
from huracan_core.symbols import normalise_symbol

STABLECOINS = frozenset(
    [
        "USDT",
        "USDC",
        "BUSD",
        "TUSD",
        "FDUSD",
        "DAI",
        "USDP",
        "PAX",
        "USDD",
        "PYUSD",
        "GUSD",
        "SUSD",
        "LUSD",
        "FRAX",
        "UST",
        "USTC",
        "EURI",
        "AEUR",
        "EUR",
        "GBP",
        "USDS",
        "USDE",
        "USD1",
        "RLUSD",
        "XUSD",
        "BFUSD",
    ]
)
USD_QUOTES = frozenset({"USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USD"})
_LEVERAGED = re.compile(r"^(?P<under>[A-Z0-9]{2,})(UP|DOWN|BULL|BEAR)$")


@dataclass(frozen=True)
class UniverseRow:
    symbol: str
    selected: bool
    rank: int | None
    reason: str
    quote_volume_usd: float | None
    spread_bps: float | None
    age_days: float | None
    market_type: str
    active: bool


@dataclass(frozen=True)
class Universe:
    as_of: datetime
    source: str
    settings: dict
    rows: list[UniverseRow]

    @property
    def selected(self) -> list[str]:
        return [r.symbol for r in sorted((r for r in self.rows if r.selected), key=lambda r: r.rank or 0)]

    @property
    def excluded(self) -> list[UniverseRow]:
        return [r for r in self.rows if not r.selected]

    def row(self, symbol: str) -> UniverseRow:
        symbol = normalise_symbol(symbol)
        for r in self.rows:
            if r.symbol == symbol:
                return r
        raise KeyError(f"{symbol} is not in the universe of {self.as_of:%Y-%m-%d}")

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame([asdict(r) for r in self.rows], infer_schema_length=None)

    def to_json(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "source": self.source,
            "settings": self.settings,
            "selected": self.selected,
            "rows": [asdict(r) for r in self.rows],
        }

    @classmethod
    def from_json(cls, data: dict) -> Universe:
        return cls(
            as_of=datetime.fromisoformat(data["as_of"]),
            source=data["source"],
            settings=data["settings"],
            rows=[UniverseRow(**r) for r in data["rows"]],
        )

    def save(self, path: Path) -> Path:
        return write_json(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> Universe:
        return cls.from_json(read_json(path))


@runtime_checkable
class FlagsBadFiles(Protocol):
    """A source that can name the coins it cannot serve (the replay folder's bad files), with the reason."""

    def bad_files(self) -> dict[str, str]: ...


def is_leveraged_token(base: str, known_bases: set[str]) -> bool:
    """BTCUP/ETHDOWN/BNBBULL are leveraged tokens; JUP or SUPER are not (their prefix is no listed coin)."""
    match = _LEVERAGED.match(base)
    return bool(match and match.group("under") in known_bases)


def _exclusion(
    market: MarketInfo, settings: UniverseSettings, quote: str, known_bases: set[str]
) -> str | None:
    if market.quote != quote:
        return f"quote {market.quote} is not {quote}"
    if settings.market_type != "both" and market.market_type != settings.market_type:
        return f"market type {market.market_type} is not {settings.market_type}"
    if not market.active:
        return "inactive or delisted"
    if market.base in STABLECOINS:
        return "stablecoin base"
    if is_leveraged_token(market.base, known_bases):
        return "leveraged token"
    return None


def select_universe(
    source: MarketSource,
    settings: UniverseSettings,
    quote: str = "USDT",
    *,
    symbols: list[str] | None = None,
    top_n: int | None = None,
) -> Universe:
    """Apply the filters at `source.as_of`. `symbols` pins an explicit list (still audited); `top_n` overrides N."""
    if quote not in USD_QUOTES:
        raise ValueError(
            f"market.quote {quote!r} is not a USD-pegged quote; volumes could not be read as USD"
        )
    as_of = source.as_of
    markets = {m.symbol: m for m in source.markets()}
    tickers: dict[str, Ticker] = source.tickers()
    known_bases = {m.base for m in markets.values()}
    # A coin whose recorded file is bad is out with the file's problem as its reason, pinned or not.
    bad = source.bad_files() if isinstance(source, FlagsBadFiles) else {}
    wanted = [normalise_symbol(s) for s in symbols] if symbols else None
    limit = top_n if top_n is not None else settings.top_n

    rows: list[UniverseRow] = []
    candidates: list[tuple[float, float, str, float | None]] = []
    for symbol in sorted(set(markets) | set(wanted or []) | set(bad)):
        market = markets.get(symbol)
        if symbol in bad:
            reason = (
                bad[symbol] if wanted is None or symbol in wanted else "not requested (explicit symbol list)"
            )
            rows.append(UniverseRow(symbol, False, None, reason, None, None, None, "?", False))
            continue
        if market is None:
            rows.append(
                UniverseRow(symbol, False, None, "not listed at the source", None, None, None, "?", False)
            )
            continue
        ticker = tickers.get(symbol)
        qv = ticker.quote_volume_usd if ticker else None
        spread = ticker.spread_bps if ticker else None
        listed = market.listed_at
        if listed is None and market.active and qv is not None and qv >= settings.min_quote_volume_usd:
            listed = source.first_bar_time(symbol, "1d")
        age = (as_of - listed).total_seconds() / 86400 if listed is not None else None

        def out(reason: str, market=market, qv=qv, spread=spread, age=age) -> UniverseRow:
            return UniverseRow(
                market.symbol, False, None, reason, qv, spread, age, market.market_type, market.active
            )

        if wanted is not None and symbol not in wanted:
            rows.append(out("not requested (explicit symbol list)"))
            continue
        reason = _exclusion(market, settings, quote, known_bases)
        if reason is None and ticker is None:
            reason = "no 24h ticker (no closed bar in the last 24 h)"
        if reason is None and wanted is None and qv is not None and qv < settings.min_quote_volume_usd:
            reason = f"24h quote volume ${qv:,.0f} < ${settings.min_quote_volume_usd:,.0f}"
        if reason is None and age is None:
            reason = "age unknown (no first candle)"
        if reason is None and age is not None and age < settings.min_age_days:
            reason = f"listed {age:.1f} days ago (< {settings.min_age_days})"
        if reason is not None:
            rows.append(out(reason))
            continue
        candidates.append((-(qv or 0.0), spread if spread is not None else float("inf"), symbol, age))

    candidates.sort()
    for rank, (neg_qv, spread, symbol, age) in enumerate(candidates, start=1):
        market = markets[symbol]
        spread_val = None if spread == float("inf") else spread
        if rank <= limit:
            reason = "requested" if wanted is not None else f"rank {rank} by 24h quote volume (top {limit})"
            rows.append(
                UniverseRow(symbol, True, rank, reason, -neg_qv, spread_val, age, market.market_type, True)
            )
        else:
            rows.append(
                UniverseRow(
                    symbol,
                    False,
                    rank,
                    f"rank {rank} > top {limit}",
                    -neg_qv,
                    spread_val,
                    age,
                    market.market_type,
                    True,
                )
            )
    return Universe(
        as_of=as_of,
        source=source.name,
        settings={**settings.model_dump(mode="json"), "top_n": limit, "quote": quote},
        rows=sorted(rows, key=lambda r: (not r.selected, r.rank if r.rank is not None else 10**9, r.symbol)),
    )
