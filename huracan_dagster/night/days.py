"""The day-level steps' rules: when a new universe may start a new night, and when a day-level step of
the current night is already complete."""

from __future__ import annotations

from datetime import date

from dagster import AssetExecutionContext, DagsterInstance, Failure

from huracan_core import stages
from huracan_core.config import Settings
from huracan_core.notify.milestones import notices, start_night
from huracan_core.universe import Universe
from huracan_dagster.night.state import TAG_FORCE, Generation, complete, day_done, generation
from huracan_dagster.partitions import symbols as symbols_partitions


def forced(context: AssetExecutionContext) -> bool:
    return context.run.tags.get(TAG_FORCE) == "true"


def choose_day_universe(
    context: AssetExecutionContext,
    settings: Settings,
    day: date,
    *,
    symbols: list[str] | None,
    top_n: int | None,
) -> tuple[Universe, str] | None:
    """Select the day's coins; store them and start a new night (a new generation) only when that is
    right: never with no coin, never the same coins again (the night stands: None), and never fewer coins
    than a finished night of the day unless the run is forced. Returns (universe, what it replaces)."""
    pins = sorted(set(symbols)) if symbols else None
    universe = stages.choose_universe(settings, day, symbols=pins, top_n=top_n)
    if not universe.selected:
        reasons = sorted({r.reason for r in universe.rows})[:5]
        raise Failure(
            f"the universe of {day} selects no coin ({len(universe.rows)} looked at: {'; '.join(reasons)}): "
            "nothing of the day is replaced",
            allow_retries=False,
        )
    gen = generation(context.instance, day)
    notes = ""
    if gen is not None and not forced(context):
        if set(universe.selected) == set(gen.symbols):
            context.log.info(
                f"the universe of {day} is unchanged ({len(gen.symbols)} coins): its night stands "
                f"(run {gen.run_id[:8]}); tag the run huracan/force=true to redo it"
            )
            return None
        finished = day_done(context.instance, "exports", day, gen) is not None
        if finished and len(universe.selected) < len(gen.symbols):
            raise Failure(
                f"{day} has a finished night of {len(gen.symbols)} coins; this selection has "
                f"{len(universe.selected)} ({', '.join(universe.selected[:10])}): refusing to replace it with "
                "fewer coins (tag the run huracan/force=true, or `huracan run --force`, to replace it)",
                allow_retries=False,
            )
    if gen is not None:
        notes = f"replaces the night of {len(gen.symbols)} coins started by run {gen.run_id[:8]}"
        context.log.warning(f"{day}: {notes}")
    stages.save_universe(settings, day, universe)
    known = set(context.instance.get_dynamic_partitions(symbols_partitions.name))
    new = [s for s in universe.selected if s not in known]  # in rank order: the day's coins stay together
    if new:
        context.instance.add_dynamic_partitions(symbols_partitions.name, new)
    stages.monitor_night(settings, day, "start")
    with notices(settings, day, warn=context.log.warning) as notifier:
        for problem in start_night(settings, day, notifier):
            context.log.warning(f"remote storage: {problem}")
    return universe, notes


def day_due(
    instance: DagsterInstance, settings: Settings, asset: str, day: date, *, force: bool = False
) -> tuple[Generation | None, str]:
    """(the generation a day-level step — market_context, shared_encoder — should compute for, why), with
    None when this generation already has it and its files verify: a rerun that heals one coin keeps the
    day's context and encoder, so the night's finished coins stay as they are."""
    gen = generation(instance, day)
    if gen is None:
        raise Failure(
            f"{asset} for {day}: the day has no universe yet: materialise `universe` for {day} first",
            allow_retries=False,
        )
    if force:
        return gen, "forced"
    meta = day_done(instance, asset, day, gen)
    problem = complete(settings, asset, day, None, meta)
    if problem is None:
        return None, f"{asset} of {day} is already complete in this generation: nothing to redo"
    return gen, ("redone: " + problem) if meta is not None else "due"


def day_step_due(
    context: AssetExecutionContext, settings: Settings, asset: str, day: date
) -> Generation | None:
    gen, why = day_due(context.instance, settings, asset, day, force=forced(context))
    if gen is None or why.startswith("redone"):
        (context.log.info if gen is None else context.log.warning)(why)
    return gen
