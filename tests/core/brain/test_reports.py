"""Reports of a night: the JSON and CSV agree with the models, and model_comparison.html draws its charts
in headless Chromium (skipped, with the reason, where Chromium is not installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from huracan_core.atomic import read_json
from huracan_core.reports import reports_dir
from huracan_core.stages import publish_stage
from tests.core.brain.conftest import DAY, Night

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path("/tmp/huracan_model_comparison.png")  # kept after the test for a human to look at


@pytest.fixture(scope="module")
def published(night: Night, tmp_path_factory: pytest.TempPathFactory) -> dict:
    url = f"sqlite:///{tmp_path_factory.mktemp('brain') / 'brain.sqlite'}"
    return publish_stage(night.settings(url), DAY)


def test_training_report_and_csv_match_the_models(night: Night, published: dict) -> None:
    folder = reports_dir(night.home, DAY)
    report = read_json(folder / "training_report.json")
    assert [c["symbol"] for c in report["coins"]] == night.symbols
    csv = pl.read_csv(folder / "performance_analysis.csv")
    assert csv["symbol"].to_list() == night.symbols
    for coin in report["coins"]:
        metrics = read_json(Path(coin["model_dir"]) / "metrics.json")
        assert coin["trades"] == metrics["trades"] == coin["brain_trades"]
        assert coin["sharpe"] == metrics["sharpe"] and coin["gates_passed"] == metrics["gates"]["passed"]
        assert len(coin["gates"]) == len(metrics["gates"]["checks"])
    assert report["n_trade_ok"] == sum(bool(c["trade_ok"]) for c in report["coins"])
    html = (folder / "model_comparison.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc=", html)  # self-contained: plotly.js is inlined, no CDN
    assert "plotly.js v" in html or "plotly.js" in html[:200000]
    # equity/drawdown, costs, gates, roster, trading comparison, and the forward record (the night scored it)
    assert report["forward_record"]["available"], report["forward_record"]
    assert html.count("Plotly.newPlot") == 6 and 'id="forward"' in html
    # the night's models under the live bot's rules, next to model-only and buy-and-hold (issue H)
    comparison = report["trading_comparison"]
    assert sorted(c["symbol"] for c in comparison["coins"]) == sorted(night.symbols)
    assert {"model_only", "consensus", "buy_and_hold"} <= set(comparison["portfolio"])
    for coin in comparison["coins"]:
        metrics = read_json(
            Path(next(c for c in report["coins"] if c["symbol"] == coin["symbol"])["model_dir"])
            / "metrics.json"
        )
        assert coin["model_only"]["sharpe"] == pytest.approx(metrics["sharpe"], rel=1e-9, abs=1e-12)
    assert published["trading"] is not None and "error" not in published["trading"]


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install -y chromium; .ci/run installs it)")
    return exe


def test_model_comparison_renders_in_headless_chromium(night: Night, published: dict, tmp_path: Path) -> None:
    exe = _chromium()
    page = (reports_dir(night.home, DAY) / "model_comparison.html").as_uri()
    common = [exe, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000"]
    dom = subprocess.run([*common, "--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    assert dom.count('class="plot-container plotly"') == 6, dom[:500]  # every figure's JS ran, forward incl.
    scatter = len(re.findall(r'class="trace scatter', dom))
    assert scatter >= 3 * len(night.symbols)  # equity, buy-and-hold and drawdown per coin
    assert len(re.findall(r'class="point"', dom)) >= 3 * len(night.symbols)  # the cost bars
    assert "hm" in dom or "heatmaplayer" in dom  # the gate heatmap
    assert dom.count("ECHO-USDT") >= 2 and 'class="table"' in dom  # the roster table
    SCREENSHOT.unlink(missing_ok=True)
    subprocess.run(
        [*common, "--window-size=1400,3000", f"--screenshot={SCREENSHOT}", page],
        capture_output=True,
        timeout=120,
        check=False,
    )
    from PIL import Image

    pixels = np.asarray(Image.open(SCREENSHOT).convert("RGB")).reshape(-1, 3)
    coloured = np.mean(np.ptp(pixels, axis=1) > 40)  # saturated pixels: lines, bars, heatmap cells
    assert coloured > 0.02, f"screenshot {SCREENSHOT} looks blank ({coloured:.4f} coloured)"
    assert len(np.unique(pixels[::7], axis=0)) > 200
