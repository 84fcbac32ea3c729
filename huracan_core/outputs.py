"""Whether a step's outputs for a day (and coin) are still on disk and intact.

Why: a rerun skips what is complete, and "complete" must mean the files are there and verify — not only
that an orchestrator once recorded them. A flipped `model.bin`, a deleted `sha256.txt`, a truncated parquet
or a removed roster make the step due again. One function per step, keyed by the step (asset) name, so the
Dagster steps and `huracan run` judge completion the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl

from huracan_core.atomic import IntegrityError, read_json, verify_manifest
from huracan_core.config import Settings
from huracan_core.night_inputs import night_recipe
from huracan_core.paths import EngineHome


def _schema(path: Path) -> tuple[list[str], str | None]:
    """(column names, problem): the file's columns when it is a readable parquet file, else why not."""
    if not path.is_file():
        return [], f"{path} is missing"
    try:
        return pl.read_parquet_schema(path).names(), None
    except Exception as exc:  # noqa: BLE001 - any unreadable file is "not complete", with the reason
        return [], f"{path} is not a readable parquet file ({type(exc).__name__})"


def _parquet(path: Path) -> str | None:
    return _schema(path)[1]


def _json(path: Path) -> str | None:
    if not path.is_file():
        return f"{path} is missing"
    try:
        read_json(path)
    except (OSError, ValueError) as exc:
        return f"{path} is not readable JSON ({exc})"
    return None


def _features(settings: Settings, path: Path) -> str | None:
    """The coin's features file, readable and holding every column of tonight's recipe: a file written
    before `market.cross_sectional_features` was switched on lacks that family, and training on it would
    fail every coin ("features frame lacks columns"), so the step is due again instead."""
    names, problem = _schema(path)
    if problem:
        return problem
    missing = sorted(set(night_recipe(settings).model_columns) - set(names))
    if missing:
        return f"{path} lacks {len(missing)} column(s) of tonight's recipe ({', '.join(missing[:4])})"
    return None


def _model(home: EngineHome, day: date, symbol: str | None, output: str | None) -> str | None:
    if not output:
        return "no model folder recorded"
    folder = Path(output)
    try:
        verify_manifest(folder)
    except (IntegrityError, OSError, ValueError) as exc:
        return f"model folder {folder} does not verify: {exc}"
    return None


def _encoder(home: EngineHome, day: date) -> str | None:
    folder = home.encoder_dir(day)
    problem = _json(folder / "shared_encoder.json")
    if problem:
        return problem
    try:
        verify_manifest(folder)
    except (IntegrityError, OSError, ValueError) as exc:
        return f"shared encoder {folder} does not verify: {exc}"
    return None


def _checks(
    settings: Settings,
) -> dict[str, Callable[[EngineHome, date, str | None, str | None], str | None]]:
    timeframe = settings.market.timeframe
    return {
        "universe": lambda h, d, s, o: _json(h.universe(d)),
        "coin": lambda h, d, s, o: _json(h.universe(d)),
        "candles": lambda h, d, s, o: _parquet(h.candles(s or "", timeframe)),
        "market_context": lambda h, d, s, o: (
            _parquet(h.market_context(d))
            or (_parquet(h.cross_sectional(d)) if settings.market.cross_sectional_features else None)
        ),
        "features": lambda h, d, s, o: _features(settings, h.features(d, s or "")),
        "shared_encoder": lambda h, d, s, o: _encoder(h, d),
        "model": _model,
        "roster": lambda h, d, s, o: _json(h.roster_on(d)),
        "exports": lambda h, d, s, o: _json(h.exports_dir(d) / "performance_summary.json"),
    }


def outputs_problem(
    settings: Settings, step: str, day: date, symbol: str | None = None, output: str | None = None
) -> str | None:
    """None when `step`'s outputs of `day` (and `symbol`) are present and intact, else what is wrong.
    `output` is the path the step recorded (the model folder of a trained coin)."""
    check = _checks(settings).get(step)
    if check is None:
        raise KeyError(f"no output check for step {step!r}")
    return check(EngineHome(Path(settings.home)), day, symbol, output)
