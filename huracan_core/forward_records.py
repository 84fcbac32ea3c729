"""A night's forward record as files and roster fields: `runs/{YYYYMMDD}Z/forward_record.json`, the
champions the rosters handed out, and the forward_* fields of a roster entry. The scoring lives in
`huracan_core.forward`; this module stays below the roster (which reads it) and the live decision
(which the scoring calls), so neither depends on the other through it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from huracan_core.atomic import read_json
from huracan_core.paths import EngineHome, parse_day_tag
from huracan_core.symbols import normalise_symbol

FORWARD_FILE = "forward_record.json"


RECORD_COLUMNS = (
    "symbol",
    "model_id",
    "handed_out_on",
    "scored_through",
    "days_live",
    "bars",
    "trades",
    "net_bps",
    "gross_bps",
    "max_drawdown_pct",
    "hit_rate",
    "demoted",
    "reason",
)


class ForwardError(Exception):
    """A champion's forward record cannot be computed (the message names the coin, model and file)."""


@dataclass(frozen=True)
class HandOut:
    """A champion as the rosters handed it out: the coin, the model and the nights that listed it."""

    symbol: str
    model_id: str
    model_path: str  # as the roster wrote it (relative to the engine home, or absolute)
    training_date: date
    handed_out_on: date  # first night of the run of rosters listing this model for the coin
    listed_through: date  # the latest of those nights (before the night being scored)


@dataclass(frozen=True)
class ForwardRecord:
    """One champion's forward record on one night (a `forward_records` row)."""

    symbol: str
    model_id: str
    handed_out_on: date
    scored_through: datetime  # D's close: no bar after it was read
    days_live: int
    bars: int  # decisions scored
    trades: int  # closed round trips (the one still open at D's close is closed there)
    net_bps: float  # after costs, summed over trades (as the walk-forward's net_pnl_bps)
    gross_bps: float
    max_drawdown_pct: float  # of the account trading the model alone since the hand-out
    hit_rate: float | None  # winners / trades; None without trades
    demoted: bool
    reason: str | None  # the demotion ("demoted: forward ... since ..."), or why it was not scored
    first_bar: datetime | None = None  # open time of the first scored decision bar
    last_bar: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("handed_out_on", "scored_through", "first_bar", "last_bar"):
            value = out[key]
            out[key] = value.isoformat() if value is not None else None
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ForwardRecord:
        def moment(v: Any) -> datetime | None:
            return datetime.fromisoformat(v) if v else None

        return cls(
            **{
                **raw,
                "handed_out_on": date.fromisoformat(raw["handed_out_on"]),
                "scored_through": moment(raw["scored_through"]),
                "first_bar": moment(raw.get("first_bar")),
                "last_bar": moment(raw.get("last_bar")),
            }
        )


def forward_path(home: EngineHome, day: date) -> Path:
    """Night `day`'s forward record: `runs/{YYYYMMDD}Z/forward_record.json`."""
    return home.run_dir(day) / FORWARD_FILE


def _roster_nights(home: EngineHome, before: date, since: date | None = None) -> list[date]:
    """Nights < before (and >= since) with a roster, oldest first."""
    root = home.champions_dir()
    if not root.is_dir():
        return []
    days = [parse_day_tag(p.name) for p in root.iterdir() if p.is_dir() and (p / "roster.json").is_file()]
    return sorted(d for d in days if d is not None and d < before and (since is None or d >= since))


_ROSTERS: dict[Path, tuple[tuple[int, int, int], dict[str, dict[str, Any]]]] = {}


def _roster_coins(home: EngineHome, night: date) -> dict[str, dict[str, Any]]:
    """Night `night`'s roster entries by coin, parsed once per file version (every roster entry of a night
    asks about the coin's earlier rosters)."""
    path = home.roster_on(night)
    try:
        st = path.stat()
        version = (st.st_mtime_ns, st.st_ino, st.st_size)  # atomic writes replace the inode
        hit = _ROSTERS.get(path)
        if hit is not None and hit[0] == version:
            return hit[1]
        roster = read_json(path)
        coins = {normalise_symbol(c["symbol"]): c for c in roster.get("coins", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ForwardError(f"{path} is not a readable roster: {type(exc).__name__}: {exc}") from None
    _ROSTERS[path] = (version, coins)
    return coins


def load_forward(home: EngineHome, day: date) -> dict[str, Any] | None:
    """Night `day`'s forward record file, or None when the night has none (forward_stage did not run)."""
    path = forward_path(home, day)
    if not path.is_file():
        return None
    try:
        payload = read_json(path)
        payload["records"] = [ForwardRecord.from_json(r) for r in payload["records"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ForwardError(f"{path} is not a readable forward record: {type(exc).__name__}: {exc}") from None
    return payload


def records_on(home: EngineHome, day: date) -> dict[tuple[str, str], ForwardRecord] | None:
    """Night `day`'s records by (symbol, model_id); None when the night has no forward record."""
    payload = load_forward(home, day)
    if payload is None:
        return None
    return {(r.symbol, r.model_id): r for r in payload["records"]}


def roster_fields(
    records: dict[tuple[str, str], ForwardRecord] | None, symbol: str, model_id: str | None, day: date
) -> tuple[dict[str, Any], ForwardRecord | None]:
    """The forward_* fields of a roster entry of night `day` and the record behind them. No champion, or no
    forward record for the night: None everywhere. A champion no earlier roster listed is handed out
    tonight: 0 days live, no trades."""
    keys = ("since", "days_live", "trades", "net_bps", "max_drawdown_pct", "hit_rate", "demoted", "reason")
    if model_id is None or records is None:
        return {f"forward_{k}": None for k in keys}, None
    record = records.get((normalise_symbol(symbol), model_id))
    if record is None:
        fresh = (day.isoformat(), 0, 0, 0.0, 0.0, None, False, None)
        return {f"forward_{k}": v for k, v in zip(keys, fresh, strict=True)}, None
    values = (
        record.handed_out_on.isoformat(),
        record.days_live,
        record.trades,
        record.net_bps,
        record.max_drawdown_pct,
        record.hit_rate,
        record.demoted,
        record.reason,
    )
    return {f"forward_{k}": v for k, v in zip(keys, values, strict=True)}, record


def demoted_before(
    home: EngineHome, symbol: str, model_id: str, since: date, before: date
) -> tuple[date, str] | None:
    """(night, reason) of the latest roster in [since, before) that demoted the coin's `model_id`; None when
    none did. The promotion rule treats such a champion as gone from the next night on."""
    symbol = normalise_symbol(symbol)
    for night in reversed(_roster_nights(home, before, since)):
        entry = _roster_coins(home, night).get(symbol)
        if entry and entry.get("model_id") == model_id and entry.get("forward_demoted"):
            return night, str(entry.get("forward_reason") or "demoted by the forward record")
    return None
