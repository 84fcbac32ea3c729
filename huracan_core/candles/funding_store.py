"""The funding cache: one parquet per perpetual beside the candles (`data/candles/funding/{SYMBOL}.parquet`).

Why a cache of its own: funding settles every 8 h, so a night needs only the settlements since the last one
it asked for. The sidecar `{SYMBOL}.meta.json` remembers what was *asked* of the source
(`covered_from` .. `covered_to`, half open) and the file's sha256, as the candle cache does, so a sync asks
only for the stretches nobody has asked for yet (an 8-hourly series has no gaps to guess about), and a file
that does not match its sidecar is rebuilt rather than trusted. Writes go through huracan_core.atomic.

A source that has no funding for a coin (spot markets, a replay folder without `funding/{SYMBOL}.csv`)
answers None: nothing is written, and the trainer charges the configured constant and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from huracan_core import atomic
from huracan_core.candles.frame import from_ms, to_ms
from huracan_core.funding import FundingDataError, FundingSeries, conform_funding
from huracan_core.logs import get_logger
from huracan_core.market.base import MarketSource
from huracan_core.paths import EngineHome
from huracan_core.symbols import normalise_symbol

log = get_logger("huracan.funding")


@dataclass
class FundingSyncReport:
    """What one `sync` did: whether the source has funding for the coin, and what it asked for."""

    symbol: str
    available: bool
    settlements_total: int = 0
    settlements_added: int = 0
    asked: list[tuple[str, str]] = field(default_factory=list)  # [since, until) of each fetch, ISO
    note: str = ""


class FundingStore:
    """Funding settlements per perpetual under `home`, fetched once (see module doc)."""

    def __init__(self, home: EngineHome) -> None:
        self.home = home

    def path(self, symbol: str) -> Path:
        return self.home.candles_dir() / "funding" / f"{normalise_symbol(symbol)}.parquet"

    def meta_path(self, symbol: str) -> Path:
        return self.path(symbol).with_suffix(".meta.json")

    def _read(self, symbol: str) -> tuple[pl.DataFrame, dict[str, Any]] | None:
        path, meta_path = self.path(symbol), self.meta_path(symbol)
        if not (path.is_file() and meta_path.is_file()):
            return None
        try:
            meta = atomic.read_json(meta_path)
            if meta.get("sha256") != atomic.sha256_file(path):
                log.warning(
                    "funding cache does not match its sidecar: rebuilt", symbol=symbol, path=str(path)
                )
                return None
            return conform_funding(pl.read_parquet(path), str(path)), meta
        except (OSError, ValueError, FundingDataError, pl.exceptions.PolarsError) as exc:
            log.warning("funding cache unreadable: rebuilt", symbol=symbol, path=str(path), error=str(exc))
            return None

    def sync(self, source: MarketSource, symbol: str, since: datetime, until: datetime) -> FundingSyncReport:
        """Bring the coin's settlements in [since, until) into the cache, asking only for what is new."""
        symbol = normalise_symbol(symbol)
        fetch = getattr(source, "fetch_funding_rates", None)
        if fetch is None:
            return FundingSyncReport(symbol, False, note=f"market source {source.name} has no funding rates")
        cached = self._read(symbol)
        lo, hi = to_ms(since), to_ms(min(until, source.as_of))  # nothing after the source's as-of exists
        if cached is None:
            frame, origin, ranges = None, None, [(lo, hi)]
            covered = (lo, hi)
        else:
            frame, meta = cached
            origin = meta.get("origin")
            c_from, c_to = int(meta["covered_from_ms"]), int(meta["covered_to_ms"])
            ranges = [r for r in ((lo, c_from), (c_to, hi)) if r[0] < r[1]]
            covered = (min(lo, c_from), max(hi, c_to))
        report = FundingSyncReport(symbol, True)
        fetched: list[pl.DataFrame] = []
        for a, b in ranges:
            report.asked.append((from_ms(a).isoformat(), from_ms(b).isoformat()))
            got = fetch(symbol, from_ms(a), from_ms(b))
            if got is None:
                note = f"market source {source.name} has no recorded funding for {symbol}"
                return FundingSyncReport(symbol, False, asked=report.asked, note=note)
            fetched.append(got)
        if not ranges and frame is not None:
            report.settlements_total = frame.height
            return report
        parts = [f for f in ([frame] if frame is not None else []) + fetched if f.height]
        merged = conform_funding(pl.concat(parts), symbol) if parts else conform_funding(fetched[0], symbol)
        report.settlements_added = merged.height - (frame.height if frame is not None else 0)
        report.settlements_total = merged.height
        origin = (
            getattr(source, "funding_origin", lambda s: source.name)(symbol) if origin is None else origin
        )
        self._write(symbol, merged, covered, str(origin))
        return report

    def _write(self, symbol: str, frame: pl.DataFrame, covered: tuple[int, int], origin: str) -> None:
        path = self.path(symbol)
        atomic.write_parquet(path, frame)
        atomic.write_json(
            self.meta_path(symbol),
            {
                "symbol": symbol,
                "origin": origin,
                "covered_from_ms": covered[0],
                "covered_to_ms": covered[1],
                "covered_from": from_ms(covered[0]).isoformat(),
                "covered_to": from_ms(covered[1]).isoformat(),
                "rows": frame.height,
                "sha256": atomic.sha256_file(path),
            },
        )

    def load(self, symbol: str) -> FundingSeries | None:
        """The cached settlements of `symbol` (None: nothing cached, e.g. no recorded funding)."""
        cached = self._read(normalise_symbol(symbol))
        if cached is None:
            return None
        frame, meta = cached
        return FundingSeries.from_frame(frame, str(meta.get("origin")), int(meta["covered_to_ms"]))
