"""The schedule tick and the sensors, called directly, give the expected requests and partitions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dagster import DagsterInstance, SensorResult, build_schedule_context, build_sensor_context

from huracan_core.dates import last_complete_day
from huracan_dagster.defs.pipeline.plan import (
    STEP_BY_NAME,
    TAG_DATE,
    TAG_STEP,
    StepRequest,
    day_state,
    next_steps,
)
from huracan_dagster.defs.pipeline.sensors import chain_sensor
from huracan_dagster.defs.universe.schedules import nightly_universe
from huracan_dagster.defs.universe.sensors import symbols_sensor
from huracan_dagster.runner import execute


def test_schedule_tick_requests_yesterdays_universe(instance: DagsterInstance) -> None:
    ctx = build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 4, 21, 2, 0, tzinfo=UTC))
    request = nightly_universe(ctx)
    assert request.partition_key == "2026-04-20"
    assert request.job_name in (None, "universe_job")


def _universe(instance: DagsterInstance, day: str, top_n: int) -> None:
    step = StepRequest("universe", "universe_job", day, None, "", {TAG_DATE: day, TAG_STEP: f"universe:{day}"})
    outcome = execute(instance, step, {"ops": {"universe": {"config": {"symbols": None, "top_n": top_n}}}})
    assert outcome.success, outcome.error


def test_sensors_add_partitions_and_carry_the_chain(instance: DagsterInstance, home: Path) -> None:
    day = last_complete_day().isoformat()
    _universe(instance, day, 3)

    result = symbols_sensor(build_sensor_context(instance=instance))
    assert isinstance(result, SensorResult)
    added = [s for r in result.dynamic_partitions_requests for s in r.partition_keys]
    assert len(added) == 3 and all(s.endswith("-USDT") for s in added)
    assert len(result.run_requests) == 3
    assert {r.job_name for r in result.run_requests} == {"candles_job"}
    assert {r.partition_key.split("|")[0] for r in result.run_requests} == {day}
    # a second tick with the cursor advanced requests nothing new
    again = symbols_sensor(build_sensor_context(instance=instance, cursor=str(10**12)))
    assert not again.run_requests

    # before candles exist the chain sensor waits; after they land it asks for the market context
    instance.add_dynamic_partitions("symbols", added)
    assert not chain_sensor(build_sensor_context(instance=instance)).run_requests
    for request in result.run_requests:
        step = StepRequest("candles", "candles_job", request.partition_key, request.partition_key.split("|")[1],
                           request.run_key, dict(request.tags))
        assert execute(instance, step).success
    chained = chain_sensor(build_sensor_context(instance=instance))
    assert [(r.job_name, r.partition_key) for r in chained.run_requests] == [("market_context_job", day)]


def test_planner_failed_coin_never_blocks_the_others(instance: DagsterInstance, home: Path, monkeypatch) -> None:
    from huracan_core import stages

    day = last_complete_day()
    _universe(instance, day.isoformat(), 3)
    gen = day_state(instance, day).generation
    instance.add_dynamic_partitions("symbols", gen.symbols)
    bad = gen.symbols[0]
    real = stages.candles_stage

    def flaky(settings, d, symbol):  # type: ignore[no-untyped-def]
        if symbol == bad:
            raise RuntimeError("exchange said no")
        return real(settings, d, symbol)

    monkeypatch.setattr(stages, "candles_stage", flaky)
    for step in next_steps(day_state(instance, day), skip_started=False):
        assert step.step == "candles"
        execute(instance, step)
    state = day_state(instance, day)
    assert len(state.failed["candles"]) == 1 and len(state.done["candles"]) == 2
    nxt = next_steps(state)
    assert [s.step for s in nxt] == ["market_context"]
    # the failed coin is terminal for its chain: features wait only for the two good coins
    assert state.blocked(STEP_BY_NAME["features"], f"{day.isoformat()}|{bad}")
    from huracan_core.ledger import RunLedger
    from huracan_core.paths import EngineHome

    entry = RunLedger(EngineHome(home), day).get(bad)
    assert entry.status == "failed" and entry.stage == "candles" and entry.error_type == "RuntimeError"


def test_model_runs_carry_a_max_runtime_tag(home: Path) -> None:
    from datetime import date

    from huracan_core.config import load_settings
    from huracan_dagster.defs.pipeline.plan import DayState, Generation

    training = load_settings().training
    day = date(2026, 4, 20)
    key = "2026-04-20|BTC-USDT"
    state = DayState(day, Generation("run-1", 1, ["BTC-USDT"], {}),
                     done={"candles": {key}, "market_context": {"2026-04-20"}, "features": {key},
                           "shared_encoder": {"2026-04-20"}})
    steps = next_steps(state, training=training)
    assert [(s.step, s.partition_key) for s in steps] == [("model", key)]
    assert steps[0].tags["dagster/max_runtime"] == str(45 * 60 * 3 + 600)  # 3 attempts of 45 min + backoff
    assert steps[0].run_key == f"run-1:model:{key}"
