"""The candle cache: one parquet file per symbol and timeframe, each bar fetched once.

Why it is built this way:
- The original system lost most of its cache to corrupt timestamps and re-downloaded everything daily.
  Here every file is validated when read and before it is written; a bad one is moved to
  `data/quarantine/` (never deleted, never used) and rebuilt from the source.
- A sidecar `{SYMBOL}.meta.json` remembers what was *asked* of the source (`covered_from`..`covered_to`),
  the listing (`first_available`) and the gaps the source confirmed on a second request. The data alone
  cannot say that: a missing head may be "before listing" or "never fetched", a hole may be a maintenance
  window or a short page. With the sidecar a sync only requests the ranges nobody has asked for yet.
- The still-open bar is never stored: only bars closed by `until` are requested, and anything later is
  cut before the write.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from huracan_core import atomic
from huracan_core.candles.frame import conform, empty_candles, from_ms, to_ms
from huracan_core.candles.gaps import Gap, find_gaps, longest
from huracan_core.candles.reader import one_line
from huracan_core.candles.validation import CandleValidationError, schema_problem, validate_candles
from huracan_core.config import TIMEFRAMES
from huracan_core.logs import get_logger
from huracan_core.market.base import MarketDataError, MarketSource
from huracan_core.paths import EngineHome
from huracan_core.storage.base import Storage, StorageError
from huracan_core.symbols import normalise_symbol

log = get_logger("huracan.candles")

FRESH_WITHIN = timedelta(hours=24)
# One exchange page: gaps closer together than this are refetched with a single request.
REFETCH_WINDOW_BARS = 1000
META_VERSION = 1

__all__ = ["CandleStore", "CandleValidationError", "CandlesNotCached", "Gap", "SyncReport"]


class CandlesNotCached(LookupError):
    """`load` was asked for a symbol and timeframe that no sync has written yet."""


@dataclass
class SyncReport:
    """What one `sync` did: enough for a progress line, a run summary and an asset check."""

    symbol: str
    timeframe: str
    bars_total: int = 0
    bars_added: int = 0
    requests: int = 0
    gaps: list[Gap] = field(default_factory=list)
    longest_gap_bars: int = 0
    first: datetime | None = None
    last: datetime | None = None
    skipped_fresh: bool = False
    quarantined: str | None = None
    restored: bool = False
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "bars_total": self.bars_total,
            "bars_added": self.bars_added,
            "requests": self.requests,
            "gaps": [g.to_json() for g in self.gaps],
            "gap_count": len(self.gaps),
            "longest_gap_bars": self.longest_gap_bars,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "skipped_fresh": self.skipped_fresh,
            "quarantined": self.quarantined,
            "restored": self.restored,
            "note": self.note,
        }


@dataclass
class _Meta:
    """The sidecar. Times are epoch ms of bar open times, except the wall/as-of moments."""

    source: str | None = None
    covered_from: int | None = None
    covered_to: int | None = None
    first_available: int | None = None
    last_full_sync: datetime | None = None
    known_gaps: set[tuple[int, int]] = field(default_factory=set)

    def to_json(self, symbol: str, timeframe: str, rows: int, sha256: str) -> dict[str, Any]:
        def iso(ms: int | None) -> str | None:
            return from_ms(ms).isoformat() if ms is not None else None

        return {
            "version": META_VERSION,
            "symbol": symbol,
            "timeframe": timeframe,
            "source": self.source,
            "synced_at": datetime.now(UTC).isoformat(),
            "covered_from": iso(self.covered_from),
            "covered_to": iso(self.covered_to),
            "first_available": iso(self.first_available),
            "last_full_sync": self.last_full_sync.isoformat() if self.last_full_sync else None,
            "known_gaps": [[iso(a), iso(b)] for a, b in sorted(self.known_gaps)],
            "rows": rows,
            "sha256": sha256,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Meta:
        def ms(text: str | None) -> int | None:
            return to_ms(datetime.fromisoformat(text)) if text else None

        full = data.get("last_full_sync")
        return cls(
            source=data.get("source"),
            covered_from=ms(data.get("covered_from")),
            covered_to=ms(data.get("covered_to")),
            first_available=ms(data.get("first_available")),
            last_full_sync=datetime.fromisoformat(full) if full else None,
            known_gaps={(ms(a), ms(b)) for a, b in data.get("known_gaps", [])},  # type: ignore[misc]
        )


@dataclass
class _Cache:
    frame: pl.DataFrame
    meta: _Meta
    quarantined: str | None = None
    restored: bool = False
    problem: str = ""


def _floor(ms: int, step: int) -> int:
    return ms // step * step


def _ceil(ms: int, step: int) -> int:
    return -(-ms // step) * step


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "corrupt"


def _ms_column(frame: pl.DataFrame) -> pl.Series:
    return frame["timestamp"].dt.epoch("ms")


class CandleStore:
    """Parquet candle cache under `home/data/candles/{tf}/`, optionally mirrored to a remote `Storage`."""

    def __init__(
        self, home: EngineHome, remote: Storage | None = None, *, fresh_within: timedelta = FRESH_WITHIN
    ) -> None:
        self.home = home
        self.remote = remote
        self.fresh_within = fresh_within

    # ------------------------------------------------------------------ paths and keys
    def path(self, symbol: str, timeframe: str) -> Path:
        return self.home.candles(symbol, timeframe)

    def meta_path(self, symbol: str, timeframe: str) -> Path:
        path = self.path(symbol, timeframe)
        return path.with_name(path.stem + ".meta.json")

    def _key(self, path: Path) -> str:
        return path.relative_to(self.home.root).as_posix()

    # ------------------------------------------------------------------ public API
    def load(
        self, symbol: str, timeframe: str, since: datetime | None = None, until: datetime | None = None
    ) -> pl.DataFrame:
        """The verified cached bars with open time >= `since` that closed by `until` (both optional).

        Raises `CandlesNotCached` when nothing was synced yet and `CandleValidationError` when the file
        is corrupt (it is quarantined first, so the next sync rebuilds it).
        """
        symbol = normalise_symbol(symbol)
        step = self._step(timeframe)
        path = self.path(symbol, timeframe)
        if not path.is_file():
            raise CandlesNotCached(f"no cached {timeframe} candles for {symbol} at {path}: run a sync first")
        frame, problem = self._read_verified(path, symbol, timeframe)
        if problem is not None:
            rule, first_bad, detail = problem
            moved = self._quarantine(symbol, timeframe, rule, detail)
            what = f": {detail}" if detail else ""
            raise CandleValidationError(
                symbol,
                rule,
                first_bad,
                f"cache file {path}{what}; quarantined to {moved}, the next sync rebuilds it",
            )
        if since is not None:
            frame = frame.filter(pl.col("timestamp").dt.epoch("ms") >= to_ms(since))
        if until is not None:
            frame = frame.filter(pl.col("timestamp").dt.epoch("ms") <= to_ms(until) - step)
        return frame

    def sync(
        self,
        source: MarketSource,
        symbol: str,
        timeframe: str,
        since: datetime,
        until: datetime | None = None,
        *,
        force: bool = False,
    ) -> SyncReport:
        """Bring the cache up to every bar of `symbol` closed by `until` (default: the source's as-of).

        No request is made when the cache already covers [max(since, listing), last closed bar], or when
        `until` is live (None) and a full sync happened less than `fresh_within` ago. Otherwise only the
        missing head and/or tail are fetched (the cache stays one contiguous covered range), merged without
        duplicates, gaps new to the cache are asked for once more, and the result is validated and written
        atomically. `force` refetches the range. After a sync, `load` always finds a file (maybe empty).
        """
        symbol = normalise_symbol(symbol)
        step = self._step(timeframe)
        requests_before = source.request_count
        as_of = source.as_of
        end = min(until, as_of) if until is not None else as_of
        last_open = _floor(to_ms(end), step) - step  # open time of the last bar closed by `end`
        start = _ceil(to_ms(since), step)

        cache = self._open(symbol, timeframe, source.name)
        meta, frame = cache.meta, cache.frame
        notes: list[str] = []
        if cache.restored:
            notes.append("restored from remote storage")
        if cache.quarantined:
            notes.append(
                f"corrupt cache {self.path(symbol, timeframe)} ({cache.problem}) quarantined to "
                f"{cache.quarantined}, rebuilt"
            )

        if force:
            meta.known_gaps.clear()
        covered = meta.covered_from is not None and meta.covered_to is not None and not force
        need_head = not covered or start < (meta.covered_from or 0)
        learned_listing = False
        if meta.first_available is None and need_head and start <= last_open:
            listing = source.first_bar_time(symbol, timeframe)
            if listing is not None:
                meta.first_available, learned_listing = _ceil(to_ms(listing), step), True
        head_start = max(start, meta.first_available) if meta.first_available is not None else start

        if head_start > last_open:
            # Nothing closed in the range asked for (or the coin lists later): leave coverage alone.
            notes.append("nothing closed in the requested range")
            if learned_listing or cache.quarantined or not self.path(symbol, timeframe).is_file():
                meta.source = source.name
                self._write(symbol, timeframe, frame, meta)
            return self._report(
                symbol, timeframe, frame, frame, source, requests_before, [], notes, cache, skipped=False
            )

        fresh = (
            until is None
            and not force
            and meta.last_full_sync is not None
            and timedelta(0) <= as_of - meta.last_full_sync < self.fresh_within
        )
        ranges: list[tuple[int, int]] = []
        if not covered:
            ranges.append((head_start, last_open))
        else:
            assert meta.covered_from is not None and meta.covered_to is not None
            if head_start < meta.covered_from:
                ranges.append((head_start, meta.covered_from - step))
            if meta.covered_to < last_open and not fresh:
                ranges.append((meta.covered_to + step, last_open))

        merged = self._merge(frame, [self._fetch(source, symbol, timeframe, a, b) for a, b in ranges])
        if ranges:
            merged, refetched = self._refetch_gaps(source, symbol, timeframe, merged, meta)
            lo, hi = min(a for a, _ in ranges), max(b for _, b in ranges)
            meta.covered_from = lo if meta.covered_from is None else min(meta.covered_from, lo)
            meta.covered_to = hi if meta.covered_to is None else max(meta.covered_to, hi)
            span = ", ".join(f"{from_ms(a):%Y-%m-%d %H:%M}..{from_ms(b):%Y-%m-%d %H:%M}" for a, b in ranges)
            notes.append(f"fetched {span}" + (f"; {refetched} gap refetch request(s)" if refetched else ""))
            if ranges[-1][1] == last_open and (merged.is_empty() or _ms_column(merged)[-1] < last_open):
                last = _ms_column(merged)[-1] if merged.height else None
                notes.append(
                    f"source has no bars after {from_ms(last):%Y-%m-%d %H:%M}"
                    if last is not None
                    else "source returned no bars"
                )
        elif fresh:
            notes.append(f"fresh: full sync less than {self.fresh_within.total_seconds() / 3600:g} h ago")
        else:
            notes.append("cache covers the range")
        if end == as_of and not fresh and meta.covered_to is not None and meta.covered_to >= last_open:
            # max: a replay of an older as-of must not make the newest full sync look older than it is
            meta.last_full_sync = as_of if meta.last_full_sync is None else max(meta.last_full_sync, as_of)
        meta.source = source.name

        if ranges or cache.quarantined or cache.restored or learned_listing:
            validate_candles(merged, symbol, step // 1000)
            self._write(symbol, timeframe, merged, meta)
        window = merged.filter(pl.col("timestamp").dt.epoch("ms").is_between(head_start, last_open))
        return self._report(
            symbol,
            timeframe,
            frame,
            merged,
            source,
            requests_before,
            find_gaps(window, step // 1000),
            notes,
            cache,
            skipped=not ranges,
        )

    def _report(
        self,
        symbol: str,
        timeframe: str,
        before: pl.DataFrame,
        after: pl.DataFrame,
        source: MarketSource,
        requests_before: int,
        gaps: list[Gap],
        notes: list[str],
        cache: _Cache,
        *,
        skipped: bool,
    ) -> SyncReport:
        report = SyncReport(
            symbol=symbol,
            timeframe=timeframe,
            bars_total=after.height,
            bars_added=after.height - before.height,
            requests=source.request_count - requests_before,
            gaps=gaps,
            longest_gap_bars=longest(gaps),
            first=after["timestamp"][0] if after.height else None,
            last=after["timestamp"][-1] if after.height else None,
            skipped_fresh=skipped,
            quarantined=cache.quarantined,
            restored=cache.restored,
            note="; ".join(notes),
        )
        fields = {k: v for k, v in report.to_json().items() if k not in ("symbol", "timeframe", "gaps")}
        log.info("candles synced", symbol=symbol, timeframe=timeframe, **fields)
        return report

    # ------------------------------------------------------------------ fetch / merge / gaps
    @staticmethod
    def _step(timeframe: str) -> int:
        if timeframe not in TIMEFRAMES:
            raise ValueError(f"timeframe {timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
        return TIMEFRAMES[timeframe] * 1000

    def _fetch(
        self, source: MarketSource, symbol: str, timeframe: str, first: int, last: int
    ) -> pl.DataFrame:
        """Bars with open time in [first, last] from the source, validated at the boundary."""
        step = self._step(timeframe)
        frame = source.fetch_ohlcv(symbol, timeframe, from_ms(first), from_ms(last + step))
        if frame.is_empty():
            return empty_candles()
        problem = schema_problem(frame)
        frame = conform(frame, symbol) if problem is not None else frame
        ms = pl.col("timestamp").dt.epoch("ms")
        frame = frame.filter((ms >= first) & (ms <= last)).unique("timestamp", keep="last").sort("timestamp")
        return validate_candles(frame, symbol, step // 1000)

    @staticmethod
    def _merge(frame: pl.DataFrame, fetched: list[pl.DataFrame]) -> pl.DataFrame:
        """Union by timestamp; a refetched bar replaces the cached one (the exchange may revise volumes)."""
        parts = [frame, *[f for f in fetched if f.height]]
        if len(parts) == 1:
            return frame
        return (
            pl.concat(parts, how="vertical")
            .unique("timestamp", keep="last", maintain_order=False)
            .sort("timestamp")
        )

    def _refetch_gaps(
        self, source: MarketSource, symbol: str, timeframe: str, frame: pl.DataFrame, meta: _Meta
    ) -> tuple[pl.DataFrame, int]:
        """Ask once more for every gap the cache has not asked about; remember those that stay missing."""
        step = self._step(timeframe)
        new = [
            g for g in find_gaps(frame, step // 1000) if (to_ms(g.start), to_ms(g.end)) not in meta.known_gaps
        ]
        if not new:
            return frame, 0
        windows: list[tuple[int, int]] = []
        for gap in new:
            a, b = to_ms(gap.start), to_ms(gap.end)
            if windows and b - windows[-1][0] < REFETCH_WINDOW_BARS * step:
                windows[-1] = (windows[-1][0], b)
            else:
                windows.append((a, b))
        fetched = [self._fetch(source, symbol, timeframe, a, b) for a, b in windows]
        frame = self._merge(frame, fetched)
        still = {(to_ms(g.start), to_ms(g.end)) for g in find_gaps(frame, step // 1000)}
        asked = {(to_ms(g.start), to_ms(g.end)) for g in new}
        meta.known_gaps = {g for g in meta.known_gaps if g in still} | (asked & still)
        if asked - still:
            log.info("gaps filled on refetch", symbol=symbol, timeframe=timeframe, filled=len(asked - still))
        return frame, len(windows)

    # ------------------------------------------------------------------ reading, quarantine, restore
    def _open(self, symbol: str, timeframe: str, source_name: str) -> _Cache:
        """The cached frame and sidecar, restored from remote when absent and quarantined when corrupt."""
        path = self.path(symbol, timeframe)
        restored = False
        if not path.is_file() and self.remote is not None:
            restored = self._restore(symbol, timeframe)
        if not path.is_file():
            return _Cache(empty_candles(), _Meta(), restored=restored)
        frame, problem = self._read_verified(path, symbol, timeframe)
        meta = self._read_meta(symbol, timeframe, path, frame) if problem is None else _Meta()
        if (
            problem is None
            and meta.source is not None
            and (meta.source == "synthetic") != (source_name == "synthetic")
        ):
            problem = (
                "source_changed",
                None,
                f"cache built from {meta.source}, now syncing from {source_name}",
            )
        if problem is not None:
            moved = self._quarantine(symbol, timeframe, problem[0], problem[2])
            why = problem[0] + (f": {problem[2]}" if problem[2] else "")
            return _Cache(empty_candles(), _Meta(), quarantined=str(moved), restored=restored, problem=why)
        return _Cache(frame, meta, restored=restored)

    def _read_verified(
        self, path: Path, symbol: str, timeframe: str
    ) -> tuple[pl.DataFrame, tuple[str, datetime | None, str] | None]:
        """(frame, None) when the file is sound, else (empty, (rule, first bad time, detail))."""
        try:
            frame = pl.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - any read failure means the same thing: unreadable
            return empty_candles(), ("unreadable", None, f"{type(exc).__name__}: {one_line(exc, 200)}")
        problem = schema_problem(frame)
        if problem is not None:
            return empty_candles(), ("wrong_schema", None, problem)
        try:
            validate_candles(frame, symbol, self._step(timeframe) // 1000)
        except CandleValidationError as exc:
            return empty_candles(), (exc.rule, exc.first_bad, exc.detail)
        return frame, None

    def _read_meta(self, symbol: str, timeframe: str, path: Path, frame: pl.DataFrame) -> _Meta:
        """The sidecar when it matches the parquet (sha256); otherwise what the data itself proves."""
        meta_path = self.meta_path(symbol, timeframe)
        try:
            data = atomic.read_json(meta_path)
            if data.get("sha256") == atomic.sha256_file(path):
                return _Meta.from_json(data)
            reason = "sha256 mismatch"
        except FileNotFoundError:
            reason = "missing"
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            reason = f"unreadable ({type(exc).__name__})"
        log.warning("candle sidecar ignored", symbol=symbol, timeframe=timeframe, reason=reason)
        meta = _Meta()
        if frame.height:
            ms = _ms_column(frame)
            meta.covered_from, meta.covered_to = int(ms[0]), int(ms[-1])
        return meta

    def _quarantine(self, symbol: str, timeframe: str, rule: str, detail: str = "") -> Path:
        """Move the parquet (and its sidecar) to `data/quarantine/` under a timestamped name."""
        qdir = self.home.quarantine_dir()
        qdir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = qdir / f"{timeframe}_{symbol}.{stamp}.{_slug(rule)}.parquet"
        os.replace(self.path(symbol, timeframe), target)
        meta_path = self.meta_path(symbol, timeframe)
        if meta_path.is_file():
            os.replace(meta_path, target.with_suffix(".meta.json"))
        log.warning(
            "candle cache quarantined and will be rebuilt",
            symbol=symbol,
            timeframe=timeframe,
            rule=rule,
            detail=detail,
            moved_to=str(target),
        )
        return target

    def _restore(self, symbol: str, timeframe: str) -> bool:
        assert self.remote is not None
        path, meta_path = self.path(symbol, timeframe), self.meta_path(symbol, timeframe)
        try:
            if not self.remote.get(self._key(path), path):
                return False
            self.remote.get(self._key(meta_path), meta_path)
        except StorageError as exc:
            log.warning(
                "candle restore from remote failed", symbol=symbol, timeframe=timeframe, error=str(exc)
            )
            return False
        log.info(
            "candle cache restored from remote", symbol=symbol, timeframe=timeframe, remote=self.remote.name
        )
        return True

    # ------------------------------------------------------------------ writing
    def _write(self, symbol: str, timeframe: str, frame: pl.DataFrame, meta: _Meta) -> None:
        """Parquet first, then the sidecar naming its sha256: a crash in between only costs a refetch."""
        path = self.path(symbol, timeframe)
        atomic.write_parquet(path, frame)
        meta_path = self.meta_path(symbol, timeframe)
        atomic.write_text(
            meta_path,
            json.dumps(meta.to_json(symbol, timeframe, frame.height, atomic.sha256_file(path)), indent=2)
            + "\n",
        )
        if self.remote is not None:
            try:
                self.remote.put(self._key(path), path)
                self.remote.put(self._key(meta_path), meta_path)
            except StorageError as exc:
                log.warning(
                    "candle upload to remote failed", symbol=symbol, timeframe=timeframe, error=str(exc)
                )


def sync_many(
    store: CandleStore,
    source: MarketSource,
    symbols: list[str],
    timeframe: str,
    since: datetime,
    until: datetime | None = None,
    *,
    force: bool = False,
) -> tuple[list[SyncReport], dict[str, str]]:
    """Sync each symbol; a coin that fails (bad data, exchange error) is skipped with its reason."""
    reports: list[SyncReport] = []
    failures: dict[str, str] = {}
    for symbol in symbols:
        try:
            reports.append(store.sync(source, symbol, timeframe, since, until, force=force))
        except (CandleValidationError, MarketDataError) as exc:
            log.warning("candle sync skipped", symbol=symbol, reason=str(exc))
            failures[normalise_symbol(symbol)] = str(exc)
    return reports, failures
