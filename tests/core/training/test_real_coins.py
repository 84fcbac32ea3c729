"""The 14 recorded Binance coins (daily bars closed by 2026-04-21 00:00 UTC, i.e. as of 2026-04-20)
through the whole pipeline with the configured settings: per coin the OOS after-cost Sharpe, trades and
net PnL against buy-and-hold over the same OOS periods, and how many pass the gates — whatever they are.

Slow (~3-5 min on 2 shared cores): `pytest -m slow -s tests/core/training/test_real_coins.py`.
The table is printed and written to $HURACAN_REAL_COINS_OUT when that is set.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from huracan_core.candles.frame import closed_only, conform
from huracan_core.config import Settings
from huracan_core.costs import CostInputs
from huracan_core.features import CrossAssetInputs, build_features, default_recipe, equal_weight_market
from huracan_core.paths import EngineHome
from huracan_core.training.encoder import fit_shared_encoder
from huracan_core.training.trainer import train_coin

DAY = date(2026, 4, 20)
AS_OF = datetime(2026, 4, 21, tzinfo=UTC)


def _load(folder: Path) -> dict[str, pl.DataFrame]:
    out = {}
    for path in sorted(folder.glob("*-USDT.csv")):
        frame = conform(pl.read_csv(path))
        out[path.stem] = closed_only(frame, 86400, AS_OF)
    return out


@pytest.mark.slow
def test_real_coins_table(shared_data: Path, tmp_path: Path) -> None:
    candles = _load(shared_data / "binance" / "1d")
    assert len(candles) == 14
    settings = Settings()
    recipe = default_recipe("1d")
    cross = CrossAssetInputs(
        btc=candles.get("BTC-USDT"), eth=candles.get("ETH-USDT"), market=equal_weight_market(candles)
    )
    feats = {s: build_features(c, recipe, cross) for s, c in candles.items()}
    home = EngineHome(tmp_path)
    fit_shared_encoder(feats, recipe, AS_OF, home.encoder_dir(DAY))
    rows = []
    for symbol, frame in feats.items():
        c = candles[symbol].tail(30)
        adv = float((c["close"] * c["volume"]).mean())
        costs = CostInputs(
            spread_bps=settings.costs.default_spread_bps,
            maker_fee_bps=settings.costs.maker_fee_bps,
            taker_fee_bps=settings.costs.taker_fee_bps,
            adv_usd=adv,
        )
        res = train_coin(
            symbol=symbol,
            features=frame,
            recipe=recipe,
            encoder_dir=home.encoder_dir(DAY),
            cost_inputs=costs,
            settings=settings,
            home=home,
            training_date=DAY,
            bar_seconds=86400,
        )
        m = res.metrics
        rows.append(
            {
                "symbol": symbol,
                "skipped": res.skipped_reason,
                "oos_from": m.get("oos_start", "")[:10],
                "oos_to": m.get("oos_end", "")[:10],
                "sharpe": m.get("sharpe"),
                "trades": m.get("trades"),
                "hit_rate": m.get("hit_rate"),
                "net_pnl_pct": m.get("net_pnl_pct"),
                "net_pnl_bps": m.get("net_pnl_bps"),
                "max_dd_pct": m.get("max_drawdown_pct"),
                "dsr": m.get("deflated_sharpe"),
                "bh_pct": m.get("buy_hold_return_pct"),
                "bh_sharpe": m.get("buy_hold_sharpe"),
                "passed": res.passed,
                "failures": [c.name for c in res.gates.failures],
                "seconds": res.train_seconds,
            }
        )
    print(
        f"\n{'coin':>10} {'OOS from':>10} {'OOS to':>10} {'sharpe':>7} {'trades':>6} {'hit':>5} {'net %':>8} "
        f"{'B&H %':>8} {'B&H SR':>7} {'maxDD%':>7} {'DSR':>5} {'gates':>5}  failed"
    )
    for r in rows:
        print(
            f"{r['symbol']:>10} {r['oos_from']:>10} {r['oos_to']:>10} {r['sharpe']:>7.2f} {r['trades']:>6} "
            f"{r['hit_rate']:>5.2f} {r['net_pnl_pct']:>8.1f} {r['bh_pct']:>8.1f} {r['bh_sharpe']:>7.2f} "
            f"{r['max_dd_pct']:>7.1f} {r['dsr']:>5.2f} {'pass' if r['passed'] else 'fail':>5}  "
            f"{','.join(r['failures'])}"
        )
    n_pass = sum(r["passed"] for r in rows)
    print(f"{n_pass}/{len(rows)} coins pass the gates")
    if os.environ.get("HURACAN_REAL_COINS_OUT"):
        Path(os.environ["HURACAN_REAL_COINS_OUT"]).write_text(json.dumps(rows, indent=2, default=str))
    assert all(r["skipped"] is None for r in rows)
    # the reported numbers are out-of-sample: every OOS period starts after the first training window
    assert all(r["oos_from"] > "2018-01-01" for r in rows)
