"""One step materialises one layer for every coin of a date: the per-coin assets' shared body.

A ranged run (`context.partition_keys`: date x symbol keys, one or more dates) hands each date's coins to
the layer's work function, which runs them concurrently (threads for I/O, Ray for training) and yields
each coin's result as it finishes. The step reports every coin at once, on its own partition:
- done: an `AssetMaterialization` (with its checks, e.g. the model's gates);
- not done for a reason (skipped: too little data): an `AssetObservation` with `status: skipped` — the
  UI shows no materialisation, so nothing looks trained that was not;
- failed: an `AssetObservation` with `status: failed` and the error; the step raises `Failure` at the end,
  so the failed coins' partitions show failed (red) and the run can be re-executed from the UI.
Keys of the range that are not the night's to do are left alone, each group with one log line: coins
outside the day's universe, coins whose upstream layer has no output in this generation (it failed: that
layer shows why), and coins already complete in this generation whose outputs still verify (unless the run
carries `huracan/force=true`). So a re-execution of a failed run redoes the failed coins only.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    DagsterExecutionInterruptedError,
    DagsterInstance,
    Failure,
)

from huracan_core.config import Settings
from huracan_core.logs import bind_context, clear_context, configure_logging
from huracan_core.notify.milestones import failed_text
from huracan_core.notify.telegram import Notifier
from huracan_core.paths import EngineHome
from huracan_dagster.night.state import (
    STATUS_KEY,
    TAG_FORCE,
    UPSTREAM,
    Generation,
    LayerState,
    complete,
    generation,
    layer_state,
    write_status,
)
from huracan_dagster.partitions import coin_key, split_key

STATUS_EVERY_S = 2.0  # at most this often the night's status.json is rebuilt while a layer runs


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)
    severity: AssetCheckSeverity = AssetCheckSeverity.WARN


@dataclass
class CoinResult:
    status: Literal["done", "skipped", "failed"]
    metadata: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    error: str | None = None
    error_type: str | None = None

    @classmethod
    def failed(cls, exc: BaseException | str, error_type: str | None = None, **metadata: Any) -> CoinResult:
        text = str(exc).strip() if isinstance(exc, BaseException) else exc
        kind = error_type or (type(exc).__name__ if isinstance(exc, BaseException) else "Error")
        return cls("failed", metadata, error=(text or kind)[:2000], error_type=kind)


Work = Callable[[Settings, date, list[str]], Iterable[tuple[str, CoinResult]]]


def threaded(
    fn: Callable[[str], CoinResult], symbols: list[str], workers: int | None = None
) -> Iterator[tuple[str, CoinResult]]:
    """Run `fn` for each coin in a thread pool, yielding (coin, result) as each finishes; an exception
    is that coin's failure, never the others'."""
    if not symbols:
        return
    workers = max(1, min(workers or (os.cpu_count() or 1), len(symbols)))
    with ThreadPoolExecutor(workers, thread_name_prefix="huracan-coin") as pool:
        pending: dict[Future[CoinResult], str] = {pool.submit(fn, s): s for s in symbols}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                symbol = pending.pop(future)
                try:
                    yield symbol, future.result()
                except Exception as exc:  # noqa: BLE001 - one coin's error is that coin's outcome
                    yield symbol, CoinResult.failed(exc)


def by_date(keys: Iterable[str]) -> dict[date, list[str]]:
    out: dict[date, list[str]] = {}
    for key in keys:
        day, symbol = split_key(key)
        out.setdefault(day, []).append(symbol)
    return dict(sorted(out.items()))


def first_day(keys: Iterable[str]) -> date:
    """The earliest date of a run's keys (daily or date x symbol)."""
    return min(date.fromisoformat(str(k).split("|")[0]) for k in keys)


def start_logging(context: AssetExecutionContext, settings: Settings, stage: str) -> None:
    configure_logging(EngineHome(settings.home).logs_dir(), run_id=context.run_id)
    clear_context("symbol", "date")
    bind_context(run_id=context.run_id, stage=stage)


@dataclass
class DayPlan:
    """Which coins of one date this run does, and why it leaves the others."""

    day: date
    gen: Generation
    todo: list[str]
    outside: list[str]
    upstream_missing: list[str]
    complete: list[str]
    skipped: list[str] = field(default_factory=list)  # skipped before on the inputs they still have


def plan_coins(
    instance: DagsterInstance,
    settings: Settings,
    asset: str,
    day: date,
    coins: list[str],
    *,
    force: bool = False,
    warn: Callable[[str], None] | None = None,
) -> DayPlan:
    """Which of `coins` the layer `asset` has to do for `day` in its current generation: the step and
    `huracan run` both decide with this."""
    gen = generation(instance, day)
    if gen is None:
        raise Failure(
            f"{asset} for {day}: the day has no universe yet: materialise `universe` for {day} first",
            allow_retries=False,
        )
    members = [c for c in coins if c in set(gen.symbols)]
    outside = [c for c in coins if c not in set(gen.symbols)]
    keys = {c: str(coin_key(day, c)) for c in members}
    ready = members
    upstream_missing: list[str] = []
    up: LayerState | None = None
    if asset in UPSTREAM:
        up = layer_state(instance, UPSTREAM[asset], list(keys.values()), gen)
        ready = [c for c in members if keys[c] in up.done]
        upstream_missing = [c for c in members if keys[c] not in up.done]
    done: list[str] = []
    skipped: list[str] = []
    if not force:
        mine = layer_state(instance, asset, [keys[c] for c in ready], gen)
        for c in ready:
            key = keys[c]
            meta = mine.done.get(key)
            if meta is not None and (problem := complete(settings, asset, day, c, meta)) is None:
                done.append(c)
            elif meta is not None and warn is not None:
                warn(f"{asset} {c} {day}: redone: its recorded output {problem}")
            elif key in mine.skipped and (up is None or mine.storage_id[key] > up.storage_id[key]):
                skipped.append(c)  # skipped on the inputs it still has (too little data): same skip again
    todo = [c for c in ready if c not in set(done) | set(skipped)]
    return DayPlan(day, gen, todo, outside, upstream_missing, done, skipped)


def plan_day(
    context: AssetExecutionContext, settings: Settings, asset: str, day: date, coins: list[str]
) -> DayPlan:
    return plan_coins(
        context.instance,
        settings,
        asset,
        day,
        coins,
        force=context.run.tags.get(TAG_FORCE) == "true",
        warn=context.log.warning,
    )


def _say(context: AssetExecutionContext, plan: DayPlan, asset: str) -> None:
    def few(coins: list[str]) -> str:
        return ", ".join(coins[:8]) + (f" and {len(coins) - 8} more" if len(coins) > 8 else "")

    if plan.outside:
        context.log.info(
            f"{plan.day}: {len(plan.outside)} coin(s) of this range are not in the day's universe, "
            f"not part of this night: {few(plan.outside)}"
        )
    if plan.upstream_missing:
        context.log.warning(
            f"{plan.day}: {len(plan.upstream_missing)} coin(s) not run: {UPSTREAM[asset]} has no output for "
            f"them in this generation (see its failure): {few(plan.upstream_missing)}"
        )
    if plan.complete:
        context.log.info(
            f"{plan.day}: {len(plan.complete)} coin(s) already complete in this generation, outputs verified: "
            f"{few(plan.complete)} (tag the run huracan/force=true to redo them)"
        )
    if plan.skipped:
        context.log.info(
            f"{plan.day}: {len(plan.skipped)} coin(s) skipped before in this generation on the inputs they "
            f"still have, not retried: {few(plan.skipped)} (tag the run huracan/force=true to retry them)"
        )
    context.log.info(f"{plan.day}: {asset} for {len(plan.todo)} coin(s)")


INTERRUPTED = "Interrupted"


def interruption(exc: BaseException) -> str:
    """What stopped a step, in words (`SystemExit(15)` is Ray's handler of SIGTERM in a driver)."""
    if isinstance(exc, SystemExit) and exc.code in (signal.SIGTERM, 128 + signal.SIGTERM):
        return "interrupted: the process received SIGTERM"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted: the process received SIGINT (Ctrl-C)"
    if isinstance(exc, SystemExit):
        return f"interrupted: the process is exiting ({exc.code})"
    return "interrupted: the run was terminated"


@dataclass
class _Tally:
    failed: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"done": 0, "skipped": 0, "failed": 0})


def _report(
    context: AssetExecutionContext,
    asset: str,
    day: date,
    symbol: str,
    result: CoinResult,
    tally: _Tally,
    notifier: Notifier,
) -> Iterator[AssetMaterialization | AssetObservation | AssetCheckEvaluation]:
    """One coin's events on its own partition."""
    key = AssetKey(asset)
    pk = str(coin_key(day, symbol))
    tally.counts[result.status] += 1
    if result.status == "done":
        yield AssetMaterialization(asset_key=key, partition=pk, metadata=result.metadata)
        for check in result.checks:
            yield AssetCheckEvaluation(
                asset_key=key,
                check_name=check.name,
                passed=check.passed,
                partition=pk,
                metadata=check.metadata,
                description=check.description,
                severity=check.severity,
            )
        return
    meta = {STATUS_KEY: result.status, "stage": asset, **result.metadata}
    if result.status == "failed":
        meta.update(error=result.error or "", error_type=result.error_type or "")
        tally.failed[pk] = f"{result.error_type}: {result.error}"
        notifier.send(failed_text(symbol, asset, result.error))
        context.log.error(f"{asset} failed for {symbol} on {day}: {result.error_type}: {result.error}")
    yield AssetObservation(asset_key=key, partition=pk, metadata=meta)


def run_layer(
    context: AssetExecutionContext,
    settings: Settings,
    asset: str,
    work: Work,
    notifier: Notifier,
    *,
    on_plan: Callable[[DayPlan], None] | None = None,
) -> Iterator[AssetMaterialization | AssetObservation | AssetCheckEvaluation]:
    """The per-coin step: plan each date, run its coins, report each one on its partition, keep the
    night's status.json rebuilt from the records as it goes, and fail at the end if any coin failed
    (naming each). Stopped from outside (Ctrl-C, SIGTERM, a cancel in the UI), every coin it had not
    finished is reported failed as interrupted before the step ends."""
    tally = _Tally()
    for day, coins in by_date(context.partition_keys).items():
        plan = plan_day(context, settings, asset, day, coins)
        _say(context, plan, asset)
        if on_plan is not None:
            on_plan(plan)
        bind_context(date=day.isoformat())
        write_status(context.instance, settings, day)  # this run's coins show as running
        written = time.monotonic()
        reported: set[str] = set()
        try:
            for symbol, result in work(settings, day, plan.todo):
                reported.add(symbol)
                yield from _report(context, asset, day, symbol, result, tally, notifier)
                if time.monotonic() - written > STATUS_EVERY_S:  # status.json follows the night
                    write_status(context.instance, settings, day)
                    written = time.monotonic()
        except (KeyboardInterrupt, SystemExit, DagsterExecutionInterruptedError) as exc:
            why = interruption(exc)
            for symbol in plan.todo:
                if symbol not in reported:
                    yield from _report(
                        context, asset, day, symbol, CoinResult.failed(why, INTERRUPTED), tally, notifier
                    )
            write_status(context.instance, settings, day)
            raise
        write_status(context.instance, settings, day)
    counts = tally.counts
    context.log.info(
        f"{asset}: {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed"
    )
    if tally.failed:
        items = list(tally.failed.items())
        listed = "; ".join(f"{k.split('|')[1]} ({v[:200]})" for k, v in items[:10])
        more = f" and {len(items) - 10} more" if len(items) > 10 else ""
        raise Failure(
            description=f"{asset} failed for {len(items)} coin(s): {listed}{more}",
            metadata={
                "coins_failed": len(items),
                "coins_done": counts["done"],
                "failed": sorted(tally.failed),
            },
            allow_retries=False,
        )
