"""Reports a human reads the next morning, in `reports/YYYY-MM-DD/`:

* `training_report.json`: per coin, the model's OOS after-cost numbers, each gate's outcome, the cost share
  of the gross edge, its roster line and its trade count in the Brain Library;
* `performance_analysis.csv`: the same numbers, one row per coin;
* `model_comparison.html`: one self-contained page (plotly's JavaScript inlined, nothing from a CDN) with each
  coin's OOS after-cost equity curve against buy-and-hold and its drawdown, the cost share per coin, the gate
  outcomes, the roster and the forward record (how earlier nights' champions traded since their hand-out,
  after costs, and which were demoted; huracan_core/forward.py).

Curves come from the model folders with the very backtest that produced metrics.json
(`huracan_core.trades.load_model_trades`); trade counts from the brain, so the page agrees with both.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from huracan_core.atomic import read_json, write_bytes, write_json, write_text
from huracan_core.config import Settings
from huracan_core.ledger import RunLedger
from huracan_core.paths import EngineHome

REPORT_FILES = ("training_report.json", "performance_analysis.csv", "model_comparison.html")
HEADLINE = (
    "sharpe",
    "hit_rate",
    "net_pnl_bps",
    "net_pnl_pct",
    "gross_pnl_bps",
    "cost_bps",
    "cost_share_of_gross",
    "max_drawdown_pct",
    "trades",
    "deflated_sharpe",
    "buy_hold_return_pct",
    "last_7d_net_bps",
)


def reports_dir(home: EngineHome, day: date) -> Path:
    return home.root / "reports" / day.isoformat()


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def _coin_rows(settings: Settings, home: EngineHome, day: date, engine: Any) -> list[dict[str, Any]]:
    from huracan_core.brain.record import _model_dir, day_roster
    from huracan_core.universe import Universe

    universe = Universe.load(home.universe(day))
    entries = RunLedger(home, day).entries()
    roster = {c["symbol"]: c for c in (day_roster(home, day) or {}).get("coins", [])}
    brain_trades: dict[str, int] = {}
    if engine is not None:
        from sqlalchemy import func, select

        from huracan_core.brain.models import PORTFOLIO_SOURCE, TradeMemory

        with engine.connect() as conn:
            q = (  # the model's own OOS trades (the portfolio simulator's are another account)
                select(TradeMemory.symbol, func.count())
                .where(TradeMemory.date == day, TradeMemory.source != PORTFOLIO_SOURCE)
                .group_by(TradeMemory.symbol)
            )
            brain_trades = {s: int(n) for s, n in conn.execute(q)}
    rows = []
    for symbol in universe.selected:
        entry = entries.get(symbol)
        model_dir = (
            _model_dir(home, entry.output_path) if entry is not None and entry.status == "success" else None
        )
        metrics = read_json(model_dir / "metrics.json") if model_dir else {}
        gates = metrics.get("gates", {})
        line = roster.get(symbol, {})
        decision = home.champion_on(day, symbol)
        # tonight's model against every candidate compared to pick a champion (roster.selection_check)
        chosen = (read_json(decision).get("candidate_selection") if decision.is_file() else None) or {}
        rows.append(
            {
                "symbol": symbol,
                "status": entry.status if entry is not None else "missing",
                "reason": (entry.error or entry.reason) if entry is not None else "no ledger entry",
                "model_id": read_json(model_dir / "metadata.json")["model_id"] if model_dir else None,
                "model_dir": str(model_dir) if model_dir else None,
                **{k: metrics.get(k) for k in HEADLINE},
                "gates_passed": gates.get("passed") if gates else None,
                "gates": gates.get("checks") if gates else None,
                "gates_summary": gates.get("summary") if gates else None,
                "selection_deflated_sharpe": chosen.get("selection_deflated_sharpe"),
                "selection_candidates": chosen.get("selection_candidates"),
                "selection_count": chosen.get("selection_count"),
                "champion_deflated_sharpe": line.get("deflated_sharpe"),
                "champion_selection_deflated_sharpe": line.get("selection_deflated_sharpe"),
                "roster_rank": line.get("rank"),
                "trade_ok": line.get("trade_ok"),
                "champion_model_id": line.get("model_id"),
                "roster_reason": line.get("reason"),
                "synthetic": line.get("synthetic"),
                "brain_trades": brain_trades.get(symbol, 0),
            }
        )
    return rows


def _coin_label(line: dict[str, Any]) -> str:
    """The coin's name, marked when it is a synthetic coin (and when it carries the planted signal), so a
    synthetic champion is never read as a real one."""
    label = line.get("synthetic")
    if not label:
        return str(line.get("symbol"))
    kind = f"planted signal: {label['signal']}" if label.get("planted_signal") else "no planted signal"
    return f"{line.get('symbol')} (synthetic, {kind})"


def _selection_cell(line: dict[str, Any]) -> str:
    """The champion's selection-deflated Sharpe with the count behind it, e.g. "0.912 (N=400)"."""
    value = _num(line.get("selection_deflated_sharpe"))
    if value is None:
        return ""
    n = line.get("selection_candidates")
    return f"{value:.3f} (N={n})" if n else f"{value:.3f}"


def _gate_matrix(rows: list[dict[str, Any]]) -> tuple[list[str], list[str], list[list[float | None]]]:
    """(gate names, coins, 1 pass / 0 fail / None not evaluated) from metrics.json's gate results."""
    names: list[str] = []
    table: dict[str, dict[str, bool]] = {}
    for r in rows:
        results = r["gates"] or []
        items = (
            results.items()
            if isinstance(results, dict)
            else ((g.get("name"), g) for g in results if isinstance(g, dict))
        )
        for name, g in items:
            passed = g.get("passed") if isinstance(g, dict) else bool(g)
            table.setdefault(r["symbol"], {})[str(name)] = bool(passed)
            if str(name) not in names:
                names.append(str(name))
    coins = [r["symbol"] for r in rows]
    z = [[(1.0 if table[c][g] else 0.0) if g in table.get(c, {}) else None for g in names] for c in coins]
    return names, coins, z


def _comparison_table(comparison: dict[str, Any], day: date) -> str:
    """Model-only vs the live bot's rules (consensus) vs buy-and-hold, per coin and for the portfolio."""
    import plotly.graph_objects as go

    strategies = ("model_only", "model_under_rules", "consensus", "buy_and_hold")
    rows = [*comparison.get("coins", []), {"symbol": "PORTFOLIO", **comparison.get("portfolio", {})}]

    def cell(row: dict[str, Any], strategy: str, key: str) -> str:
        value = _num((row.get(strategy) or {}).get(key))
        return "" if value is None else f"{value:.2f}"

    header = ["coin"] + [f"{s} {k}" for s in strategies for k in ("Sharpe", "net %")]
    values = [[r.get("symbol") for r in rows]] + [
        [cell(r, s, k) for r in rows] for s in strategies for k in ("sharpe", "net_pnl_pct")
    ]
    table = go.Figure(go.Table(header={"values": header}, cells={"values": values}))
    table.update_layout(
        title=f"Trading rules, {day.isoformat()}: model only vs consensus vs buy-and-hold (OOS, after costs)",
        height=220 + 40 * max(1, len(rows)),
    )
    return table.to_html(full_html=False, include_plotlyjs=False, div_id="comparison")


def forward_section(home: EngineHome, day: date) -> dict[str, Any]:
    """The report's forward record: every champion night `day` scored since its hand-out, with totals."""
    from huracan_core.forward_records import ForwardError, load_forward

    try:
        payload = load_forward(home, day)
    except ForwardError as exc:  # the report still comes out, saying why the section is missing
        return {"available": False, "why": str(exc)}
    if payload is None:
        return {"available": False, "why": "no forward record for this night (forward_stage did not run)"}
    return {
        "available": True,
        "scored_through": payload.get("scored_through"),
        "rule": payload.get("rule"),
        "scoring": payload.get("scoring"),
        "summary": payload.get("summary"),
        "records": [r.to_json() for r in payload["records"]],
    }


def _forward_table(forward: dict[str, Any], day: date) -> str:
    import plotly.graph_objects as go

    records = forward.get("records") or []

    def num(v: Any, fmt: str) -> str:
        value = _num(v)
        return "" if value is None else format(value, fmt)

    table = go.Figure(
        go.Table(
            header={
                "values": [
                    "coin",
                    "champion",
                    "handed out",
                    "days live",
                    "trades",
                    "net bps",
                    "max drawdown %",
                    "hit rate",
                    "demoted",
                    "reason",
                ]
            },
            cells={
                "values": [
                    [r["symbol"] for r in records],
                    [r["model_id"] for r in records],
                    [r["handed_out_on"] for r in records],
                    [r["days_live"] for r in records],
                    [r["trades"] for r in records],
                    [num(r["net_bps"], ".1f") for r in records],
                    [num(r["max_drawdown_pct"], ".2f") for r in records],
                    [num(r["hit_rate"], ".0%") for r in records],
                    ["yes" if r["demoted"] else "no" for r in records],
                    [r["reason"] or "" for r in records],
                ]
            },
        )
    )
    summary = forward.get("summary") or {}
    table.update_layout(
        title=f"Forward record, {day.isoformat()}: earlier nights' champions since their hand-out, after costs "
        f"({summary.get('champions', 0)} champions, {summary.get('trades', 0)} trades, "
        f"{summary.get('demoted', 0)} demoted)",
        height=220 + 40 * max(1, len(records)),
    )
    return table.to_html(full_html=False, include_plotlyjs=False, div_id="forward")


def _html(
    settings: Settings,
    day: date,
    rows: list[dict[str, Any]],
    roster: dict[str, Any] | None,
    comparison: dict[str, Any] | None = None,
    forward: dict[str, Any] | None = None,
) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from huracan_core.trades import load_model_trades

    parts: list[str] = []
    curves = [r for r in rows if r["model_dir"]]
    if curves:
        titles = []
        for r in curves:
            titles += [
                f"{r['symbol']}: OOS equity after costs vs buy-and-hold",
                f"{r['symbol']}: drawdown (%)",
            ]
        fig = make_subplots(
            rows=len(curves),
            cols=2,
            subplot_titles=titles,
            horizontal_spacing=0.08,
            vertical_spacing=min(0.08, 0.5 / len(curves)),
        )
        for i, r in enumerate(curves, start=1):
            mt = load_model_trades(Path(r["model_dir"]), settings)
            # NumPy arrays, not lists: plotly validates a list element by element (~5 s for 200 coins'
            # curves) and an array by its dtype, and writes it to the page as a typed array
            t = np.array([x.isoformat() for x in mt.grid_time])
            equity = np.asarray(mt.equity, dtype=float)
            hold = np.asarray(mt.prices, dtype=float) / mt.prices[0]
            peak = np.maximum.accumulate(equity)
            fig.add_trace(go.Scatter(x=t, y=equity, name=f"{r['symbol']} model", mode="lines"), i, 1)
            fig.add_trace(
                go.Scatter(x=t, y=hold, name=f"{r['symbol']} buy & hold", mode="lines", line={"dash": "dot"}),
                i,
                1,
            )
            fig.add_trace(
                go.Scatter(
                    x=t,
                    y=(equity / peak - 1) * 100,
                    name=f"{r['symbol']} drawdown",
                    fill="tozeroy",
                    mode="lines",
                ),
                i,
                2,
            )
        fig.update_layout(
            height=320 * len(curves), title=f"Out-of-sample equity, {day.isoformat()}", showlegend=True
        )
        parts.append(fig.to_html(full_html=False, include_plotlyjs=True, div_id="equity"))
    coins = [r["symbol"] for r in rows]
    gross = [_num(r["gross_pnl_bps"]) or 0.0 for r in rows]
    cost = [_num(r["cost_bps"]) or 0.0 for r in rows]
    net = [_num(r["net_pnl_bps"]) or 0.0 for r in rows]
    share = [
        f"{s:.0%} of gross" if (s := _num(r["cost_share_of_gross"])) is not None else "gross <= 0"
        for r in rows
    ]
    costs_fig = go.Figure(
        [
            go.Bar(name="gross bps", x=coins, y=gross),
            go.Bar(name="costs bps", x=coins, y=cost, text=share, textposition="outside"),
            go.Bar(name="net bps", x=coins, y=net),
        ]
    )
    costs_fig.update_layout(
        barmode="group",
        title="Gross edge, costs (with their share of the gross) and net, OOS bps summed over trades",
    )
    parts.append(costs_fig.to_html(full_html=False, include_plotlyjs=not curves, div_id="costs"))
    names, gcoins, z = _gate_matrix(rows)
    gates_fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=gcoins,
            zmin=0,
            zmax=1,
            colorscale=[[0, "#d62728"], [1, "#2ca02c"]],
            showscale=False,
            xgap=2,
            ygap=2,
        )
    )
    gates_fig.update_layout(
        title="Gate outcomes (green pass, red fail, blank not evaluated)",
        height=140 + 40 * max(1, len(gcoins)),
    )
    parts.append(gates_fig.to_html(full_html=False, include_plotlyjs=False, div_id="gates"))
    lines = sorted((roster or {}).get("coins", []), key=lambda c: c.get("rank") or 10**9)
    table = go.Figure(
        go.Table(
            header={
                "values": [
                    "rank",
                    "coin",
                    "trade ok",
                    "champion",
                    "DSR (own trials)",
                    "DSR (selection, N)",
                    "round trip bps",
                    "reason",
                ]
            },
            cells={
                "values": [
                    [c.get("rank") for c in lines],
                    [_coin_label(c) for c in lines],
                    ["yes" if c.get("trade_ok") else "no" for c in lines],
                    [c.get("model_id") or "" for c in lines],
                    [f"{v:.3f}" if (v := _num(c.get("deflated_sharpe"))) is not None else "" for c in lines],
                    [_selection_cell(c) for c in lines],
                    [f"{v:.2f}" if (v := _num(c.get("round_trip_bps"))) is not None else "" for c in lines],
                    [c.get("reason") or "" for c in lines],
                ]
            },
        )
    )
    table.update_layout(title=f"Roster of {day.isoformat()}", height=220 + 70 * max(1, len(lines)))
    parts.append(table.to_html(full_html=False, include_plotlyjs=False, div_id="roster"))
    if comparison and comparison.get("coins"):
        parts.append(_comparison_table(comparison, day))
    if forward and forward.get("available"):
        parts.append(_forward_table(forward, day))
    body = "\n".join(f"<section>{p}</section>" for p in parts)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Huracan model comparison '
        f"{day.isoformat()}</title></head><body><h1>Huracan: model comparison, {day.isoformat()}</h1>\n"
        f"<p>Out-of-sample walk-forward results after costs. Generated {datetime.now(UTC).isoformat()}.</p>\n"
        f"{body}\n</body></html>\n"
    )


def write_reports(
    settings: Settings, day: date, engine: Any = None, comparison: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write the night's three reports; returns their paths and the per-coin rows. `comparison` is the
    night's trading comparison (huracan_core.trading.comparison.compare_night), shown when given."""
    from huracan_core.brain.record import day_roster

    home = EngineHome(Path(settings.home))
    out = reports_dir(home, day)
    rows = _coin_rows(settings, home, day, engine)
    roster = day_roster(home, day)
    report = {
        "date": day.isoformat(),
        "generated_at": datetime.now(UTC).isoformat(),
        "evaluation": "out-of-sample walk-forward folds, after costs",
        "coins": rows,
        "n_coins": len(rows),
        "n_trade_ok": sum(bool(r["trade_ok"]) for r in rows),
        "roster": roster,
        "trading_comparison": comparison,
        "forward_record": forward_section(home, day),
    }
    paths = [write_json(out / "training_report.json", report)]
    flat = [
        {k: (v if not isinstance(v, dict | list) else None) for k, v in r.items() if k != "gates"}
        for r in rows
    ]
    buf = io.BytesIO()
    (pl.DataFrame(flat, infer_schema_length=None) if flat else pl.DataFrame({"symbol": []})).write_csv(buf)
    paths.append(write_bytes(out / "performance_analysis.csv", buf.getvalue()))
    page = _html(settings, day, rows, roster, comparison, report["forward_record"])
    paths.append(write_text(out / "model_comparison.html", page))
    return {"files": [str(p) for p in paths], "coins": len(rows)}
