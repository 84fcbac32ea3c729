"""`decide` against the simulator on recorded history: the same decision at every bar, point in time.

The world (decide_world.py): real daily bars of BTC, ETH and AVAX, one night (2024-11-01) through every
stage, AVAX's model trained and promoted, then 40 daily bars to decide on.

The simulator's side is built once, on the whole stretch: the features up to its last bar, the simulator's
plan (votes, consensus, costs, direction), and `simulate` over the stretch with a trace of every decision
and the account state it was taken from. `decide(at=close of bar t)` is then called with that state for
every bar t, reading the candle cache itself, and must give the same signal, action and size.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from huracan_core.trading import decide as decide_mod
from huracan_core.trading.decide import coin_plan, decide
from huracan_core.trading.live import (
    ChampionCorrupt,
    ChampionMissing,
    current_champion,
    decision_features,
    latest_closed_bar,
)
from huracan_core.trading.rules import SIDES, OpenPosition
from huracan_core.trading.simulator import BarTrace, CoinPlan, simulate, window
from huracan_core.training.artifacts import load_model
from tests.core.trading.decide_world import COIN, NIGHT, STRETCH_BARS, World, build_world

DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> World:
    return build_world(tmp_path_factory.mktemp("decide_world"), shared_data)


@pytest.fixture(scope="module")
def simulated(world: World) -> tuple[CoinPlan, list[BarTrace]]:
    """The simulator over the stretch: its plan (on features up to the stretch's last bar) and its trace."""
    settings = world.settings
    champion = current_champion(settings, COIN, world.first_close)
    model = load_model(champion.model_dir)
    last_open = world.closes()[-1] - timedelta(days=1)
    live = decision_features(settings, champion, last_open, sync=True)  # fills the cache to the stretch end
    plan, _ = coin_plan(settings, champion, model, live.frame, live.recipe_hash)
    start = int(world.first_close.timestamp() * 1000)  # the first bar after the night
    trace: list[BarTrace] = []
    simulate([window(plan, start, int(last_open.timestamp() * 1000))], settings.trading, trace=trace)
    return plan, trace


def mismatches(world: World, plan: CoinPlan, trace: list[BarTrace]) -> list[str]:
    """Every field where decide(at=close of the traced bar) differs from the simulator, one line each."""
    out: list[str] = []
    index = {int(t): j for j, t in enumerate(plan.timestamp_ms)}
    for tr in trace:
        at = datetime.fromtimestamp((tr.timestamp_ms + DAY_MS) / 1000, tz=UTC)  # the bar's close
        d = decide(
            world.settings,
            COIN,
            at=at,
            open_positions=tr.positions,
            equity=tr.equity,
            day_start_equity=tr.day_start_equity,
            loss_streak=tr.loss_streak,
            halted=tr.halted,
            record=False,
            sync=False,
        )
        j = index[tr.timestamp_ms]
        side = tr.target if tr.action in ("open", "reverse", "hold") else 0
        want: dict[str, Any] = {
            "bar_time_ms": (int(d.bar_time.timestamp() * 1000), tr.timestamp_ms),
            "signal": (d.signal, SIDES[int(plan.direction[j])]),
            "action": (d.action, tr.action),
            "direction": (d.direction, SIDES[side]),
            "confidence": (d.confidence, float(plan.confidence[j])),
            "score": (d.score, float(plan.score[j])),
            "score_std": (d.score_std, float(plan.score_std[j])),
            "edge": (d.expected_edge_bps, float(plan.edge_bps[j])),
            "cost_threshold": (d.cost_threshold_bps, float(plan.cost_threshold_bps[j])),
            "vol_alarm": (d.breakers["volatility"]["defence"], bool(plan.vol_alarm[j])),
            "notional": (d.size["notional"], tr.size.notional if tr.size else 0.0),
            "risk": (d.size["risk"], tr.size.risk if tr.size else 0.0),
        }
        if tr.size is not None:
            want["bound_by"] = (d.size["bound_by"], tr.size.bound_by)
        for name, (got, expected) in want.items():
            same = (
                np.isclose(got, expected, rtol=1e-9, atol=1e-12)
                if isinstance(expected, float) and got is not None
                else got == expected
            )
            if not same:
                out.append(f"{at:%Y-%m-%d} {name}: decide {got!r} != simulator {expected!r}")
    return out


def test_latest_closed_bar_is_the_bar_that_has_closed() -> None:
    at = datetime(2024, 11, 10, tzinfo=UTC)
    assert latest_closed_bar(at, 86400) == datetime(2024, 11, 9, tzinfo=UTC)  # it closes exactly at `at`
    assert latest_closed_bar(at - timedelta(milliseconds=1), 86400) == datetime(2024, 11, 8, tzinfo=UTC)
    assert latest_closed_bar(datetime(2024, 11, 10, 13, 59, tzinfo=UTC), 3600) == datetime(
        2024, 11, 10, 12, tzinfo=UTC
    )


def test_decision_features_are_the_nights_features(world: World, simulated: Any) -> None:
    """On the bars the champion's night saw, the live frame is that night's features file, bit for bit
    (same window, market context, recipe); a later cut-off only appends bars."""
    from huracan_core.stages import load_features

    settings = world.settings
    champion = current_champion(settings, COIN, world.first_close)
    night = load_features(settings, NIGHT, COIN)
    at_night = decision_features(settings, champion, world.first_close - timedelta(days=1), sync=False)
    assert at_night.frame.equals(night)
    later = decision_features(settings, champion, world.closes()[-1] - timedelta(days=1), sync=False)
    assert later.frame.height == night.height + STRETCH_BARS
    assert later.frame.head(night.height).equals(night)
    assert set(later.market_coins) == {"BTC-USDT", "ETH-USDT", COIN} and not later.notes


def test_decide_equals_the_simulator_on_every_bar(world: World, simulated: Any) -> None:
    plan, trace = simulated
    assert len(trace) == STRETCH_BARS - 1  # every bar with a next bar to fill at
    actions = {tr.action for tr in trace}
    assert {"open", "hold", "close", "none"} <= actions  # the stretch sizes, holds and exits positions
    assert not mismatches(world, plan, trace)


def test_reading_a_bar_not_closed_at_at_breaks_the_equality(
    world: World, simulated: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same comparison with decide's cut-off moved one bar late (it reads the bar still open at `at`)
    fails on every bar: the decision is the next bar's, its numbers differ from the simulator's."""
    plan, trace = simulated
    honest = latest_closed_bar
    monkeypatch.setattr(
        decide_mod,
        "latest_closed_bar",
        lambda at, bar_seconds: honest(at, bar_seconds) + timedelta(seconds=bar_seconds),
    )
    found = mismatches(world, plan, trace[:-1])  # the last traced bar's next bar is past the cache
    assert sum("bar_time_ms" in m for m in found) == len(trace) - 1
    assert sum(" score:" in m for m in found) >= (len(trace) - 1) // 2


def test_the_kill_switch_turns_every_decision_flat_with_its_reason(world: World, simulated: Any) -> None:
    from huracan_core.paths import EngineHome
    from huracan_core.trading.killswitch import set_kill_switch

    plan, trace = simulated
    opened = next(tr for tr in trace if tr.action == "open")
    held = next(tr for tr in trace if tr.action == "hold")
    home = EngineHome(world.settings.home)

    def at(tr: BarTrace) -> datetime:
        return datetime.fromtimestamp((tr.timestamp_ms + DAY_MS) / 1000, tz=UTC)

    def ask(tr: BarTrace) -> Any:
        return decide(world.settings, COIN, at=at(tr), open_positions=tr.positions, record=False, sync=False)

    assert ask(opened).action == "open" and ask(opened).direction == "long"
    set_kill_switch(home, True)  # no reason: an emergency stop never refuses
    try:
        d = ask(opened)
        assert (d.direction, d.action, d.signal) == ("flat", "none", "long")
        assert d.size["notional"] == 0.0 and d.kill_switch["on"]
        assert any("kill switch on" in r and "manual" in r and "@" in r for r in d.reasons), d.reasons
        h = ask(held)  # a held position is closed, not kept
        assert (h.direction, h.action) == ("flat", "close")
    finally:
        set_kill_switch(home, False)
    assert ask(opened).action == "open"


def test_a_held_position_and_other_coins_bind_the_size(world: World, simulated: Any) -> None:
    """The bot's other positions count against the caps: a book already at max leverage leaves no room."""
    plan, trace = simulated
    opened = next(tr for tr in trace if tr.action == "open")
    at = datetime.fromtimestamp((opened.timestamp_ms + DAY_MS) / 1000, tz=UTC)
    full = [OpenPosition("BTC-USDT", 1, 2.0 * opened.equity, 0.001)]  # gross notional = 2x equity
    d = decide(
        world.settings, COIN, at=at, open_positions=full, equity=opened.equity, record=False, sync=False
    )
    assert (d.action, d.direction, d.size["notional"]) == ("none", "flat", 0.0)
    assert "max leverage" in d.size["bound_by"]
    with pytest.raises(ValueError, match="twice"):
        decide(world.settings, COIN, at=at, open_positions=full * 2, record=False, sync=False)


def test_a_missing_or_corrupt_champion_is_a_clear_error(world: World, simulated: Any) -> None:
    settings = world.settings
    with pytest.raises(ChampionMissing, match=r"no champion for BTC-USDT: .*champions/BTC-USDT.json"):
        decide(settings, "BTC-USDT", record=False, sync=False)
    with pytest.raises(ChampionMissing, match="nights up to 2024-10-31"):
        decide(settings, COIN, at=datetime(2024, 11, 1, 12, tzinfo=UTC), record=False, sync=False)
    champion = current_champion(settings, COIN)
    model_bin = champion.model_dir / "model.bin"
    original = model_bin.read_bytes()
    try:
        model_bin.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        for at in (world.closes()[0], None):  # the champion in force then, and the latest pointer
            with pytest.raises(ChampionCorrupt, match=r"model.bin sha256 .* does not match sha256.txt"):
                decide(settings, COIN, at=at, record=False, sync=False)
    finally:
        model_bin.write_bytes(original)


def test_the_decision_json_names_every_field_a_bot_reads(world: World, simulated: Any) -> None:
    d = decide(world.settings, COIN, at=world.closes()[3], record=False, sync=False).to_json()
    for key in (
        "direction",
        "confidence",
        "score",
        "score_threshold",
        "expected_edge_bps",
        "round_trip_bps",
        "safety_margin_bps",
        "edge_margin_bps",
        "size",
        "breakers",
        "kill_switch",
        "model_id",
        "reasons",
        "bar_time",
    ):
        assert key in d, key
    assert d["direction"] in ("long", "short", "flat") and 0 <= d["confidence"] <= 100
    assert d["model_id"].startswith(COIN) and d["bar_time"].startswith("2024-11-05")


def with_brain(settings: Any, url: str) -> Any:
    return settings.model_copy(update={"database": type(settings.database)(url=url)})


@pytest.fixture(params=["sqlite", "postgresql"])
def brain_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'brain.sqlite'}"
        return
    from tests.support.postgres import PG, fresh_database

    with fresh_database("huracan_decide") as db:
        yield f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{db}"


def test_each_decision_is_stored_in_the_brain_and_exported(
    world: World, simulated: Any, brain_url: str
) -> None:
    import json

    from huracan_core.trading.decision_store import (
        _ENGINES,
        brain_engine,
        decisions_of,
        detail_of,
        export_decisions,
    )

    settings = with_brain(world.settings, brain_url)
    _, trace = simulated
    opened = next(tr for tr in trace if tr.action == "open")
    bar = datetime.fromtimestamp(opened.timestamp_ms / 1000, tz=UTC)
    made = [
        decide(settings, COIN, at=bar + timedelta(days=1), open_positions=opened.positions, sync=False),
        decide(settings, COIN, at=bar + timedelta(days=1, hours=5), sync=False),  # same bar, asked later
        decide(settings, COIN, at=bar + timedelta(days=2), sync=False),  # the next bar: another day
    ]
    assert all(d.stored["stored"] for d in made), [d.stored for d in made]
    try:
        engine = brain_engine(brain_url)
        rows = decisions_of(engine, bar.date())
        assert [r["id"] for r in rows] == [made[0].stored["id"], made[1].stored["id"]]
        assert rows[0]["action"] == "open" and rows[0]["notional"] == pytest.approx(made[0].size["notional"])
        whole = {k: v for k, v in made[0].to_json().items() if k != "stored"}
        assert detail_of(rows[0]) == json.loads(json.dumps(whole))
        path, n = export_decisions(engine, bar.date(), world.root / "exports" / brain_url.split(":")[0])
        assert path.name == f"decisions_{bar.date().isoformat()}.csv" and n == 2
        csv = pl.read_csv(path)
        assert csv.height == 2 and csv["symbol"].to_list() == [COIN, COIN]
        assert csv["action"][0] == "open" and "size bound by" in csv["reasons"][0]
        empty, none = export_decisions(
            engine, bar.date() - timedelta(days=30), world.root / "exports" / "empty"
        )
        assert none == 0 and empty.read_text().startswith("id,decided_at,")
    finally:
        _ENGINES.pop(brain_url).dispose()


def test_a_brain_that_is_down_never_withholds_the_decision(world: World, simulated: Any) -> None:
    settings = with_brain(world.settings, "postgresql+psycopg://nobody:secret@127.0.0.1:9/none")
    d = decide(settings, COIN, at=world.closes()[5], sync=False)
    assert d.direction in ("long", "flat") and not d.stored["stored"]
    assert "Brain Library" in d.stored["error"] and "secret" not in d.stored["error"]
