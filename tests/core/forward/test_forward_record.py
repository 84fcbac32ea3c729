"""The forward record on recorded history: what night D scores, how, and only with bars closed by D.

The world (world.py): real daily bars of BTC, ETH and AVAX; night 2024-11-01 hands out AVAX's champion,
night 2024-12-01 keeps it (its challenger cannot beat it) and scores it on the 30 daily bars since.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from huracan_core.atomic import read_json
from huracan_core.brain.db import open_brain
from huracan_core.brain.forward_export import forward_export_name, write_forward_export
from huracan_core.brain.record import record_forward
from huracan_core.dates import as_of_for
from huracan_core.forward import (
    forward_stage,
    forward_table,
    handouts_before,
)
from huracan_core.forward_records import forward_path
from huracan_core.training.artifacts import load_model
from tests.core.forward.world import (
    COIN,
    COINS,
    HANDED_OUT,
    NIGHT,
    World,
    brain_rows,
    clone,
    entry,
    records,
    run_night,
)

DAY = timedelta(days=1)


def recorded_opens(world: World, symbol: str) -> dict[datetime, float]:
    with open(world.root / "replay" / f"{symbol}.csv") as fh:
        return {
            datetime.fromtimestamp(int(r["timestamp"]) / 1000, tz=UTC): float(r["open"])
            for r in csv.DictReader(fh)
        }


def test_the_night_scores_the_earlier_champion_on_the_bars_after_its_hand_out_only(world: World) -> None:
    first = entry(world, HANDED_OUT)
    assert first["model_id"] and first["forward_days_live"] == 0  # handed out that night, nothing earlier
    assert records(world, HANDED_OUT) == []
    (rec,) = records(world)
    assert (rec.symbol, rec.model_id, rec.handed_out_on) == (COIN, first["model_id"], HANDED_OUT)
    assert rec.days_live == 30 and rec.scored_through == as_of_for(NIGHT)
    # decisions from the first bar that closed after the hand-out, to the last one whose exit (two opens
    # later) opened by the night's close: 30 daily bars, 28 decisions
    assert rec.first_bar == as_of_for(HANDED_OUT) and rec.last_bar == as_of_for(NIGHT) - 3 * DAY
    assert rec.bars == 28
    model = load_model(world.home.root / first["model_path"])
    assert model.oos_predictions["timestamp"].max() < rec.first_bar  # never the walk-forward's OOS bars
    assert rec.trades > 0


def test_fills_are_next_opens_and_every_trade_pays_both_legs(world: World) -> None:
    """The record is the model's own rule on its forward table: long when the prediction beats the bar's
    round trip + margin (spot: no shorts), in at the next open after paying a leg, out at the next open
    after the signal ends (or the last open of the night) paying the other; net bps summed over trades."""
    (rec,) = records(world)
    (handout,) = handouts_before(world.home, NIGHT)
    table = forward_table(world.settings, handout, NIGHT).table
    opens = recorded_opens(world, COIN)
    for t, fill, exit_ in zip(table["timestamp"], table["exec_price"], table["next_exec_price"], strict=True):
        assert fill == opens[t + DAY] and exit_ == opens[t + 2 * DAY]  # the recorded opens, never a close
    pred, thr = table["prediction_bps"].to_numpy(), table["threshold_bps"].to_numpy()
    assert np.isfinite(pred).all() and (thr > 0).all()
    held = np.append(np.where(pred > thr, 1, 0), 0)  # the last open of the night closes what is open
    prices = np.append(table["exec_price"].to_numpy(), table["next_exec_price"][-1])
    leg = np.append(table["leg_cost"].to_numpy(), table["leg_cost"][-1])
    trades, entry_i = [], None
    for i in range(len(held)):
        was = held[i - 1] if i else 0
        if held[i] and not was:
            entry_i = i
        elif was and not held[i]:
            trades.append(prices[i] / prices[entry_i] * (1 - leg[i]) / (1 + leg[entry_i]) - 1)
    assert rec.trades == len(trades) > 0
    assert rec.net_bps == pytest.approx(float(np.sum(trades)) * 1e4, rel=1e-9)
    assert rec.hit_rate == pytest.approx(np.mean(np.asarray(trades) > 0))
    assert rec.gross_bps > rec.net_bps  # costs were paid


def test_the_roster_carries_the_forward_record(world: World) -> None:
    (rec,) = records(world)
    line = entry(world, NIGHT)
    assert line["model_id"] == rec.model_id
    assert {k: line[k] for k in ("forward_since", "forward_days_live", "forward_trades")} == {
        "forward_since": HANDED_OUT.isoformat(),
        "forward_days_live": 30,
        "forward_trades": rec.trades,
    }
    assert line["forward_net_bps"] == rec.net_bps and line["forward_max_drawdown_pct"] == rec.max_drawdown_pct
    assert line["forward_demoted"] is False and line["trade_ok"] is True, line["reason"]
    other = entry(world, NIGHT, "BTC-USDT")  # no champion: no forward record
    assert other["forward_days_live"] is None and other["forward_trades"] is None


def test_bars_after_the_nights_close_never_change_its_record(world: World, tmp_path: Path) -> None:
    """A later night caches the bars after night D's close; then every one of them is rewritten (prices
    halved) at the source and in the cache. D's record computed again is the same, row for row, while the
    later night's record, which may read them, changes."""
    from huracan_core.candles.store import CandleStore
    from huracan_core.market.factory import build_source
    from huracan_core.stages import candle_window
    from huracan_core.storage import build_storage

    w = clone(world, tmp_path)
    settings = w.settings
    before = records(w)
    later = NIGHT + 10 * DAY
    forward_stage(settings, later)  # the cache now holds the bars after D's close
    (late,) = records(w, later)
    assert late.days_live == 40
    cut_ms = int(as_of_for(NIGHT).timestamp() * 1000)
    for coin in COINS:
        path = w.root / "replay" / f"{coin}.csv"
        lines = path.read_text().splitlines()
        out = [lines[0]]
        for line in lines[1:]:
            ts, o, h, lo, c, v = line.split(",")
            if int(ts) >= cut_ms:
                o, h, lo, c = (repr(float(x) / 2) for x in (o, h, lo, c))
            out.append(",".join((ts, o, h, lo, c, v)))
        path.write_text("\n".join(out) + "\n")
    store = CandleStore(w.home, build_storage(settings.storage))
    source = build_source(settings, as_of_for(later))
    since = candle_window(settings, HANDED_OUT)[0]
    for coin in COINS:
        store.sync(source, coin, "1d", since=since, until=as_of_for(later), force=True)
    cached = store.load(COIN, "1d", since, as_of_for(later))
    after_close = cached.filter(cached["timestamp"] >= as_of_for(NIGHT))
    assert after_close.height == 10
    assert after_close["open"][0] == pytest.approx(recorded_opens(world, COIN)[as_of_for(NIGHT)] / 2)
    forward_stage(settings, NIGHT)
    assert records(w) == before
    forward_stage(settings, later)
    (changed,) = records(w, later)
    assert changed.bars == late.bars and changed != late  # the later night does read the rewritten bars


def test_a_rerun_gives_the_same_rows_and_a_backfill_leaves_newer_nights_alone(
    world: World, tmp_path: Path
) -> None:
    w = clone(world, tmp_path)
    settings = w.settings
    engine = open_brain(settings)
    try:
        assert record_forward(settings, NIGHT, engine) == 1
        stored = brain_rows(engine, NIGHT)
        # today's cost settings are not the model's: its costs.json and config.json price the record
        forward_stage(w.with_settings(costs={"taker_fee_bps": 50.0, "safety_margin_bps": 25.0}), NIGHT)
        assert record_forward(settings, NIGHT, engine) == 1
        assert brain_rows(engine, NIGHT) == stored  # replaced, not duplicated, and the same
        (row,) = stored
        assert (row["symbol"], row["handed_out_on"], row["days_live"]) == (COIN, HANDED_OUT, 30)
        newer_file = forward_path(w.home, NIGHT).read_bytes()
        newer_roster = w.home.roster_on(NIGHT).read_bytes()
        # backfill: the hand-out night again (a new model, a new champion for that night), then a night
        # between the two, recorded too
        old_champion = entry(w, HANDED_OUT)["model_id"]
        run_night(settings, HANDED_OUT)
        assert entry(w, HANDED_OUT)["model_id"] != old_champion
        between = HANDED_OUT + 10 * DAY
        forward_stage(settings, between)
        record_forward(settings, between, engine)
        (mid,) = records(w, between)
        assert mid.model_id == entry(w, HANDED_OUT)["model_id"] and mid.days_live == 10
        assert forward_path(w.home, NIGHT).read_bytes() == newer_file
        assert w.home.roster_on(NIGHT).read_bytes() == newer_roster
        assert brain_rows(engine, NIGHT) == stored
    finally:
        engine.dispose()


def test_the_export_is_the_brains_rows(world: World, tmp_path: Path) -> None:
    w = clone(world, tmp_path)
    engine = open_brain(w.settings)
    try:
        record_forward(w.settings, NIGHT, engine)
        (row,) = brain_rows(engine, NIGHT)
        out = tmp_path / "exports"
        assert write_forward_export(engine, NIGHT, out) == {forward_export_name(NIGHT): 1}
        assert write_forward_export(engine, HANDED_OUT, out / "empty") == {forward_export_name(HANDED_OUT): 0}
    finally:
        engine.dispose()
    with open(out / forward_export_name(NIGHT)) as fh:
        (line,) = list(csv.DictReader(fh))
    assert line["symbol"] == COIN and line["model_id"] == row["model_id"]
    assert int(line["trades"]) == row["trades"] and float(line["net_bps"]) == row["net_bps"]
    assert line["handed_out_on"] == HANDED_OUT.isoformat() and line["demoted"] == "false"
    assert (
        (out / "empty" / forward_export_name(HANDED_OUT))
        .read_text()
        .startswith("date,symbol,model_id,handed_out_on")
    )


def test_the_report_shows_the_forward_record(world: World, tmp_path: Path) -> None:
    from huracan_core.reports import write_reports
    from huracan_core.reports.report import reports_dir

    w = clone(world, tmp_path)
    write_reports(w.settings, NIGHT)
    folder = reports_dir(w.home, NIGHT)
    section = read_json(folder / "training_report.json")["forward_record"]
    (rec,) = records(w)
    assert section["available"] and section["records"] == [rec.to_json()]
    assert section["summary"]["trades"] == rec.trades
    page = (folder / "model_comparison.html").read_text()
    assert 'id="forward"' in page and rec.model_id in page
    forward_path(w.home, HANDED_OUT).unlink()  # a night the forward stage did not run for
    write_reports(w.settings, HANDED_OUT)
    missing = read_json(reports_dir(w.home, HANDED_OUT) / "training_report.json")["forward_record"]
    assert missing["available"] is False and "did not run" in missing["why"]


def test_recording_the_night_records_its_forward_rows(world: World, tmp_path: Path) -> None:
    """publish_stage's record_night writes the forward rows in the night's one transaction."""
    from huracan_core.brain.record import record_night

    w = clone(world, tmp_path)
    engine = open_brain(w.settings)
    try:
        assert record_night(w.settings, NIGHT, engine)["forward_records"] == 1
        (row,) = brain_rows(engine, NIGHT)
        (rec,) = records(w)
        assert (row["model_id"], row["trades"], row["net_bps"]) == (rec.model_id, rec.trades, rec.net_bps)
        assert record_night(w.settings, NIGHT, engine)["forward_records"] == 1
        assert brain_rows(engine, NIGHT) == [row]
    finally:
        engine.dispose()


def test_a_champion_that_cannot_be_scored_is_named_and_the_night_goes_on(
    world: World, tmp_path: Path
) -> None:
    w = clone(world, tmp_path)
    model_dir = w.home.root / entry(w, HANDED_OUT)["model_path"]
    (model_dir / "costs.json").write_text("{}")  # no longer matches its sha256.txt
    summary = forward_stage(w.settings, NIGHT)
    (rec,) = records(w)
    assert rec.reason is not None and rec.reason.startswith(f"not scored: {COIN} champion {rec.model_id}")
    assert "costs.json" in rec.reason and (rec.trades, rec.demoted) == (0, False)
    assert (summary["champions"], summary["scored"]) == (1, 0)
