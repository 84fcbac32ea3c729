"""The forward record over consecutive replayed nights: which champions each night hands out, and how the
champions of earlier nights have traded since their hand-out (after costs), with the demotions.

Each night D runs in this one process, in order: `stages.plain_night` (universe .. candles .. market
context .. features .. shared encoder .. every coin's model and champion decision .. roster), then
`forward.forward_stage` (every earlier champion scored through D's close), the roster again so it carries
the forward_* fields and the demotions (a no-op once roster_stage calls forward_stage itself), the forward
rows recorded in the Brain Library (`brain.record.record_forward`), `forward_record.csv` exported from it,
and the latest pointers moved (`roster.publish_latest`). The trading comparison, the rest of the brain and
the reports are not run: they do not feed the forward record.

The market is the recorded hourly Binance coins (HURACAN_MARKET__SOURCE=replay, HURACAN_MARKET__TIMEFRAME=1h,
HURACAN_MARKET__REPLAY_DIR=../shared/data/binance/1h-2022-2025 unless set), every other setting the engine's
default, except the gates with `--gates relaxed` (named in the output). Whatever the gates, each night's
table also counts the night's models that pass the DEFAULT gates (from their metrics.json), so one run
answers whether default gates hand out any champion on these coins.

    .venv/bin/python benchmarks/forward_record.py --start 2025-05-01 --nights 30 --gates relaxed \\
        --home /tmp/forward_bench
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from huracan_core.atomic import read_json, write_json  # noqa: E402
from huracan_core.config import GateSettings, load_settings  # noqa: E402
from huracan_core.paths import EngineHome  # noqa: E402

REPLAY = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance" / "1h-2022-2025"
# relaxed: a champion must still have made money out of sample after costs, over at least 30 trades, with
# a drawdown under 50 %; the Sharpe, hit-rate and deflated-Sharpe bars are dropped
RELAXED_GATES = {
    "min_sharpe": 0.0,
    "min_hit_rate": 0.0,
    "min_net_pnl_bps": 0.0,
    "max_drawdown_pct": 50.0,
    "min_trades": 30,
    "min_deflated_sharpe": 0.0,
}


def _models_of_night(home: EngineHome, day: date) -> list[dict[str, Any]]:
    """metrics.json of every model the night trained (the night's status.json names their folders)."""
    from huracan_core.ledger import RunLedger

    out = []
    for symbol, entry in sorted(RunLedger(home, day).entries().items()):
        if entry.status == "success" and entry.output_path:
            path = Path(entry.output_path) / "metrics.json"
            if path.is_file():
                out.append({"symbol": symbol, **read_json(path)})
    return out


def run_night(settings: Any, day: date, symbols: list[str] | None = None) -> dict[str, Any]:
    """One night through the forward record; returns its line of the table."""
    from huracan_core import stages
    from huracan_core.brain.db import open_brain
    from huracan_core.brain.forward_export import write_forward_export
    from huracan_core.brain.record import record_forward
    from huracan_core.forward import forward_stage
    from huracan_core.forward_records import load_forward
    from huracan_core.gates import evaluate_gates
    from huracan_core.roster import publish_latest

    home = EngineHome(Path(settings.home))
    t0 = time.perf_counter()
    stages.plain_night(settings, day, symbols=symbols)
    t1 = time.perf_counter()
    forward = forward_stage(settings, day)
    roster = stages.roster_stage(settings, day)
    engine = open_brain(settings)
    try:
        recorded = record_forward(settings, day, engine)
        exported = write_forward_export(engine, day, home.exports_dir(day))
    finally:
        engine.dispose()
    publish_latest(home, day)
    t2 = time.perf_counter()
    records = load_forward(home, day)["records"]
    models = _models_of_night(home, day)
    default_pass = [m["symbol"] for m in models if evaluate_gates(m, GateSettings()).passed]
    champions = [c for c in roster["coins"] if c.get("model_id")]
    return {
        "night": day.isoformat(),
        "models": len(models),
        "pass_default_gates": default_pass,
        "pass_night_gates": [m["symbol"] for m in models if (m.get("gates") or {}).get("passed")],
        "champions": [c["symbol"] for c in champions],
        "new_champions": [c["symbol"] for c in champions if c.get("model_training_date") == day.isoformat()],
        "trade_ok": [c["symbol"] for c in roster["coins"] if c.get("trade_ok")],
        "scored": len(records),
        "forward_trades": sum(r.trades for r in records),
        "forward_net_bps": float(sum(r.net_bps for r in records)),
        "demoted": [r.symbol for r in records if r.demoted],
        "records": [r.to_json() for r in records],
        "brain_rows": recorded,
        "export_rows": exported,
        "night_seconds": round(t1 - t0, 1),
        "forward_seconds": forward["seconds"],
        "total_seconds": round(t2 - t0, 1),
    }


def _table(lines: list[dict[str, Any]]) -> str:
    head = (
        "| night | models | pass default gates | champions (new) | scored | fwd trades | fwd net bps | "
        "demoted | s |\n|---|---|---|---|---|---|---|---|---|"
    )
    rows = [
        f"| {x['night']} | {x['models']} | {len(x['pass_default_gates'])} | {len(x['champions'])} "
        f"({len(x['new_champions'])}) | {x['scored']} | {x['forward_trades']} | {x['forward_net_bps']:+.0f} | "
        f"{', '.join(x['demoted']) or '-'} | {x['total_seconds']:.0f} |"
        for x in lines
    ]
    return "\n".join([head, *rows])


def _handout_table(lines: list[dict[str, Any]]) -> str:
    """Each hand-out's latest record over the run: how every champion did for as long as it was scored."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        for r in line["records"]:
            last[(r["symbol"], r["model_id"])] = {**r, "night": line["night"]}
    head = (
        "| coin | handed out | last scored | days live | trades | net bps | max dd % | hit rate | demoted |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    rows = [
        f"| {r['symbol']} | {r['handed_out_on']} | {r['night']} | {r['days_live']} | {r['trades']} | "
        f"{r['net_bps']:+.0f} | {r['max_drawdown_pct']:.2f} | "
        f"{'' if r['hit_rate'] is None else format(r['hit_rate'], '.0%')} | {'yes' if r['demoted'] else 'no'} |"
        for r in sorted(last.values(), key=lambda r: (r["handed_out_on"], r["symbol"]))
    ]
    return "\n".join([head, *rows])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 5, 1))
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--gates", choices=("default", "relaxed"), default="relaxed")
    parser.add_argument("--coins", default=None, help="comma-separated coins (default: the universe's)")
    parser.add_argument("--home", type=Path, default=None, help="a fresh engine home (never the repo's)")
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON of every night (default: HOME/forward_benchmark.json)"
    )
    parser.add_argument(
        "--summarise", type=Path, default=None, help="print the tables of a finished run's JSON"
    )
    args = parser.parse_args()
    if args.summarise is not None:
        done = read_json(args.summarise)
        print(f"gates {done['gates']}; {len(done['nights'])} nights in {done['seconds'] / 60:.1f} min")
        print(_table(done["nights"]))
        print(_handout_table(done["nights"]))
        return
    if args.home is None:
        parser.error("--home is required (a fresh engine home, never the repo's)")
    os.environ.setdefault("HURACAN_MARKET__SOURCE", "replay")
    os.environ.setdefault("HURACAN_MARKET__TIMEFRAME", "1h")
    os.environ.setdefault("HURACAN_MARKET__REPLAY_DIR", str(REPLAY))
    overrides: dict[str, Any] = {
        "home": str(args.home),
        "database": {"url": f"sqlite:///{args.home.resolve() / 'brain.sqlite'}"},
        "training": {"mode": "sequential"},
    }
    if args.gates == "relaxed":
        overrides["gates"] = RELAXED_GATES
    settings = load_settings(**overrides)
    print(
        f"market {settings.market.source} {settings.market.timeframe} {settings.market.replay_dir}, "
        f"lookback {settings.market.lookback_days} d; gates {args.gates}: {settings.gates.model_dump()}; "
        f"forward rule {settings.forward.model_dump()}",
        flush=True,
    )
    lines = []
    started = time.perf_counter()
    for k in range(args.nights):
        day = args.start + timedelta(days=k)
        line = run_night(settings, day, args.coins.split(",") if args.coins else None)
        lines.append(line)
        print(
            f"{line['night']}: champions {line['champions']} (new {line['new_champions']}), trade_ok "
            f"{line['trade_ok']}, pass default gates {line['pass_default_gates']}; scored {line['scored']}, "
            f"forward trades {line['forward_trades']}, net {line['forward_net_bps']:+.0f} bps, demoted "
            f"{line['demoted']}; {line['total_seconds']:.0f} s (forward {line['forward_seconds']:.1f} s)",
            flush=True,
        )
    total = time.perf_counter() - started
    out = args.out or args.home / "forward_benchmark.json"
    write_json(
        out,
        {
            "gates": args.gates,
            "settings": json.loads(settings.model_dump_json()),
            "nights": lines,
            "seconds": total,
        },
    )
    print(_table(lines))
    print(_handout_table(lines))
    print(f"{args.nights} nights in {total / 60:.1f} min; every night's records in {out}")


if __name__ == "__main__":
    main()
