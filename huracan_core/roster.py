"""Champions and the daily roster, bound to their date.

Why a champion decision per night: tonight's model replaces the one traders use only when it passes every
gate AND beats the champion in force that night on its out-of-sample metric by a margin — a fresh model
that is merely different is not better. A champion whose folder no longer verifies (sha256.txt) is treated
as absent, never silently trusted.

Why everything is dated: night D must be reproducible and must not see the future. The decision of D for a
coin (`champions/{YYYYMMDD}Z/{SYMBOL}.json`) starts from the champion in force before D — the decision of
the coin's latest earlier night, or, where no earlier night was decided, the promotion rule replayed over
the coin's complete models of partition dates < D (`metadata.json` training_date, never the wall-clock
version folder) — and judges only D's own model (for a rerun of D, that rerun's model). Re-running D after
D+1 therefore reproduces D's decision, and no decision of D names a model of a later date.
`champions/{SYMBOL}.json` and `champions/roster.json` are the LATEST pointers the trading bot reads: they
follow only the newest decided date, so a backfill of an older date never moves them.
`champions/history/{SYMBOL}.json` lists every night's decision for the coin, oldest first.

Why the roster lists every coin of the day: a trader must see why a coin is NOT tradeable (training
failed, too little data, gates missed, no champion) as clearly as which ones are. It ranks tradeable coins
first, then by a composite of liquidity (ADV, higher better), total round-trip cost (lower better) and
recent out-of-sample net edge (last 7 days, higher better): the mean of the three percentile ranks.
The roster of D (`champions/{YYYYMMDD}Z/roster.json`) uses D's champions only.

Why a selection-deflated Sharpe: a champion is the best of many candidates — its own search trials, every
coin trained that night (the roster lists whichever pass), every variant of the pipeline tried before these
settings were chosen (`gates.selection_variants`) and the coin's earlier nights the champion rule compared.
The per-model deflated Sharpe counts only the first; `selection_check` deflates the model's OOS after-cost
returns (their moments in metrics.json) by all of them (`gates.selection_scope`), and a model becomes — and
stays — champion only while that value clears `gates.min_deflated_sharpe`. The count grows with the
history, so a champion can lose its place without a challenger; the reason says so.

Why a forward record in the roster: a champion is judged on history; the roster of D also says how it has
traded since a night handed it out (`forward_*`, from D's forward record, huracan_core/forward.py) and takes
it off (trade_ok false, "demoted: forward ... since ...") when that breaks `settings.forward`'s rule. From
the next night on, the promotion rule treats a demoted champion as gone: a challenger is judged as a first
champion, and the demoted model is never listed as tradeable again.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from huracan_core.atomic import file_lock, read_json, write_json
from huracan_core.config import Settings
from huracan_core.forward_records import ForwardRecord, demoted_before, records_on, roster_fields
from huracan_core.market.synthetic import synthetic_label
from huracan_core.metrics import SelectionCount, selection_deflated_sharpe
from huracan_core.paths import EngineHome, parse_day_tag
from huracan_core.symbols import normalise_symbol
from huracan_core.training.artifacts import complete_models, is_complete, model_training_date
from huracan_core.training.trainer import TrainResult
from huracan_core.universe import Universe

DEFAULT_CHAMPION_METRIC = "sharpe"
DEMOTED = " was demoted on "  # in the reason of a coin whose champion the forward record took off
UNSELECTED = " no longer passes the selection-deflated Sharpe"  # a champion the growing count took off
DEFAULT_CHAMPION_MARGIN = 0.1
STATUSES = ("success", "failed", "skipped")
HEADLINE = (
    "sharpe",
    "hit_rate",
    "net_pnl_bps",
    "max_drawdown_pct",
    "trades",
    "deflated_sharpe",
    "last_7d_net_bps",
)
CHAMPION_FIELDS = (
    "model_id",
    "model_path",
    "training_date",
    "metric",
    "metric_value",
    "gates_passed",
    "performance_metrics",
    "promoted_at",
    "promoted_on",
    "selection",
)


@dataclass(frozen=True)
class ChampionDecision:
    promoted: bool
    reason: str
    previous_model: str | None


def _margin(settings: Settings) -> tuple[str, float]:
    metric = getattr(settings.gates, "champion_metric", DEFAULT_CHAMPION_METRIC)
    margin = getattr(settings.gates, "champion_margin", DEFAULT_CHAMPION_MARGIN)
    return str(metric), float(margin)


def _rel(home: EngineHome, path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(home.root.resolve()))
    except ValueError:
        return str(path)


def _abs(home: EngineHome, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else home.root / p


def _locked(home: EngineHome) -> AbstractContextManager[None]:
    """One writer of the champions folder at a time (coins and dates of a backfill run concurrently)."""
    return file_lock(home.champions_dir() / ".lock", holder="another writer of the champions")


def _dated(home: EngineHome, name: str) -> list[date]:
    """Decided dates that hold `name` (a coin's decision or the roster), oldest first."""
    root = home.champions_dir()
    if not root.is_dir():
        return []
    days = [parse_day_tag(p.name) for p in root.iterdir() if p.is_dir() and (p / name).is_file()]
    return sorted(d for d in days if d is not None)


def _has_metrics(model_dir: Path) -> bool:
    return (model_dir / "metrics.json").is_file()


def _night_models(home: EngineHome, day: date) -> int:
    """Coins compared on night `day`: the night's stored universe (every coin it set out to train; known
    before any coin finishes, so the count does not depend on which coin's decision comes first), else the
    coins with a model trained for `day`. At least 1 (the coin being judged)."""
    path = home.universe(day)
    if path.is_file():
        try:
            return max(1, len(Universe.load(path).selected))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    root = home.root / "models"
    if not root.is_dir():
        return 1
    coins = 0
    for coin in root.iterdir():
        if coin.is_dir() and any(
            p.is_dir() and _has_metrics(p) and model_training_date(p) == day for p in coin.iterdir()
        ):
            coins += 1
    return max(1, coins)


def _earlier_nights(home: EngineHome, symbol: str, day: date) -> int:
    """The coin's earlier nights the champion rule compared: distinct partition dates < `day` of its model
    folders that were evaluated (hold metrics.json)."""
    root = home.model_root(symbol)
    if not root.is_dir():
        return 0
    days = {model_training_date(p) for p in root.iterdir() if p.is_dir() and _has_metrics(p)}
    return sum(1 for d in days if d is not None and d < day)


def selection_count(
    home: EngineHome, symbol: str, day: date, metrics: dict[str, Any], settings: Settings
) -> SelectionCount:
    """Candidates compared to pick `symbol`'s champion on night `day` (see the module doc):
    the model's own search trials (metrics n_trials) + every other model compared (metrics.SelectionCount
    says why a sum), the models being, by `gates.selection_scope`, the model alone, or the night's coins x
    `gates.selection_variants`, plus the coin's earlier nights."""
    raw = metrics.get("n_trials")
    trials = int(raw) if isinstance(raw, int | float) and raw >= 1 else 1
    scope = settings.gates.selection_scope
    if scope == "model":
        return SelectionCount(trials, 1, {"models": 1})
    coins, variants = _night_models(home, day), settings.gates.selection_variants
    parts = {"coins_of_the_night": coins, "variants": variants}
    models = coins * variants
    if scope == "night_and_history":
        earlier = _earlier_nights(home, symbol, day)
        parts["earlier_nights"] = earlier
        models += earlier
    return SelectionCount(trials, models, parts)


def selection_check(
    home: EngineHome, symbol: str, day: date, metrics: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    """The model's selection-deflated Sharpe on night `day` and whether it clears `gates.min_deflated_sharpe`
    (a model whose metrics lack the OOS return moments has none and does not pass)."""
    count = selection_count(home, normalise_symbol(symbol), day, metrics, settings)
    sel = selection_deflated_sharpe(metrics, count)
    threshold = float(settings.gates.min_deflated_sharpe)
    dsr = sel["dsr"]
    return {
        "selection_deflated_sharpe": dsr,
        "selection_sr0": sel["sr0"],
        "selection_candidates": count.n_candidates,
        "selection_models": count.models,
        "selection_trials_per_model": count.trials_per_model,
        "selection_parts": count.parts,
        "selection_scope": settings.gates.selection_scope,
        "selection_count": count.describe(),
        "deflated_sharpe": metrics.get("deflated_sharpe"),
        "threshold": threshold,
        "passed": dsr is not None and dsr > threshold,
    }


def _selection_failure(sel: dict[str, Any]) -> str:
    shown = (
        "missing" if sel["selection_deflated_sharpe"] is None else f"{sel['selection_deflated_sharpe']:.3f}"
    )
    per = sel.get("deflated_sharpe")
    per_shown = f"{per:.3f}" if isinstance(per, int | float) else "missing"
    return (
        f"selection-deflated Sharpe {shown} <= {sel['threshold']:g} over {sel['selection_count']} "
        f"(per-model deflated Sharpe {per_shown})"
    )


def _selection_lost(
    home: EngineHome, symbol: str, champion: dict[str, Any], day: date, settings: Settings
) -> str | None:
    """Why the champion in force cannot stay champion on night `day`: its selection-deflated Sharpe,
    counted as of `day`, no longer clears the threshold (None: it stays)."""
    model_dir = _abs(home, str(champion.get("model_path")))
    try:
        metrics = read_json(model_dir / "metrics.json")
    except (OSError, ValueError):
        return None  # an unreadable folder does not verify: champion_before already treats it as absent
    sel = selection_check(home, symbol, day, metrics, settings)
    if sel["passed"]:
        return None
    return f"champion {champion.get('model_id')}{UNSELECTED} on {day.isoformat()}: {_selection_failure(sel)}"


def _champion_fields(
    home: EngineHome,
    model_dir: Path,
    metrics: dict[str, Any],
    metric: str,
    day: date,
    selection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    meta = read_json(model_dir / "metadata.json")
    return {
        "model_id": meta.get("model_id") or f"{meta.get('symbol')}_{model_dir.name}",
        "model_path": _rel(home, model_dir),
        "training_date": meta["training_date"],
        "metric": metric,
        "metric_value": float(metrics[metric]),
        "gates_passed": True,
        "performance_metrics": {k: metrics.get(k) for k in HEADLINE},
        "promoted_at": datetime.now(UTC).isoformat(),
        "promoted_on": day.isoformat(),
        "selection": selection,
    }


def _judge(
    champion: dict[str, Any] | None,
    why_none: str | None,
    metrics: dict[str, Any],
    gates: dict[str, Any],
    settings: Settings,
    selection: dict[str, Any],
) -> tuple[bool, str]:
    """The promotion rule: gates passed, the selection-deflated Sharpe clears the threshold, a finite OOS
    metric, and (if there is a champion) beating it by the margin."""
    if not gates.get("passed"):
        return False, f"gates failed: {gates.get('summary', '')}"
    if not selection["passed"]:
        return False, _selection_failure(selection)
    metric, margin = _margin(settings)
    new_value = metrics.get(metric)
    if not isinstance(new_value, int | float) or not np.isfinite(new_value):
        return False, f"model has no finite OOS {metric}"
    if champion is None:
        return (
            True,
            f"first champion ({why_none or 'no champion'}); OOS {metric} {new_value:.3f}, all gates passed",
        )
    old_value, previous = float(champion.get("metric_value", float("-inf"))), champion.get("model_id")
    if not new_value > old_value + margin:
        return (
            False,
            f"OOS {metric} {new_value:.3f} does not beat champion {previous} ({old_value:.3f}) by {margin:g}",
        )
    return (
        True,
        f"OOS {metric} {new_value:.3f} beats champion {previous} ({old_value:.3f}) by more than {margin:g}",
    )


def _replay(
    home: EngineHome, symbol: str, before: date, settings: Settings
) -> tuple[dict[str, Any] | None, str | None]:
    """The promotion rule replayed over the coin's complete models of partition dates < `before`, one per
    date (the latest run of that date), oldest first: the champion those nights would have kept."""
    latest: dict[date, Path] = {}
    for model_dir in complete_models(home, symbol, before=before):  # ordered by (date, version)
        latest[model_training_date(model_dir)] = model_dir
    champion, why = None, "no champion yet"
    metric, _ = _margin(settings)
    for day, model_dir in sorted(latest.items()):
        metrics = read_json(model_dir / "metrics.json")
        if champion is not None and (lost := _selection_lost(home, symbol, champion, day, settings)):
            champion, why = None, lost
        selection = selection_check(home, symbol, day, metrics, settings)
        promoted, _ = _judge(champion, why, metrics, metrics.get("gates") or {}, settings, selection)
        if promoted:
            champion = _champion_fields(home, model_dir, metrics, metric, day, selection)
    return champion, None if champion else why


def _verifies(home: EngineHome, record: dict[str, Any], day: date) -> bool:
    trained = record.get("training_date")
    return bool(
        trained and date.fromisoformat(trained) <= day and is_complete(_abs(home, record["model_path"]))
    )


def _champion_of(record: dict[str, Any]) -> dict[str, Any] | None:
    return {k: record.get(k) for k in CHAMPION_FIELDS} if record.get("model_id") else None


def champion_before(
    home: EngineHome, symbol: str, day: date, settings: Settings
) -> tuple[dict[str, Any] | None, str | None]:
    """The champion in force before night `day`: the coin's latest earlier decision, else the promotion rule
    replayed over its models of dates < day. (pointer, None), or (None, why) when there is none."""
    symbol = normalise_symbol(symbol)
    earlier = [d for d in _dated(home, f"{symbol}.json") if d < day]
    if not earlier:
        return _replay(home, symbol, day, settings)
    record = read_json(home.champion_on(earlier[-1], symbol))
    champion = _champion_of(record)
    if champion is None:
        return None, f"no champion as of {earlier[-1]}: {record.get('reason')}"
    if not _verifies(home, champion, day):
        pointer, why = _replay(home, symbol, day, settings)
        return pointer, (
            f"champion {champion['model_id']} of {earlier[-1]} no longer verifies (sha256.txt)"
            if pointer is None
            else why
        )
    demoted = _demoted(home, symbol, champion, day)
    if demoted is not None:
        return None, demoted
    return champion, None


def _demoted(home: EngineHome, symbol: str, champion: dict[str, Any], day: date) -> str | None:
    """Why `champion` is no champion on night `day`: a roster of an earlier night demoted it (forward.py)."""
    since = date.fromisoformat(str(champion["training_date"]))
    hit = demoted_before(home, symbol, str(champion["model_id"]), since, day)
    if hit is None:
        return None
    night, reason = hit
    return f"champion {champion['model_id']}{DEMOTED}{night.isoformat()} ({reason})"


def champion_on(
    home: EngineHome, symbol: str, day: date, settings: Settings
) -> tuple[dict[str, Any] | None, str | None]:
    """The champion in force on night `day` (after its decision): (pointer, None) or (None, why)."""
    path = home.champion_on(day, symbol)
    if not path.is_file():
        return champion_before(home, symbol, day, settings)
    record = read_json(path)
    champion = _champion_of(record)
    if champion is None:
        return None, f"no champion: {record.get('reason')}"
    if not _verifies(home, champion, day):
        pointer, why = _replay(home, symbol, day + timedelta(days=1), settings)
        return pointer, (
            f"champion {champion['model_id']} at {champion['model_path']} no longer verifies (sha256.txt)"
            if pointer is None
            else why
        )
    return champion, None


def _publish_latest(home: EngineHome, name: str, day: date, payload: dict[str, Any] | None) -> bool:
    """Move the latest pointer `champions/{name}` to night `day`'s payload only if `day` is the newest night
    decided so far, for any coin (None removes the pointer: no champion). A backfill of an older night moves
    no pointer at all, not even that of a coin absent from the newer nights. Call under `_locked`."""
    root = home.champions_dir()
    nights = [d for d in (parse_day_tag(p.name) for p in root.iterdir() if p.is_dir()) if d is not None]
    if nights and day < max(nights):
        return False
    latest = home.champions_dir() / name
    if payload is None:
        latest.unlink(missing_ok=True)
    else:
        write_json(latest, payload)
    return True


def _write_history(home: EngineHome, symbol: str) -> None:
    decisions = []
    for day in _dated(home, f"{symbol}.json"):
        r = read_json(home.champion_on(day, symbol))
        decisions.append(
            {
                k: r.get(k)
                for k in ("date", "model_id", "training_date", "promoted", "candidate_model_id", "reason")
            }
        )
    write_json(home.champion_history(symbol), {"symbol": symbol, "decisions": decisions})


def update_champion(home: EngineHome, result: TrainResult, settings: Settings, day: date) -> ChampionDecision:
    """Decide night `day`'s champion for `result`'s coin from the champion in force before `day` and `day`'s
    own model; write the dated decision and the history. The latest pointer the bot reads moves only when the
    whole night is published (`publish_latest`)."""
    symbol = normalise_symbol(result.symbol)
    with _locked(home):
        prior, why_none = champion_before(home, symbol, day, settings)
        previous = prior.get("model_id") if prior else None
        if prior is not None and (lost := _selection_lost(home, symbol, prior, day, settings)):
            prior, why_none = None, lost  # staying champion is judged on tonight's count too
        selection: dict[str, Any] | None = None
        promoted, champion = False, prior
        trained_for = model_training_date(result.model_dir) if result.model_dir is not None else None
        if result.skipped_reason:
            reason = f"not trained: {result.skipped_reason}"
        elif result.model_dir is None or not is_complete(result.model_dir):
            reason = f"model folder {result.model_dir} does not verify"
        elif trained_for != day:
            reason = f"model {result.model_id} was trained for {trained_for}, not {day}"
        else:
            selection = selection_check(home, symbol, day, result.metrics, settings)
            promoted, reason = _judge(
                prior, why_none, result.metrics, result.gates.to_json(), settings, selection
            )
            if promoted:
                metric, _ = _margin(settings)
                champion = _champion_fields(
                    home, Path(result.model_dir), result.metrics, metric, day, selection
                )
        if not promoted and prior is None and why_none and (DEMOTED in why_none or UNSELECTED in why_none):
            reason = (
                f"{reason}; no champion: {why_none}"  # the coin lost its champion (forward record, count)
            )
        record = {
            "symbol": symbol,
            "date": day.isoformat(),
            **{k: (champion or {}).get(k) for k in CHAMPION_FIELDS},
            "promoted": promoted,
            "candidate_model_id": result.model_id or None,
            "previous_model": previous,
            "reason": reason,
            "candidate_selection": selection,  # tonight's model: per-model and selection-deflated Sharpe
            "decided_at": datetime.now(UTC).isoformat(),
        }
        write_json(home.champion_on(day, symbol), record)
        _write_history(home, symbol)
    return ChampionDecision(promoted, reason, previous)


def _model_info(model_dir: Path | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    if model_dir is None or not is_complete(model_dir):
        return None, None
    return read_json(model_dir / "metrics.json"), read_json(model_dir / "costs.json")


def _pct_rank(values: list[float], higher_better: bool) -> list[float]:
    arr = np.asarray([v if np.isfinite(v) else (-np.inf if higher_better else np.inf) for v in values])
    order = np.argsort(-arr if higher_better else arr, kind="stable")
    ranks = np.empty(len(arr))
    ranks[order] = np.arange(len(arr))
    return list(ranks / max(len(arr) - 1, 1))


def _entry(
    home: EngineHome,
    symbol: str,
    outcome: dict[str, Any] | None,
    day: date,
    settings: Settings,
    forward: dict[tuple[str, str], ForwardRecord] | None = None,
) -> dict[str, Any]:
    status = (outcome or {}).get("status", "missing")
    error = (outcome or {}).get("error")
    today_dir = (outcome or {}).get("model_dir")
    today_metrics, today_costs = _model_info(_abs(home, today_dir) if today_dir else None)
    if today_metrics is not None and model_training_date(_abs(home, today_dir)) != day:
        today_metrics, today_costs = None, None  # a model of another date is not this night's model
    pointer, why_none = champion_on(home, symbol, day, settings)
    champ_metrics, champ_costs = _model_info(_abs(home, pointer["model_path"]) if pointer else None)
    costs = champ_costs or today_costs or {}
    recent = today_metrics or champ_metrics or {}
    reasons = []
    if status not in STATUSES:
        reasons.append(error or "no training outcome recorded for this day")
    elif status == "failed":
        reasons.append(f"training failed: {error or 'unknown error'}")
    elif status == "skipped":
        reasons.append(f"skipped: {error or 'no reason given'}")
    elif today_metrics is None:
        reasons.append(f"today's model {today_dir} is missing, does not verify or was not trained for {day}")
    elif not today_metrics.get("gates", {}).get("passed", False):
        reasons.append(f"today's model failed gates: {today_metrics.get('gates', {}).get('summary', '')}")
    if pointer is None:
        reasons.append(why_none or "no champion")
    selection = selection_check(home, symbol, day, champ_metrics, settings) if champ_metrics else None
    if pointer is not None and selection is not None and not selection["passed"]:
        # carried from an earlier night without a decision tonight: the count is tonight's all the same
        reasons.append(f"champion {pointer.get('model_id')}{UNSELECTED}: {_selection_failure(selection)}")
    model_id = pointer.get("model_id") if pointer else None
    forward_fields, record = roster_fields(forward, symbol, model_id, day)
    if record is not None and record.demoted:
        reasons.append(str(record.reason))
    elif pointer is not None and (earlier := _demoted(home, symbol, pointer, day)) is not None:
        # decided before the demoting roster was written: never tradeable again
        forward_fields |= {"forward_demoted": True, "forward_reason": f"demoted: {earlier}"}
        reasons.append(f"demoted: {earlier}")
    from huracan_core.trading.killswitch import read_kill_switch  # the operator's stop overrides every model

    kill = read_kill_switch(home)
    if kill.on:
        reasons.append(f"kill switch on since {kill.changed_at} by {kill.changed_by}: {kill.reason}")
    inputs = costs.get("inputs", {})
    return {
        "symbol": symbol,
        "status": status if status in STATUSES else "missing",
        "model_id": pointer.get("model_id") if pointer else None,
        "model_path": pointer.get("model_path") if pointer else None,
        "model_training_date": pointer.get("training_date") if pointer else None,
        "rank": None,
        "spread_bps": costs.get("spread_bps"),
        "fee_bps": costs.get("fee_bps"),
        "avg_slip_bps": costs.get("avg_slip_bps"),
        "round_trip_bps": costs.get("round_trip_bps"),
        "adv_usd": inputs.get("adv_usd"),
        "last_7d_net_bps": recent.get("last_7d_net_bps"),
        "oos_sharpe": (champ_metrics or {}).get("sharpe"),
        # the champion's deflated Sharpe against its own search trials, and against every candidate compared
        # to pick it tonight (selection_count says how many: trials + other coins x variants + earlier nights)
        "deflated_sharpe": (champ_metrics or {}).get("deflated_sharpe"),
        "selection_deflated_sharpe": selection["selection_deflated_sharpe"] if selection else None,
        "selection_candidates": selection["selection_candidates"] if selection else None,
        "selection_count": selection["selection_count"] if selection else None,
        **forward_fields,
        # a coin of the synthetic market says so (and whether it carries the planted signal): never a real edge
        "synthetic": synthetic_label(settings.market, symbol),
        "trade_ok": not reasons,
        "reason": "; ".join(reasons) if reasons else None,
    }


def build_roster(
    home: EngineHome, day: date, symbols: list[str], outcomes: dict[str, dict], settings: Settings
) -> dict[str, Any]:
    """Write night `day`'s roster (`champions/{YYYYMMDD}Z/roster.json`) for exactly `symbols` (the day's coins),
    from the champions in force on `day` only, with the night's forward record (`forward_stage` first).
    `champions/roster.json` moves when the night is published."""
    norm_outcomes = {normalise_symbol(k): v for k, v in outcomes.items()}
    wanted = list(dict.fromkeys(normalise_symbol(s) for s in symbols))
    forward = records_on(home, day)  # None: forward_stage did not run for the night (forward_* are null)
    entries = [_entry(home, s, norm_outcomes.get(s), day, settings, forward) for s in wanted]

    def num(e: dict[str, Any], key: str) -> float:
        v = e.get(key)
        return float(v) if isinstance(v, int | float) else float("nan")

    if entries:
        liq = _pct_rank([num(e, "adv_usd") for e in entries], higher_better=True)
        cost = _pct_rank([num(e, "round_trip_bps") for e in entries], higher_better=False)
        edge = _pct_rank([num(e, "last_7d_net_bps") for e in entries], higher_better=True)
        for e, a, b, c in zip(entries, liq, cost, edge, strict=True):
            e["score"] = float((a + b + c) / 3.0)
        entries.sort(key=lambda e: (not e["trade_ok"], e["score"], e["symbol"]))
        for i, e in enumerate(entries, start=1):
            e["rank"] = i
    roster = {
        "date": day.isoformat(),
        "generated_at": datetime.now(UTC).isoformat(),
        "ranking": "trade_ok first, then mean percentile rank of ADV (desc), round trip cost (asc), "
        "last 7 days OOS net bps (desc); lower score is better",
        "n_symbols": len(entries),
        "n_trade_ok": sum(e["trade_ok"] for e in entries),
        "coins": entries,
    }
    with _locked(home):
        write_json(home.roster_on(day), roster)
    return roster


def publish_latest(home: EngineHome, day: date) -> bool:
    """Point the trading bot at night `day`: `champions/roster.json` and every `champions/{SYMBOL}.json` of
    the night's roster follow `day` if it is the newest night decided so far (a backfill of an older night
    moves nothing). Called once the whole night is recorded and exported, so a night that fails half-way
    never becomes the one the bot reads. Returns whether the pointers moved."""
    roster_path = home.roster_on(day)
    if not roster_path.is_file():
        return False
    roster = read_json(roster_path)
    with _locked(home):
        if not _publish_latest(home, "roster.json", day, roster):
            return False
        for coin in roster.get("coins", []):
            symbol = coin["symbol"]
            path = home.champion_on(day, symbol)
            record = read_json(path) if path.is_file() else None
            live = record if record and record.get("model_id") and not coin.get("forward_demoted") else None
            _publish_latest(home, f"{symbol}.json", day, live)  # a demoted champion is no pointer
    return True
