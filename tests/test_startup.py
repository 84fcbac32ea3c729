"""Start-up stays cheap: `huracan --help` lists every command without importing the heavy libraries
(pandas, Dagster, Ray, LightGBM, pandera, SQLAlchemy, polars, pydantic-settings), `huracan features compute`
without pandas, pandera, Dagster, Ray, LightGBM or pydantic-settings; and every lazily named command still loads."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

HEAVY_FOR_HELP = (
    "pandas",
    "dagster",
    "ray",
    "lightgbm",
    "pandera",
    "sqlalchemy",
    "polars",
    "pydantic_settings",
    "optuna",
)
HEAVY_FOR_FEATURES = (
    "pandas",
    "dagster",
    "ray",
    "lightgbm",
    "pandera",
    "sqlalchemy",
    "optuna",
    "pydantic_settings",
)


def _loaded_after(argv: list[str], watch: tuple[str, ...]) -> tuple[list[str], str]:
    """Run the console entry point with `argv` in a fresh interpreter; the watched modules it imported."""
    code = (
        "import sys\n"
        f"sys.argv = ['huracan', *{argv!r}]\n"
        "from huracan_dagster.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED', sorted(m for m in {watch!r} if m in sys.modules), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    line = next(ln for ln in out.stderr.splitlines() if ln.startswith("LOADED"))
    return eval(line.removeprefix("LOADED ")), out.stdout  # a list literal we printed ourselves


def test_help_imports_none_of_the_heavy_libraries() -> None:
    loaded, stdout = _loaded_after(["--help"], HEAVY_FOR_HELP)
    assert loaded == []
    for name in ("run", "features", "candles", "db", "export", "report", "health", "kill-switch"):
        assert f" {name} " in stdout  # listed, with its help, though its module was not imported


def test_features_compute_imports_no_pandas_dagster_ray_or_lightgbm() -> None:
    loaded, stdout = _loaded_after(["features", "compute", "--help"], HEAVY_FOR_FEATURES)
    assert loaded == []
    assert "--input" in stdout


def test_every_lazily_named_command_loads() -> None:
    from huracan_core.cli import LAZY
    from huracan_dagster.cli import app, register_subapps

    register_subapps()
    assert {"features", "candles", "db", "export", "report", "health"} <= set(LAZY)
    runner = CliRunner()
    for name in LAZY:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output and name in result.output


def test_an_unknown_command_is_still_refused() -> None:
    from huracan_dagster.cli import app, register_subapps

    register_subapps()
    result = CliRunner().invoke(app, ["no-such-command"])
    assert result.exit_code == 2


@pytest.mark.parametrize("argv", [["features", "compute", "--input", "/nonexistent.csv", "--output", "x"]])
def test_a_lazy_command_parses_its_own_options(argv: list[str]) -> None:
    from huracan_dagster.cli import app, register_subapps

    register_subapps()
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2 and "/nonexistent.csv" in result.output
