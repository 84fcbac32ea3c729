"""`shared_encoder` (daily) and `model` (date × symbol) with its gates as blocking asset checks."""

from datetime import date

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_ray import RayResource

from huracan_core import stages
from huracan_core.execution.ray_training import ensure_ray, plan_training, train_coins
from huracan_dagster.context import failure, not_in_universe, plain, stage_errors, start, upstream_failed
from huracan_dagster.partitions import by_date, daily, date_symbol, split_key
from huracan_dagster.resources import HuracanConfig

# one blocking check per gate of huracan_core.gates.evaluate_gates, so the failing gate and its value show in the UI
GATE_CHECKS = ("sharpe", "hit_rate", "net_pnl_bps", "max_drawdown_pct", "trades", "deflated_sharpe")


@asset(
    partitions_def=daily,
    deps=[AssetDep("features", partition_mapping=by_date)],
    group_name="models",
    kinds={"numpy"},
)
def shared_encoder(context: AssetExecutionContext, huracan: HuracanConfig) -> MaterializeResult:
    """Fit on the pooled, standardised features of all the day's coins, using only data known that day."""
    day = date.fromisoformat(context.partition_key)
    settings = start(context, huracan, day)
    with stage_errors("shared_encoder", day), stages.day_stage(settings, day, "shared_encoder"):
        info = stages.encoder_stage(settings, day, stages.load_universe(settings, day).selected)
    return MaterializeResult(
        metadata={k: plain(v) for k, v in info.items() if isinstance(v, str | int | float)}
    )


def _with_checks(result: MaterializeResult, why: str) -> MaterializeResult:
    """A partition that was not trained still reports every gate check, as not evaluated and why."""
    checks = [
        AssetCheckResult(
            check_name=f"gate_{name}",
            passed=False,
            severity=AssetCheckSeverity.WARN,
            description=f"not evaluated: {why}",
            metadata={"not_evaluated": why},
        )
        for name in GATE_CHECKS
    ]
    return MaterializeResult(metadata=result.metadata, check_results=checks)


@asset(
    partitions_def=date_symbol,
    deps=["features", AssetDep("shared_encoder", partition_mapping=by_date)],
    group_name="models",
    kinds={"lightgbm"},
    pool="train",
    # non-blocking and partitioned: a coin that trains and misses a gate is a green run whose failed
    # check is tied to its own partition; only a crash is a red run
    check_specs=[
        AssetCheckSpec(f"gate_{name}", asset="model", blocking=False, partitions_def=date_symbol)
        for name in GATE_CHECKS
    ],
)
def model(
    context: AssetExecutionContext, huracan: HuracanConfig, ray_cluster: RayResource
) -> MaterializeResult:
    """Per-coin model trained as a Ray task (timeout, retries): purged walk-forward, after-cost
    out-of-sample metrics, gates as checks of the coin's partition, champion decision."""
    day, symbol = split_key(context.partition_key)
    settings = start(context, huracan, day, symbol)
    with stage_errors("model", day, symbol):
        if (noop := not_in_universe(settings, day, symbol)) is not None:
            return _with_checks(noop, "not in the universe of the day")
        upstream_failed(settings, day, symbol, "model")
    resources = ensure_ray(settings, ray_cluster.ray_address, **ray_cluster.ray_init_options)
    plan = plan_training(settings, resources)
    outcome = train_coins(settings, day, [symbol], plan=plan)[symbol]
    if outcome.status == "failed":
        raise failure(
            "model",
            day,
            symbol,
            f"{outcome.error_type}: {outcome.error}",
            error_type=outcome.error_type or "",
            attempts=outcome.attempts,
            device=plan.device,
        )
    result = outcome.result
    if result.skipped_reason:
        return _with_checks(
            MaterializeResult(metadata={"status": "skipped", "reason": result.skipped_reason}),
            result.skipped_reason,
        )
    by_name = {c.name: c for c in result.gates.checks}
    checks = []
    for name in GATE_CHECKS:
        gate = by_name.get(name)
        if gate is None:
            checks.append(
                AssetCheckResult(
                    check_name=f"gate_{name}", passed=False, description=f"gate {name} was not evaluated"
                )
            )
            continue
        checks.append(
            AssetCheckResult(
                check_name=f"gate_{name}",
                passed=bool(gate.passed),
                metadata={"value": plain(gate.value), "threshold": plain(gate.threshold), "op": gate.op},
                description=f"{name} = {gate.value} (must be {gate.op} {gate.threshold})",
            )
        )
    metrics = {
        k: plain(v)
        for k, v in result.metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    return MaterializeResult(
        metadata={
            **metrics,
            "status": "trained",
            "gates_passed": result.gates.passed,
            "model_dir": MetadataValue.path(str(result.model_dir)),
            "train_seconds": round(result.train_seconds, 3),
            "n_samples": result.n_samples,
            "attempts": outcome.attempts,
            "device": plan.device,
            "ray_task": MetadataValue.json({**plan.to_json(), "cluster": ray_cluster.display_name}),
        },
        check_results=checks,
    )
