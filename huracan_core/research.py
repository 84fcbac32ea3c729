"""`huracan research`: named variants of the settings over recorded data and nights, one table per variant,
every number deflated by every comparison made.

Why this exists: a desk with an idea (a longer horizon, more folds, XGBoost, a triple-barrier target once it
lands) should be able to try it in one command on real recorded bars and see what survives after costs and
after deflation for the search. A variant is nothing but a settings override (`config/research.yaml`:
`variants: {baseline: {}, h4: {training: {horizon_bars: 4}}}`), run through the very pipeline the nightly
factory runs — `stages.prepare_day` (universe, candles from the replay folder, market context, features,
shared encoder) and `stages.model_stage` (`train_coin`: purged walk-forward, after-cost OOS evaluation,
gates, the champion rule) — into a scratch engine home per variant, never the user's.

Why the selection-deflated Sharpe: picking the best row of these tables is itself a search. Every
(variant, coin, night) model evaluated is a candidate, so each row's `dsr_selection` is
`metrics.selection_deflated_sharpe` with N = the model's own search trials + every other model of the run
(variants × coins × nights; metrics.SelectionCount says why a sum). The per-model `dsr` (own trials only) stands beside it. The scratch
roster's champion rule counts the variants too (`gates.selection_variants` = the number of variants, unless
a variant sets it).
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from huracan_core.atomic import write_json, write_text
from huracan_core.config import ConfigError, Settings, load_settings, read_yaml
from huracan_core.metrics import SelectionCount, selection_deflated_sharpe
from huracan_core.paths import EngineHome, day_tag, stamp

DEFAULT_CONFIG = Path("config/research.yaml")
# settings the research run owns: a variant that set them would train into the user's home or off the data
RESERVED = {("home",), ("market", "source"), ("market", "replay_dir"), ("profile",)}
# the settings that only change what happens after a night is prepared (training, gates, the champion rule):
# variants that agree on everything else share one preparation per night (universe, candles, features,
# encoder); a section not listed here (market, universe, costs, any added later) is assumed to change it
AFTER_PREP = ("home", "training", "gates", "forward", "trading")


class ResearchError(Exception):
    """The research run cannot start for a stated reason (a bad variants file, data folder or night)."""


@dataclass(frozen=True)
class Variant:
    """A named settings override, applied on top of the user's effective settings."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        flat = _flatten(self.overrides)
        return ", ".join(f"{k}={v}" for k, v in flat.items()) or "(the settings as they are)"


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def load_variants(path: Path, names: Iterable[str] | None = None) -> list[Variant]:
    """The variants of a research file (`variants:` mapping name -> settings override), in file order;
    `names` keeps those (in that order) and refuses a name the file lacks. Duplicate keys are refused
    (config.read_yaml), so a repeated variant never silently replaces the first."""
    path = Path(path)
    if not path.is_file():
        raise ResearchError(f"research variants file {path} does not exist")
    try:
        data = read_yaml(path)
    except ConfigError as exc:
        raise ResearchError(str(exc)) from None
    raw = data.get("variants")
    if not isinstance(raw, dict) or not raw:
        raise ResearchError(f"{path} must hold a non-empty `variants:` mapping of name -> settings override")
    variants = []
    for name, overrides in raw.items():
        overrides = overrides or {}
        if not isinstance(overrides, dict):
            raise ResearchError(
                f"variant {name!r} in {path}: the override must be a mapping, not {overrides!r}"
            )
        for key in _flatten(overrides):
            parts = tuple(key.split("."))
            if any(parts[: len(r)] == r for r in RESERVED):
                raise ResearchError(
                    f"variant {name!r} sets {key}: the research run owns it (--data and a scratch home)"
                )
        variants.append(Variant(str(name), overrides))
    if names:
        wanted = list(dict.fromkeys(names))
        known = {v.name: v for v in variants}
        missing = [n for n in wanted if n not in known]
        if missing:
            raise ResearchError(f"variant(s) {', '.join(missing)} not in {path} (it has {', '.join(known)})")
        variants = [known[n] for n in wanted]
    return variants


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            _merge(out[key], value)
            if isinstance(value, Mapping) and isinstance(out.get(key), dict)
            else value
        )
    return out


def variant_settings(
    variant: Variant, *, home: Path, data_dir: Path, n_variants: int, extra: Mapping[str, Any] | None = None
) -> Settings:
    """The user's effective settings (settings.yaml, profile, HURACAN_* env) with `extra` (command-line
    choices such as the lookback) and the variant's override on top, trained into `home` on the replay
    folder `data_dir`. A bad override raises ResearchError naming the variant, the key and what is allowed."""
    overrides = _merge(dict(extra or {}), variant.overrides)
    gates = dict(overrides.get("gates") or {})
    gates.setdefault("selection_variants", n_variants)  # the scratch roster's champions count the variants
    overrides["gates"] = gates
    market = {**dict(overrides.get("market") or {}), "source": "replay", "replay_dir": str(data_dir)}
    try:
        return load_settings(**{**overrides, "market": market, "home": str(home)})
    except ConfigError as exc:
        raise ResearchError(f"variant {variant.name!r}: {exc}") from None


def _prep_key(settings: Settings) -> str:
    return json.dumps(settings.model_dump(mode="json", exclude=set(AFTER_PREP)), sort_keys=True, default=str)


def _copy_prepared(src: EngineHome, dst: EngineHome, day: date) -> None:
    """A night another variant already prepared with the same settings up to training (`AFTER_PREP`): its
    universe, candles, features, market context and shared encoder, copied (the files `model_stage` reads)."""
    tag = day_tag(day)
    for rel in ("data/candles", f"data/features/{tag}", f"meta/{tag}"):  # candles/funding: perps
        if (src.root / rel).is_dir():
            shutil.copytree(src.root / rel, dst.root / rel, dirs_exist_ok=True)
    dst.universe(day).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src.universe(day), dst.universe(day))


@dataclass
class ResearchRow:
    """One (variant, coin, night) model: its OOS after-cost numbers and both deflated Sharpes."""

    variant: str
    symbol: str
    night: str
    status: str  # trained | skipped | failed
    reason: str | None = None
    trades: int | None = None
    hit_rate: float | None = None
    net_pnl_bps: float | None = None
    sharpe: float | None = None
    max_drawdown_pct: float | None = None
    n_trials: int | None = None
    dsr: float | None = None
    dsr_selection: float | None = None
    selection_candidates: int | None = None
    gates_passed: bool | None = None
    selection_passed: bool | None = None
    failed_gates: list[str] = field(default_factory=list)
    champion: bool | None = None
    buy_hold_return_pct: float | None = None
    buy_hold_sharpe: float | None = None
    train_seconds: float | None = None
    model_dir: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        return bool(self.gates_passed and self.selection_passed)


@dataclass
class ResearchResult:
    variants: list[Variant]
    nights: list[date]
    data_dir: Path
    rows: list[ResearchRow]
    count: SelectionCount | None
    min_deflated_sharpe: float
    wall_seconds: float
    out_dir: Path | None = None

    def rows_of(self, variant: str) -> list[ResearchRow]:
        return [r for r in self.rows if r.variant == variant]

    def to_json(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir),
            "nights": [d.isoformat() for d in self.nights],
            "variants": [
                {"name": v.name, "overrides": v.overrides, "describe": v.describe()} for v in self.variants
            ],
            "selection": {
                "models": self.count.models if self.count else 0,
                "parts": self.count.parts if self.count else {},
                "rule": "dsr_selection: deflated Sharpe with N = the model's trials + every other model of the run",
                "min_deflated_sharpe": self.min_deflated_sharpe,
            },
            "wall_seconds": self.wall_seconds,
            "rows": [
                {**{k: v for k, v in asdict(r).items() if k != "metrics"}, "passed": r.passed}
                for r in self.rows
            ],
        }


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(float(value)) else None


def _trained_row(variant: str, night: date, outcome: Any) -> ResearchRow:
    result = outcome.result
    if result.skipped_reason:
        return ResearchRow(variant, result.symbol, night.isoformat(), "skipped", result.skipped_reason)
    m = result.metrics
    return ResearchRow(
        variant=variant,
        symbol=result.symbol,
        night=night.isoformat(),
        status="trained",
        reason=outcome.decision,
        trades=int(m["trades"]),
        hit_rate=_num(m.get("hit_rate")),
        net_pnl_bps=_num(m.get("net_pnl_bps")),
        sharpe=_num(m.get("sharpe")),
        max_drawdown_pct=_num(m.get("max_drawdown_pct")),
        n_trials=int(m.get("n_trials") or 1),
        dsr=_num(m.get("deflated_sharpe")),
        gates_passed=result.gates.passed,
        failed_gates=[c.name for c in result.gates.failures],
        champion=outcome.promoted,
        buy_hold_return_pct=_num(m.get("buy_hold_return_pct")),
        buy_hold_sharpe=_num(m.get("buy_hold_sharpe")),
        train_seconds=result.train_seconds,
        model_dir=str(result.model_dir),
        metrics=m,
    )


def deflate_rows(rows: list[ResearchRow], threshold: float | Mapping[str, float]) -> SelectionCount | None:
    """Fill every trained row's selection-deflated Sharpe: N = its own trials + every other model the run
    evaluated (the candidates a reader picks the best row from), passed above `threshold` (one value, or
    one per variant: a variant may set its own gates.min_deflated_sharpe). Returns the count."""
    trained = [r for r in rows if r.status == "trained"]
    if not trained:
        return None
    parts = {
        "variants": len({r.variant for r in rows}),
        "coins": len({r.symbol for r in rows}),
        "nights": len({r.night for r in rows}),
        "evaluated_models": len(trained),
    }
    for r in trained:
        count = SelectionCount(r.n_trials or 1, len(trained), parts)
        sel = selection_deflated_sharpe(r.metrics, count)
        r.dsr_selection = sel["dsr"]
        r.selection_candidates = count.n_candidates
        bar = threshold[r.variant] if isinstance(threshold, Mapping) else threshold
        r.selection_passed = sel["dsr"] is not None and sel["dsr"] > bar
        r.failed_gates = [g for g in r.failed_gates if g != "dsr_selection"]
        if not r.selection_passed:
            r.failed_gates.append("dsr_selection")
    return SelectionCount(trained[0].n_trials or 1, len(trained), parts)


Progress = Callable[[str], None]


def _universe_reasons(settings: Settings, night: date) -> str:
    """Why the night's universe left coins out (when one was stored), for an error that says what to fix."""
    from huracan_core.night_inputs import StageError, load_universe

    try:
        excluded = load_universe(settings, night).excluded
    except (StageError, OSError, ValueError, KeyError):
        return ""
    if not excluded:
        return ""
    shown = "; ".join(f"{r.symbol}: {r.reason}" for r in excluded[:5])
    return f" (universe: {shown}{'; ...' if len(excluded) > 5 else ''})"


def run_research(
    variants: list[Variant],
    nights: list[date],
    data_dir: Path,
    work_dir: Path,
    *,
    symbols: list[str] | None = None,
    top_n: int | None = None,
    extra: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> ResearchResult:
    """Every variant over every night (oldest first: the scratch roster's history runs forward), each in its
    own scratch engine home under `work_dir/<variant>`. A coin that fails is a row with the error, never a
    lost run; a night the data cannot serve (no coin passes the universe) raises ResearchError."""
    from huracan_core import stages
    from huracan_core.market.base import MarketDataError

    say = progress or (lambda _text: None)
    data_dir = Path(data_dir).expanduser().resolve()
    if not data_dir.is_dir():
        raise ResearchError(f"--data {data_dir} is not a folder of recorded candles")
    if not variants:
        raise ResearchError("no variant to run")
    nights = sorted(set(nights))
    t0 = time.perf_counter()
    all_settings = {
        v.name: variant_settings(
            v, home=Path(work_dir) / v.name, data_dir=data_dir, n_variants=len(variants), extra=extra
        )
        for v in variants
    }
    prepared: dict[tuple[str, date], EngineHome] = {}
    rows: list[ResearchRow] = []
    for variant in variants:
        settings = all_settings[variant.name]
        home = EngineHome(Path(settings.home))
        for night in nights:
            key = (_prep_key(settings), night)
            try:
                if key in prepared:
                    _copy_prepared(prepared[key], home, night)
                    coins = stages.load_universe(settings, night).selected
                else:
                    say(f"{variant.name} {night}: universe, candles, features, encoder")
                    coins = stages.prepare_day(settings, night, symbols=symbols, top_n=top_n)
                    prepared[key] = home
            except (MarketDataError, stages.StageError) as exc:
                raise ResearchError(
                    f"variant {variant.name!r}, night {night}: {exc}{_universe_reasons(settings, night)}"
                ) from None
            for i, symbol in enumerate(coins, start=1):
                say(f"{variant.name} {night}: training {symbol} ({i}/{len(coins)})")
                try:
                    outcome = stages.model_stage(settings, night, symbol)
                    rows.append(_trained_row(variant.name, night, outcome))
                except Exception as exc:  # noqa: BLE001 - one coin's failure is its row, the run goes on
                    rows.append(
                        ResearchRow(
                            variant.name, symbol, night.isoformat(), "failed", f"{type(exc).__name__}: {exc}"
                        )
                    )
    thresholds = {name: float(s.gates.min_deflated_sharpe) for name, s in all_settings.items()}
    count = deflate_rows(rows, thresholds)
    threshold = thresholds[variants[0].name]
    return ResearchResult(variants, nights, data_dir, rows, count, threshold, time.perf_counter() - t0)


COLUMNS = (
    "variant",
    "symbol",
    "night",
    "status",
    "trades",
    "hit_rate",
    "net_pnl_bps",
    "sharpe",
    "max_drawdown_pct",
    "n_trials",
    "dsr",
    "dsr_selection",
    "selection_candidates",
    "gates_passed",
    "selection_passed",
    "passed",
    "failed_gates",
    "champion",
    "buy_hold_return_pct",
    "buy_hold_sharpe",
    "train_seconds",
    "reason",
)


def write_outputs(result: ResearchResult, out_dir: Path) -> list[Path]:
    """`research.json` (every row, the variants, the count) and one `<variant>.csv` per variant."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_json(out_dir / "research.json", result.to_json())]
    for variant in result.variants:
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
        writer.writeheader()
        for r in result.rows_of(variant.name):
            row = {k: v for k, v in asdict(r).items() if k in COLUMNS}
            row["failed_gates"] = ";".join(r.failed_gates)
            row["passed"] = r.passed
            writer.writerow(row)
        written.append(
            write_text(out_dir / f"{variant.name}.csv", buffer.getvalue())
        )  # atomic, like the rest
    result.out_dir = out_dir
    return written


# how the gates column names a failed check (the names of gates.evaluate_gates, shortened to fit)
GATE_SHORT = {
    "sharpe": "sharpe",
    "hit_rate": "hit",
    "net_pnl_bps": "net",
    "max_drawdown_pct": "dd",
    "trades": "trades",
    "deflated_sharpe": "dsr",
    "dsr_selection": "dsr_sel",
}


def _f(value: float | None, digits: int = 2, scale: float = 1.0) -> str:
    return "" if value is None else f"{value * scale:.{digits}f}"


def render_tables(result: ResearchResult, console: Any) -> None:
    """One rich table per variant: per coin and night the OOS after-cost numbers, both deflated Sharpes,
    the gates, and buy-and-hold beside them."""
    from rich.table import Table

    count = result.count
    for variant in result.variants:
        rows = result.rows_of(variant.name)
        trained = [r for r in rows if r.status == "trained"]
        passed = sum(r.passed for r in trained)
        title = (
            f"{variant.name}: {variant.describe()} — {passed}/{len(trained)} models pass every gate "
            f"(selection-deflated included)"
        )
        table = Table(title=title, title_justify="left")
        for col in (
            "coin",
            "night",
            "trades",
            "hit %",
            "net bps",
            "Sharpe",
            "max dd %",
            "DSR",
            "DSR sel.",
            "N sel.",
            "gates",
            "champion",
            "B&H %",
            "B&H Sharpe",
        ):
            if col == "gates":  # the one column that may wrap: the failed checks' names
                table.add_column(col, overflow="fold", min_width=12, max_width=44)
            else:
                table.add_column(col, no_wrap=True, justify="left" if col in ("coin", "night") else "right")
        for r in rows:
            if r.status != "trained":
                table.add_row(
                    r.symbol, r.night, "", "", "", "", "", "", "", "", f"{r.status}: {r.reason}", "", "", ""
                )
                continue
            gates = "pass" if r.passed else "fail " + ",".join(GATE_SHORT.get(g, g) for g in r.failed_gates)
            table.add_row(
                r.symbol,
                r.night,
                str(r.trades),
                _f(r.hit_rate, 1, 100.0),
                _f(r.net_pnl_bps, 0),
                _f(r.sharpe),
                _f(r.max_drawdown_pct, 1),
                _f(r.dsr, 3),
                _f(r.dsr_selection, 3),
                str(r.selection_candidates or ""),
                gates,
                "yes" if r.champion else "no",
                _f(r.buy_hold_return_pct, 1),
                _f(r.buy_hold_sharpe),
            )
        console.print(table)
    if count is not None:
        console.print(
            f"DSR: deflated Sharpe against the model's own search trials; DSR sel.: against every candidate "
            f"of this run, N sel. = its trials + {count.models - 1} other models "
            f"({', '.join(f'{k} {v}' for k, v in count.parts.items())}); "
            f"a gate passes above {result.min_deflated_sharpe:g}. {result.data_dir}, "
            f"{len(result.nights)} night(s), {result.wall_seconds:.0f} s",
            soft_wrap=True,
        )


def default_out_dir() -> Path:
    return Path("research") / stamp(datetime.now(UTC))
