"""`huracan features compute`: the full recipe for one coin's candle file, written atomically as parquet.

Every input file goes through the candle reader with the `--timeframe` given, so a file that is wrong
(empty, `;`-separated, text in a price, NaN prices, timestamps in seconds that would land in 1970,
conflicting duplicate bars, hourly bars read as daily) stops the command with one line naming the file and
what is wrong (exit 2), and nothing is written; an --output that cannot be written is one line too (exit 1).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer

from huracan_core.atomic import write_parquet
from huracan_core.candles.reader import CandleFileError, one_line, read_candle_file
from huracan_core.features.build import CrossAssetInputs, build_features
from huracan_core.features.defaults import default_recipe
from huracan_core.timeframes import TIMEFRAMES

features_app = typer.Typer(
    help="Feature library: compute the feature recipe on candle files.", no_args_is_help=True
)


@features_app.callback()
def features() -> None:
    """Feature library commands (a group, so `huracan features compute` keeps its sub-command name)."""


def _fail(message: str, code: int = 2) -> typer.Exit:
    """One line on stderr and the exit status: a bad input is the user's to fix, never a traceback."""
    typer.echo(message, err=True)
    return typer.Exit(code)


def read_candles(path: Path, timeframe: str = "1d") -> pl.DataFrame:
    """A candle file (csv with integer-ms timestamps, or parquet) as the checked canonical candle frame.

    Raises `CandleFileError` naming the file when it is unreadable or its bars break the candle contract
    or are not `timeframe` apart."""
    return read_candle_file(path, "", TIMEFRAMES[timeframe], timeframe_name=f"--timeframe {timeframe}")


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
        raise _fail(f"--timeframe: {exc}") from None
    frames: dict[str, pl.DataFrame | None] = {}
    for option, path in (("--input", input), ("--btc", btc), ("--eth", eth)):
        try:
            frames[option] = read_candles(path, timeframe) if path is not None else None
        except CandleFileError as exc:
            raise _fail(f"{option} {exc}") from None
    candles = frames["--input"]
    assert candles is not None
    frame = build_features(candles, recipe, CrossAssetInputs(btc=frames["--btc"], eth=frames["--eth"]))
    try:
        write_parquet(output, frame)
    except (OSError, pl.exceptions.PolarsError) as exc:  # a parent that is a file, no space, no permission
        raise _fail(f"--output {output}: cannot be written ({one_line(exc)})", 1) from None
    typer.echo(
        f"wrote {frame.height} rows x {frame.width} columns ({len(recipe.model_columns)} model columns, "
        f"recipe {recipe.content_hash[:12]}) to {output}"
    )
