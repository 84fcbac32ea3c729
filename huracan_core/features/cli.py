"""`huracan features compute`: the full recipe for one coin's candle file, written atomically as parquet."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer

from huracan_core.atomic import write_parquet
from huracan_core.candles.frame import conform
from huracan_core.features.build import CrossAssetInputs, build_features
from huracan_core.features.defaults import default_recipe

features_app = typer.Typer(
    help="Feature library: compute the feature recipe on candle files.", no_args_is_help=True
)


@features_app.callback()
def features() -> None:
    """Feature library commands (a group, so `huracan features compute` keeps its sub-command name)."""


def read_candles(path: Path) -> pl.DataFrame:
    """A candle file (csv with integer-ms timestamps, or parquet) as the canonical candle frame."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pl.read_csv(path)
    elif suffix in (".parquet", ".pq"):
        frame = pl.read_parquet(path)
    else:
        raise typer.BadParameter(f"{path}: expected a .csv or .parquet candle file")
    return conform(frame)


@features_app.command("compute")
def compute(
    input: Path = typer.Option(..., "--input", exists=True, dir_okay=False, help="candles .csv or .parquet"),
    output: Path = typer.Option(..., "--output", dir_okay=False, help="features .parquet to write"),
    timeframe: str = typer.Option("1d", "--timeframe", help="timeframe of the candles (selects the recipe)"),
    btc: Path | None = typer.Option(
        None, "--btc", exists=True, dir_okay=False, help="BTC candles for cross-asset"
    ),
    eth: Path | None = typer.Option(
        None, "--eth", exists=True, dir_okay=False, help="ETH candles for cross-asset"
    ),
) -> None:
    """Compute every recipe column for one coin (cross-asset columns stay null without --btc/--eth)."""
    try:
        recipe = default_recipe(timeframe)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--timeframe") from exc
    cross = CrossAssetInputs(
        btc=read_candles(btc) if btc else None,
        eth=read_candles(eth) if eth else None,
    )
    frame = build_features(read_candles(input), recipe, cross)
    write_parquet(output, frame)
    typer.echo(
        f"wrote {frame.height} rows x {frame.width} columns ({len(recipe.model_columns)} model columns, "
        f"recipe {recipe.content_hash[:12]}) to {output}"
    )
