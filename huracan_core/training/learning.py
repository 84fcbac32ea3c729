"""Learning snapshots (`logs/learning/`): how a coin's feature importance moved against its previous model.

Why: a trader asks "what changed?" when a champion moves or an edge fades. The snapshot records, per
coin and model, the gain importance now, before (the coin's previous complete model), and the change.
"""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from huracan_core.atomic import read_json, write_json
from huracan_core.paths import EngineHome, day_tag
from huracan_core.symbols import normalise_symbol
from huracan_core.training.artifacts import model_training_date


def importance_changes(
    now: dict[str, float], before: dict[str, float] | None, top: int = 10
) -> dict[str, Any]:
    """Per-feature (before, now, delta) and the largest risers and fallers."""
    before = before or {}
    names = sorted(set(now) | set(before))
    rows = {
        n: {
            "before": before.get(n, 0.0),
            "now": now.get(n, 0.0),
            "delta": now.get(n, 0.0) - before.get(n, 0.0),
        }
        for n in names
    }
    ranked = sorted(names, key=lambda n: rows[n]["delta"])
    return {
        "features": rows,
        "top_risers": [n for n in reversed(ranked[-top:]) if rows[n]["delta"] > 0],
        "top_fallers": [n for n in ranked[:top] if rows[n]["delta"] < 0],
        "added": sorted(set(now) - set(before)) if before else [],
        "removed": sorted(set(before) - set(now)),
    }


def write_learning_snapshot(
    home: EngineHome,
    symbol: str,
    day: date,
    model_id: str,
    importance: dict[str, float],
    previous_model_dir: Path | None,
    metrics: dict[str, Any],
) -> Path:
    """`logs/learning/{YYYYMMDD}Z/{SYMBOL}.json`, atomically. `previous_model_dir` must be a model of a partition
    date before `day` (`complete_models(home, symbol, before=day)[-1]`): comparing a backfilled night with a
    model trained for a later date would report a change nobody could have seen that night."""
    if previous_model_dir is not None:
        prev_day = model_training_date(previous_model_dir)
        if prev_day is None or prev_day >= day:
            raise ValueError(
                f"{previous_model_dir}: previous model of {symbol} was trained for {prev_day}, "
                f"not before {day}"
            )
    prev_meta = read_json(previous_model_dir / "metadata.json") if previous_model_dir else None
    prev_importance = prev_meta.get("feature_importance") if prev_meta else None
    payload = {
        "symbol": normalise_symbol(symbol),
        "training_date": day.isoformat(),
        "model_id": model_id,
        "previous_model_id": prev_meta.get("model_id") if prev_meta else None,
        "oos_sharpe": metrics.get("sharpe"),
        "previous_oos_sharpe": (prev_meta.get("performance_metrics") or {}).get("sharpe")
        if prev_meta
        else None,
        "importance": importance_changes(importance, prev_importance),
    }
    path = home.learning_dir() / day_tag(day) / f"{normalise_symbol(symbol)}.json"
    return write_json(path, payload)


# --- learning from the trade records (the Brain Library's analyses) ----------------------------------------
# Why here: the snapshot above says how a model changed; these say what its trades teach. Each takes the
# `TradeRecord`s of huracan_core.trades (as simulated, after costs) and returns plain rows for the brain.

PATTERN_BINS = 3
PATTERN_MIN_SUPPORT = 20
PATTERN_ALPHA = 0.05
POST_EXIT_BARS = 12


def _welch_p(samples: list[tuple[np.ndarray, np.ndarray]]) -> list[float | None]:
    """Welch's t-test p-value of each (a, b) pair, as `scipy.stats.ttest_ind(a, b, equal_var=False)` gives
    it, in one vectorised call: None where a side has fewer than 2 values, both sides are constant, the
    p is not finite, or scipy would warn of precision loss (a side's values all equal to within 10 ulp of
    their mean: the moments are then noise). Why vectorised: ~1 ms of scipy overhead per call, ~95
    features per coin, 200 coins a night."""
    from scipy import stats

    if not samples:
        return []
    eps = np.finfo(float).eps * 10
    stat = np.empty((len(samples), 6))
    usable = np.ones(len(samples), dtype=bool)
    for i, (a, b) in enumerate(samples):
        for j, x in enumerate((a, b)):
            mean = x.mean() if len(x) else np.nan
            with np.errstate(divide="ignore", invalid="ignore"):
                if len(x) > 1 and np.max(np.abs(x - mean)) / abs(mean) < eps:
                    usable[i] = False  # scipy's catastrophic-cancellation warning
            stat[i, 3 * j : 3 * j + 3] = (mean, x.std(ddof=1) if len(x) > 1 else np.nan, len(x))
        if len(a) < 2 or len(b) < 2 or (np.std(a) == 0 and np.std(b) == 0):
            usable[i] = False
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = stats.ttest_ind_from_stats(*stat.T, equal_var=False).pvalue
    return [
        float(v) if ok and np.isfinite(v) else None for v, ok in zip(np.atleast_1d(p), usable, strict=True)
    ]


def win_loss_contrasts(trades: list[Any]) -> list[dict[str, Any]]:
    """What distinguished winners from losers: per feature the two means, the standardised difference
    (pooled std) and Welch's p-value; per regime the share of winners vs losers in it (Fisher's exact p)."""
    from scipy import stats

    wins = [t for t in trades if t.is_winner]
    losses = [t for t in trades if not t.is_winner]
    rows: list[dict[str, Any]] = []
    samples: list[tuple[np.ndarray, np.ndarray]] = []
    names = sorted({n for t in trades for n in t.features})
    for name in names:
        a = np.array([v for t in wins if (v := t.features.get(name)) is not None], dtype=float)
        b = np.array([v for t in losses if (v := t.features.get(name)) is not None], dtype=float)
        if not len(a) or not len(b):
            continue
        pooled = float(np.sqrt((np.var(a) + np.var(b)) / 2.0))
        diff = float(np.mean(a) - np.mean(b))
        samples.append((a, b))
        rows.append(
            {
                "kind": "feature",
                "name": name,
                "winners": len(a),
                "losers": len(b),
                "winner_value": float(np.mean(a)),
                "loser_value": float(np.mean(b)),
                "effect": diff / pooled if pooled > 0 else None,
            }
        )
    for row, p in zip(rows, _welch_p(samples), strict=True):
        row["p_value"] = p
    for regime in sorted({t.regime for t in trades if t.regime}):
        wi = sum(t.regime == regime for t in wins)
        li = sum(t.regime == regime for t in losses)
        if not wins or not losses:
            continue
        p = float(stats.fisher_exact([[wi, len(wins) - wi], [li, len(losses) - li]]).pvalue)
        rows.append(
            {
                "kind": "regime",
                "name": regime,
                "winners": len(wins),
                "losers": len(losses),
                "winner_value": wi / len(wins),
                "loser_value": li / len(losses),
                "effect": wi / len(wins) - li / len(losses),
                "p_value": p,
            }
        )
    return rows


def loss_causes(trades: list[Any]) -> list[dict[str, Any]]:
    """Each losing trade: `costs` when the market paid (gross > 0) but costs took more, else `direction`."""
    return [
        {
            "trade_id": t.trade_id,
            "model_id": t.model_id,
            "cause": "costs" if t.gross_bps > 0 else "direction",
            "gross_bps": t.gross_bps,
            "cost_bps": t.cost_bps,
            "net_bps": t.net_bps,
            "regime": t.regime,
            "bars_held": t.bars_held,
        }
        for t in trades
        if not t.is_winner
    ]


def _bins(values: np.ndarray, bins: int) -> list[tuple[float, float]]:
    """Quantile bins [lo, hi] of the values; a feature with few distinct values gets one bin per value."""
    distinct = np.unique(values)
    if len(distinct) <= bins:
        return [(float(v), float(v)) for v in distinct]
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))
    return [(float(edges[i]), float(edges[i + 1])) for i in range(len(edges) - 1)]


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """BH adjusted p-values (q-values), in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out.tolist()


def mine_patterns(
    trades_by_symbol: dict[str, list[Any]],
    *,
    bins: int = PATTERN_BINS,
    min_support: int = PATTERN_MIN_SUPPORT,
    alpha: float = PATTERN_ALPHA,
) -> list[dict[str, Any]]:
    """Candidate patterns `feature in bin` per coin, each tested for a win rate above the coin's base rate.

    A condition needs `min_support` trades; its p-value is the one-sided binomial tail P(X >= wins | support,
    base rate). All candidates of the night (every coin, feature and bin) are corrected together with
    Benjamini-Hochberg; `survived` means q <= alpha. So random walks, whose conditions only look good by
    chance among hundreds tried, leave the library empty.
    """
    from scipy import stats

    rows: list[dict[str, Any]] = []
    for symbol, trades in sorted(trades_by_symbol.items()):
        if len(trades) < min_support:
            continue
        base = sum(t.is_winner for t in trades) / len(trades)
        for name in sorted({n for t in trades for n in t.features}):
            pairs = [(v, t) for t in trades if (v := t.features.get(name)) is not None]
            if len(pairs) < min_support:
                continue
            values = np.array([v for v, _ in pairs])
            edges = _bins(values, bins)
            for k, (lo, hi) in enumerate(edges):
                last = k == len(edges) - 1
                inside = [t for v, t in pairs if lo <= v and (v <= hi if last or lo == hi else v < hi)]
                if len(inside) < min_support:
                    continue
                wins = sum(t.is_winner for t in inside)
                p = float(stats.binom.sf(wins - 1, len(inside), base)) if 0 < base < 1 else 1.0
                rows.append(
                    {
                        "symbol": symbol,
                        "pattern": f"{name} in [{lo:.6g}, {hi:.6g}]",
                        "feature": name,
                        "bin": k,
                        "lower": lo,
                        "upper": hi,
                        "support": len(inside),
                        "wins": wins,
                        "win_rate": wins / len(inside),
                        "base_win_rate": base,
                        "avg_net_bps": float(np.mean([t.net_bps for t in inside])),
                        "p_value": p,
                    }
                )
    for row, q in zip(rows, benjamini_hochberg([r["p_value"] for r in rows]), strict=True):
        row["q_value"] = q
        row["survived"] = bool(q <= alpha)
    return rows


def post_exit_paths(
    trades: list[Any],
    prices: np.ndarray,
    exit_index: list[int],
    entry_index: list[int],
    bars: int = POST_EXIT_BARS,
) -> list[dict[str, Any]]:
    """The price path `bars` fills after each exit, signed in the trade's favour (bps), and a verdict:
    `too_early` when holding on would have gained more than the trade's cost by the end of the window,
    `too_late` when the trade gave back more than its cost from its best point before the exit,
    `well_timed` otherwise, `no_data` when the exit was the last price of the record."""
    rows = []
    for t, i, j in zip(trades, entry_index, exit_index, strict=True):
        sign = 1.0 if t.side == "long" else -1.0
        after = prices[j + 1 : j + 1 + bars]
        path = (sign * (after / prices[j] - 1.0) * 1e4).tolist()
        held = prices[i : j + 1]
        best_in = float(np.max(sign * (held / prices[i] - 1.0) * 1e4))
        exit_gross = float(sign * (prices[j] / prices[i] - 1.0) * 1e4)
        giveback = best_in - exit_gross
        if not path:
            verdict = "no_data"
        elif path[-1] > t.cost_bps and path[-1] >= giveback:
            verdict = "too_early"
        elif giveback > t.cost_bps:
            verdict = "too_late"
        else:
            verdict = "well_timed"
        rows.append(
            {
                "trade_id": t.trade_id,
                "model_id": t.model_id,
                "side": t.side,
                "exit_price": float(prices[j]),
                "bars_tracked": len(path),
                "path_bps": path,
                "max_favourable_bps": max(path) if path else None,
                "max_adverse_bps": min(path) if path else None,
                "final_bps": path[-1] if path else None,
                "giveback_bps": giveback,
                "verdict": verdict,
            }
        )
    return rows


def regime_stats(trades: list[Any], bar_regimes: list[str | None]) -> list[dict[str, Any]]:
    """Per market regime: the share of OOS decision bars in it and how the trades entered in it did."""
    labels = sorted({r for r in bar_regimes if r} | {t.regime for t in trades if t.regime})
    rows = []
    for regime in labels:
        inside = [t for t in trades if t.regime == regime]
        rows.append(
            {
                "regime": regime,
                "bar_share": sum(r == regime for r in bar_regimes) / len(bar_regimes) if bar_regimes else 0.0,
                "trades": len(inside),
                "win_rate": sum(t.is_winner for t in inside) / len(inside) if inside else None,
                "avg_net_bps": float(np.mean([t.net_bps for t in inside])) if inside else None,
                "net_pnl": float(sum(t.net_pnl for t in inside)),
            }
        )
    return rows
