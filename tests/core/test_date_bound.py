"""Nights through the stages (synthetic market, a temp engine home, training in this process): any universe
size trains, every output of night D is bound to D, a backfill of an older date never moves the latest
pointers, and a --force rerun of D after D+1 reproduces D's roster."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from huracan_core import stages
from huracan_core.atomic import read_json, sha256_file
from huracan_core.config import Settings, load_settings
from huracan_core.exports import export_day
from huracan_core.ledger import RunLedger
from huracan_core.paths import EngineHome
from huracan_core.roster import publish_latest
from huracan_core.training.artifacts import model_training_date

D1, D2 = date(2026, 11, 19), date(2026, 11, 20)
ROSTER_FIELDS = (
    "symbol",
    "rank",
    "status",
    "trade_ok",
    "reason",
    "oos_sharpe",
    "last_7d_net_bps",
    "spread_bps",
    "fee_bps",
    "avg_slip_bps",
    "round_trip_bps",
    "adv_usd",
    "model_training_date",
)
METRICS = (
    "sharpe",
    "sortino",
    "hit_rate",
    "net_pnl_bps",
    "max_drawdown_pct",
    "trades",
    "deflated_sharpe",
    "last_7d_net_bps",
)


@pytest.fixture
def settings(home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HURACAN_TRAINING__N_TRIALS", "1")
    monkeypatch.setenv("HURACAN_TRAINING__NUM_BOOST_ROUND", "30")
    # gates every model passes, so champions exist and the latest pointers have something to move
    for key, value in (
        ("MIN_SHARPE", "-1000"),
        ("MIN_HIT_RATE", "0"),
        ("MIN_NET_PNL_BPS", "-1e9"),
        ("MAX_DRAWDOWN_PCT", "100"),
        ("MIN_TRADES", "0"),
        ("MIN_DEFLATED_SHARPE", "0"),
        ("CHAMPION_MARGIN", "0"),
    ):
        monkeypatch.setenv(f"HURACAN_GATES__{key}", value)
    return load_settings()


def _night(settings: Settings, day: date, **selection: object) -> dict:
    stages.plain_night(settings, day, **selection)
    home = EngineHome(Path(settings.home))
    export_day(home, day)
    publish_latest(home, day)  # the night is whole: the bot's pointers may move
    return read_json(home.roster_on(day))


def _model_dirs(home: EngineHome, day: date) -> dict[str, Path]:
    return {sym: Path(e.output_path) for sym, e in RunLedger(home, day).entries().items() if e.output_path}


def test_one_coin_day_trains_without_an_encoder_and_says_why(settings: Settings) -> None:
    home = EngineHome(Path(settings.home))
    coin = stages.universe_stage(settings, D2, top_n=1).selected
    roster = _night(settings, D2, symbols=coin)
    meta = read_json(home.encoder_dir(D2) / "shared_encoder.json")
    assert meta["fitted"] is False and "complete feature rows of 1 coin(s)" in meta["reason"]
    (model_dir,) = _model_dirs(home, D2).values()
    encoder = read_json(model_dir / "metadata.json")["encoder"]
    assert encoder["used"] is False and meta["reason"] in encoder["reason"]
    assert not (model_dir / "encoder").exists()
    assert [c["symbol"] for c in roster["coins"]] == coin and roster["coins"][0]["status"] == "success"


def test_two_coin_day_trains_with_a_reduced_encoder(settings: Settings) -> None:
    home = EngineHome(Path(settings.home))
    _night(settings, D2, top_n=2)
    meta = read_json(home.encoder_dir(D2) / "shared_encoder.json")
    assert meta["fitted"] is True and meta["mode"] == "reduced" and 1 <= meta["n_components"] <= 8
    dirs = _model_dirs(home, D2)
    assert len(dirs) == 2
    for model_dir in dirs.values():
        encoder = read_json(model_dir / "metadata.json")["encoder"]
        assert (
            encoder["used"] is True
            and encoder["hash"] == meta["content_hash"]
            and "reduced" in encoder["reason"]
        )


def test_a_backfill_leaves_the_latest_pointers_and_reproduces_the_old_night(settings: Settings) -> None:
    """Run D1, run D2, then redo D1 (a --force backfill: everything recomputed, every coin retrained)."""
    home = EngineHome(Path(settings.home))
    first = _night(settings, D1, top_n=2)
    first_dirs = _model_dirs(home, D1)
    latest = _night(settings, D2, top_n=2)
    pointers = {p.name: p.read_bytes() for p in home.champions_dir().glob("*.json")}
    assert home.roster().read_bytes() == home.roster_on(D2).read_bytes()
    # roster.json + a champion per coin of either night (every model passes these gates); the top 2 differ
    assert len(pointers) == 1 + len({c["symbol"] for c in first["coins"] + latest["coins"]})

    again = _night(settings, D1, top_n=2)
    again_dirs = _model_dirs(home, D1)
    assert set(again_dirs) == set(first_dirs) and all(again_dirs[s] != first_dirs[s] for s in first_dirs)
    # the latest pointers still hold D2's night, byte for byte
    assert {p.name: p.read_bytes() for p in home.champions_dir().glob("*.json")} == pointers
    assert read_json(home.roster()) == latest
    # D1's roster is reproduced on every listed field, and names only models trained for D1 or before
    assert [{k: c[k] for k in ROSTER_FIELDS} for c in again["coins"]] == [
        {k: c[k] for k in ROSTER_FIELDS} for c in first["coins"]
    ]
    for entry in again["coins"]:
        assert entry["model_training_date"] == D1.isoformat()
        assert model_training_date(home.root / entry["model_path"]) == D1
        # the rerun holds D1's slot
        assert Path(home.root / entry["model_path"]) == again_dirs[entry["symbol"]]
    assert (home.exports_dir(D1) / "roster.json").read_bytes() == home.roster_on(D1).read_bytes()
    assert read_json(home.exports_dir(D2) / "roster.json") == latest
    for symbol, model_dir in again_dirs.items():
        # the rerun's metrics equal the first run's; LightGBM (seeded, one thread) gives the same bytes
        m1, m2 = read_json(first_dirs[symbol] / "metrics.json"), read_json(model_dir / "metrics.json")
        assert {k: m1[k] for k in METRICS} == {k: m2[k] for k in METRICS}
        assert sha256_file(model_dir / "model.bin") == sha256_file(first_dirs[symbol] / "model.bin")
        decision = read_json(home.champion_on(D1, symbol))
        assert (
            decision["model_path"] == str(model_dir.relative_to(home.root))
            and decision["previous_model"] is None
        )
        history = read_json(home.champion_history(symbol))["decisions"]
        in_d2 = symbol in {c["symbol"] for c in latest["coins"]}
        assert [h["date"] for h in history] == [D1.isoformat()] + ([D2.isoformat()] if in_d2 else [])
