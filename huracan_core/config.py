"""Engine settings: `config/settings.yaml` (or `$HURACAN_CONFIG`), a profile overlay, then `HURACAN_*` env vars.

Why pydantic-settings: one typed object that every stage receives, env overrides with `__` nesting
(`HURACAN_UNIVERSE__TOP_N=10`), and errors that name the key, the value and what is allowed.
Secrets are `SecretStr` so they never end up in a log line, an export or a synced file.
"""

from __future__ import annotations

import math
import os
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from huracan_core.candles.reader import folder_timeframe
from huracan_core.cron import check_cron
from huracan_core.timeframes import TIMEFRAMES

AUTO = "auto"
AUTO_LOOKBACK_BARS = 2880  # market.lookback_days auto: this many bars of the timeframe (1h: 120 days)

DEFAULT_CONFIG = Path("config/settings.yaml")
# overlays beside settings.yaml: `production` (ccxt, PostgreSQL, remote), `daily` (the seed's daily bars)
PROFILE_FILES = {"production": "production.yaml", "daily": "daily.yaml"}


class ConfigError(Exception):
    """A setting is invalid. `str()` names every key at fault, its value and what is allowed."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ScheduleSettings(_Section):
    cron: str = "0 2 * * *"
    timezone: str = "UTC"
    first_date: date = date(2025, 1, 1)  # the history kept: per-coin partitions = coins seen x days since

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        """Every field's range, here: a bad one would only break the Dagster code location later."""
        return check_cron(v)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        """An IANA name zoneinfo knows (what Dagster's schedule loads): checked now, not at the code location."""
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone name such as 'UTC' or 'Europe/Zurich'") from None
        return v


class MarketSettings(_Section):
    source: Literal["synthetic", "replay", "ccxt"] = "synthetic"
    exchange_id: str = "binance"
    quote: str = "USDT"
    # money of the trade records and exports (e.g. GBP, converted at the market source's point-in-time
    # <CCY>/<quote> rate, huracan_core.market.fx); None: the quote currency
    account_currency: str | None = None
    # "auto" (the default): the source's own bars, hourly for synthetic and ccxt, the recorded files'
    # spacing for replay (a folder of daily bars is a daily night, not a refusal of every coin); a named
    # timeframe is held to, and replay files at another spacing are refused naming the setting
    timeframe: str = "auto"
    # "auto": days for ~AUTO_LOOKBACK_BARS rows of the timeframe (1h: 120 days, 4h: 480, 1d: 2,880), enough
    # for 4 purged folds and > 100 out-of-sample trades (the `daily` profile keeps the seed's 1d / 150 days)
    lookback_days: int = Field(0, ge=0, le=5000)
    # opt-in feature family computed over the night's universe at each bar (ranks of returns, volume and
    # volatility, excess return over the universe, breadth, dispersion, market volatility:
    # features/cross_sectional.py); off keeps the default recipe (and its content hash) as it is
    cross_sectional_features: bool = False
    synthetic_seed: int = 7
    synthetic_coins: int = Field(30, ge=3, le=200)
    # extra synthetic coins with a planted, cost-beating AR(1) signal (PLANTED1-USDT, ...; market/synthetic.py)
    synthetic_planted: int = Field(2, ge=0, le=20)
    replay_dir: Path | None = None
    # recorded funding of a replayed perp: `<dir>/<BASE>-<QUOTE>.csv` (timestamp,funding_rate); None: the
    # `funding/` folder beside replay_dir (binance-usdm/1h -> binance-usdm/funding) when there is one
    replay_funding_dir: Path | None = None
    api_url: str | None = None
    request_timeout_s: float = Field(10.0, gt=0)
    max_retries: int = Field(5, ge=0, le=20)
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None

    @field_validator("replay_dir", "replay_funding_dir")
    @classmethod
    def _absolute_replay_dir(cls, v: Path | None) -> Path | None:
        return v.expanduser().resolve() if v is not None else None

    @field_validator("account_currency")
    @classmethod
    def _currency_code(cls, v: str | None) -> str | None:
        """A currency code such as GBP (upper-cased); it names export columns (`net_profit_gbp`)."""
        if v is None or not v.strip():
            return None
        code = v.strip().upper()
        if not (2 <= len(code) <= 10 and code.isascii() and code.isalnum()):
            raise ValueError(f"{v!r} is not a currency code such as 'GBP' (2-10 letters or digits)")
        return code

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, v: str) -> str:
        if v != AUTO and v not in TIMEFRAMES:
            raise ValueError(f"must be one of {', '.join(TIMEFRAMES)} or {AUTO}")
        return v

    @field_validator("lookback_days", mode="before")
    @classmethod
    def _lookback(cls, v: Any) -> Any:
        if v == AUTO:
            return 0
        if isinstance(v, int | str) and str(v).strip().lstrip("-").isdigit() and 0 <= int(v) < 10:
            raise ValueError(f"must be at least 10 days or {AUTO}, not {v}")
        return v

    @model_validator(mode="after")
    def _resolve_auto(self) -> MarketSettings:
        """Settle `auto` to the timeframe and lookback this night runs on, so every reader sees one value."""
        if self.timeframe == AUTO:
            if self.source == "replay" and self.replay_dir is not None:
                object.__setattr__(self, "timeframe", folder_timeframe(self.replay_dir))
            else:
                object.__setattr__(self, "timeframe", "1h")
        if self.lookback_days == 0:
            days = math.ceil(AUTO_LOOKBACK_BARS * TIMEFRAMES[self.timeframe] / 86400)
            object.__setattr__(self, "lookback_days", min(5000, max(10, days)))
        return self

    @property
    def timeframe_seconds(self) -> int:
        return TIMEFRAMES[self.timeframe]


class UniverseSettings(_Section):
    min_quote_volume_usd: float = Field(1_000_000, ge=0)
    min_age_days: int = Field(30, ge=0)
    # spot, swap (USDT-M perpetuals) or both (a coin listed both ways is traded spot)
    market_type: Literal["spot", "swap", "both"] = "spot"
    top_n: int = Field(20, ge=1, le=500)


class CostSettings(_Section):
    maker_fee_bps: float = Field(2.0, ge=0)
    taker_fee_bps: float = Field(4.0, ge=0)
    use_maker: bool = False
    default_spread_bps: float = Field(2.0, ge=0)
    funding_bps_per_8h: float = Field(1.0, ge=0)
    safety_margin_bps: float = Field(3.0, ge=0)
    slippage_impact_coef: float = Field(0.1, ge=0)
    trade_size_usd: float = Field(10_000, gt=0)
    # point-in-time costs of historical bars (huracan_core/spread.py); today's quote prices live bars only
    spread_estimator: Literal["abdi_ranaldo", "corwin_schultz", "default"] = "abdi_ranaldo"
    spread_window_bars: int = Field(30, ge=2)  # trailing bar pairs averaged per estimate
    spread_floor_bps: float = Field(
        1.0, ge=0
    )  # estimates below this (incl. the papers' zeros) are raised to it
    adv_window_bars: int = Field(24, ge=1)  # trailing bars of close x volume behind the ADV


class GateSettings(_Section):
    min_sharpe: float = 0.5
    min_hit_rate: float = Field(0.45, ge=0, le=1)
    min_net_pnl_bps: float = 0.0
    max_drawdown_pct: float = Field(20.0, gt=0, le=100)
    min_trades: int = Field(100, ge=0)
    min_deflated_sharpe: float = Field(0.95, ge=0, le=1)  # probability the true Sharpe > 0 after trials
    champion_metric: Literal["sharpe", "net_pnl_bps", "deflated_sharpe"] = "sharpe"
    champion_margin: float = Field(0.1, ge=0)  # a challenger must beat the champion's OOS metric by this much
    # the champion choice is deflated by every candidate compared to make it (roster.selection_check,
    # metrics.selection_deflated_sharpe), held to min_deflated_sharpe: "model" counts the model's own search
    # trials only (the per-model number); "night" x every coin of the night x selection_variants;
    # "night_and_history" also the coin's earlier nights the roster compared
    selection_scope: Literal["model", "night", "night_and_history"] = "night_and_history"
    # pipeline variants compared before these settings were chosen (e.g. the variants of `huracan research`)
    selection_variants: int = Field(1, ge=1, le=10_000)


class ForwardSettings(_Section):
    """The forward record's demotion rule (huracan_core/forward.py): a champion whose trading since its
    hand-out breaks it leaves the roster (trade_ok false, the reason says why) and the next night judges
    a challenger as if the coin had no champion. Drawdown applies from the first bar; the net-loss rule
    only once `min_trades` forward trades have closed, so a few unlucky trades never demote a model."""

    demote: bool = True  # false: the record is kept and reported, nobody is taken off the roster
    max_drawdown_pct: float = Field(20.0, gt=0, le=100)  # forward drawdown beyond this demotes (as the gate)
    min_trades: int = Field(20, ge=1)  # closed forward trades before the net-loss rule applies
    min_net_bps: float = 0.0  # net bps (summed over forward trades, after costs) below this demotes


class TrainingSettings(_Section):
    mode: Literal["sequential", "parallel", "hybrid"] = "hybrid"
    workers: int | None = Field(None, ge=1, le=256)
    timeout_minutes: float = Field(45, gt=0)
    # a coin's Ray task that has not started within this is cancelled and fails ("Ray workers could not start")
    start_timeout_s: float = Field(180, gt=0)
    retries: int = Field(2, ge=0, le=10)
    horizon_bars: int = Field(1, ge=1, le=100)
    folds: int = Field(4, ge=3, le=50)
    embargo_bars: int = Field(2, ge=0)
    window: Literal["expanding", "rolling"] = "expanding"
    min_train_bars: int = Field(60, ge=20)
    seed: int = 42
    num_boost_round: int = Field(200, ge=1)
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(15, ge=2)
    model_type: Literal["lightgbm", "xgboost"] = "lightgbm"
    n_trials: int = Field(10, ge=1, le=1000)  # optuna trials per fold; counted by the deflated Sharpe
    min_test_bars: int = Field(20, ge=5)
    inner_val_fraction: float = Field(
        0.2, gt=0, lt=0.5
    )  # purged validation tail of each fold's training part
    vol_window: int = Field(24, ge=2)  # bars of trailing volatility for the slippage model
    # a search trial stops boosting once its after-cost validation score has not improved for this many
    # rounds (num_boost_round stays the ceiling); 0: every trial boosts num_boost_round rounds
    early_stopping_rounds: int = Field(25, ge=0)
    # below this many training rows a search runs proportionally fewer trials and rounds (at least 3 trials
    # and 50 rounds); 0: the full n_trials x num_boost_round budget at any size
    search_full_budget_rows: int = Field(0, ge=0)
    # histogram bins per input (LightGBM max_bin, XGBoost hist max_bin). Split finding over the bins is
    # most of a boosting round at a night's 600-2,900 rows a fold, so a round costs about in proportion:
    # 127 is ~1.4x faster a coin than the libraries' 255 with OOS trades/Sharpe/net no different beyond
    # noise over 24 recorded hourly coin-nights; 63 cost OOS Sharpe (benchmarks/train.py, issue N.4)
    max_bin: int = Field(127, ge=4, le=1024)
    # the shipped model's hyperparameters and rounds: "all_rows" searches them once more on a purged inner
    # split of every row; "last_fold" refits every row with the last walk-forward fold's choice, the one
    # whose out-of-sample block the metrics and gates just measured (no unmeasured selection step, and
    # no fifth search: about a third of a coin's fits at 4 folds)
    final_search: Literal["all_rows", "last_fold"] = "last_fold"
    # what the model learns (labels.py): "forward_return" = ln(open[t+1+h]/open[t+1]) in bps;
    # "triple_barrier" = the log return to the first touch of a profit-take / stop at +/- k x sigma_t x
    # sqrt(barrier_bars) (sigma_t: trailing std of vol_window closed-bar returns, known at t's close) or,
    # untouched, to open[t+1+barrier_bars]. The purge covers the label's span either way.
    target: Literal["forward_return", "triple_barrier"] = "forward_return"
    barrier_bars: int = Field(6, ge=1, le=500)  # vertical barrier: bars t+1 .. t+barrier_bars are watched
    barrier_upper_k: float = Field(1.0, gt=0, le=20)  # profit-take at +k x sigma over the span
    barrier_lower_k: float = Field(1.0, gt=0, le=20)  # stop at -k x sigma over the span
    # "classification": a binary model of the label's sign; its probability p becomes an expected edge
    # (2p - 1) x the mean |label| of the last edge_scale_bars training rows, compared with the same cost
    # threshold as a regression's prediction
    objective: Literal["regression", "classification"] = "regression"
    edge_scale_bars: int = Field(720, ge=20)
    # meta-labelling: a second (binary) model, trained inside each fold on the primary's inner
    # walk-forward out-of-sample signals, that lets a signal through only when it gives P(profit after
    # costs) >= meta_threshold
    meta_label: bool = False
    meta_threshold: float = Field(0.5, gt=0, lt=1)
    meta_inner_folds: int = Field(3, ge=2, le=20)
    meta_num_boost_round: int = Field(100, ge=1)


class StorageSettings(_Section):
    backend: Literal["local", "dropbox", "s3"] = "local"
    remote_dir: Path | None = None

    @field_validator("remote_dir")
    @classmethod
    def _absolute_remote_dir(cls, v: Path | None) -> Path | None:
        return v.expanduser().resolve() if v is not None else None

    dropbox_token: SecretStr | None = None
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    # Remote layout: shared `data/candles/` once; everything else under `{app_folder}/YYYY-MM-DD/`.
    app_folder: str = Field("huracan", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    dropbox_app_key: SecretStr | None = None
    dropbox_app_secret: SecretStr | None = None
    dropbox_refresh_token: SecretStr | None = None
    s3_region: str | None = None
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    request_timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(5, ge=0, le=20)
    max_retry_wait_s: float = Field(120.0, gt=0)  # a longer Retry-After is reported, not waited for
    # circuit breaker (storage/breaker.py): after this many remote calls in a row gave up, the remote is
    # considered down and further calls fail at once; one probe call is let through per cooldown
    breaker_failures: int = Field(3, ge=1, le=100)
    breaker_cooldown_minutes: float = Field(30.0, gt=0)
    # Sync cadences in minutes (floats, so a test can scale them down to seconds).
    sync_learning_minutes: float = Field(5.0, gt=0)
    sync_outputs_minutes: float = Field(5.0, gt=0)  # logs, monitoring, reports, exports, runs, summary
    sync_models_minutes: float = Field(30.0, gt=0)  # models, champions, shared encoders
    sync_candles_full_minutes: float = Field(120.0, gt=0)
    sync_candles_quick_minutes: float = Field(5.0, gt=0)
    sync_candles_quick_window_minutes: float = Field(10.0, gt=0)  # the quick check's "changed lately"

    @model_validator(mode="after")
    def _backend_needs(self) -> StorageSettings:
        if (
            self.backend == "dropbox"
            and self.dropbox_token is None
            and (self.dropbox_refresh_token is None or self.dropbox_app_key is None)
        ):
            raise ValueError(
                "storage.backend 'dropbox' needs storage.dropbox_refresh_token and storage.dropbox_app_key "
                "(plus dropbox_app_secret), or a storage.dropbox_token"
            )
        if self.backend == "s3" and not self.s3_bucket:
            raise ValueError("storage.backend 's3' needs storage.s3_bucket")
        return self


class TelegramSettings(_Section):
    enabled: bool = False
    token: SecretStr | None = None
    chat_id: str | None = None
    api_url: str | None = None  # Bot API base URL (default https://api.telegram.org/bot); loopback in tests
    min_interval_s: float = Field(1.0, ge=0)  # rate limit: at most one message per interval
    timeout_s: float = Field(10.0, gt=0)
    max_retries: int = Field(3, ge=0, le=10)
    max_retry_wait_s: float = Field(30.0, gt=0)  # a longer Retry-After drops the message (reported)


def database_url_problem(url: str) -> str | None:
    """What is wrong with the shape of a Brain Library URL, never quoting it (it may hold a password).

    Why at load: a bad URL is otherwise found by the roster step, after the whole night has trained."""
    from sqlalchemy.engine import make_url  # only when a URL is configured (a costly import)
    from sqlalchemy.exc import ArgumentError

    expected = (
        "postgresql+psycopg://user:password@host:port/database or sqlite:////absolute/path/brain.sqlite"
    )
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return f"is not a database URL: expected {expected}"
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in _DB_DRIVERS:
        return f"dialect {backend!r} is not supported: expected {expected}"
    if driver and driver not in _DB_DRIVERS[backend]:
        return f"driver {backend}+{driver} is not installed: expected {expected}"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return f"port {parsed.port} is not 1-65535"
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            return f"names no sqlite file (an in-memory brain would lose the night): expected {expected}"
        if not Path(parsed.database).is_absolute():
            return "names a relative sqlite path (Ray workers run in other folders): use sqlite:////absolute/path"
    elif not parsed.database:
        return f"names no database: expected {expected}"
    return None


# backend -> the drivers installed with the engine (`postgres://` is rewritten to psycopg by brain/db.py)
_DB_DRIVERS = {"sqlite": ("pysqlite",), "postgresql": ("psycopg",), "postgres": ()}


class DatabaseSettings(_Section):
    url: SecretStr | None = None
    # a Brain Library outage shorter than this is waited out (connect retried); a longer one fails with
    # BrainUnavailableError naming the database (brain/db.py)
    outage_wait_s: float = Field(90.0, ge=0, le=3600)

    @field_validator("url")
    @classmethod
    def _url_shape(cls, v: SecretStr | None) -> SecretStr | None:
        problem = None if v is None else database_url_problem(v.get_secret_value())
        if problem:
            raise ValueError(problem)
        return v


class RaySettings(_Section):
    address: str | None = None
    # bound on starting (or waiting for another process to start) the engine home's shared local Ray head
    head_start_timeout_s: float = Field(120, gt=0)
    # the shared local head stops after this long without a connected driver (the next run restarts it)
    head_idle_minutes: float = Field(30, gt=0)
    # the address the shared local head listens on and advertises: loopback keeps it off the network;
    # "auto" lets Ray pick the machine's address (as before), any other value is used as the node IP
    head_host: str = Field("127.0.0.1", min_length=1)


class TradingSettings(_Section):
    """Decision rules of the trading simulator (huracan_core/trading/): consensus, risk, circuit breakers."""

    consensus_k: float = Field(0.75, ge=0)  # trade only when |S| > k x rolling std of S
    score_std_window: int = Field(100, ge=10)  # bars of S behind its rolling std
    reliability_window: int = Field(200, ge=10)  # known outcomes behind each engine's trailing accuracy
    min_reliability_obs: int = Field(30, ge=1)  # an engine with fewer known outcomes gets weight 0
    edge_window: int = Field(500, ge=20)  # known (S, label) pairs behind the expected-edge slope
    risk_per_trade_min_pct: float = Field(0.5, gt=0, le=10)
    risk_per_trade_max_pct: float = Field(1.5, gt=0, le=10)
    atr_stop_mult: float = Field(2.0, gt=0)  # stop distance = mult x atr_14_pct
    daily_stop_pct: float = Field(2.5, gt=0, le=100)  # no new entries after losing this much today
    max_leverage: float = Field(2.0, gt=0, le=100)  # gross notional / equity
    max_coin_exposure_pct: float = Field(25.0, gt=0, le=100)
    breaker_daily_drawdown_pct: float = Field(3.0, gt=0, le=100)  # flatten and halt for the day
    breaker_loss_streak: int = Field(3, ge=1)  # this many losses in a row cut size
    breaker_loss_streak_size_mult: float = Field(0.5, gt=0, le=1)
    breaker_vol_percentile: float = Field(0.95, gt=0, lt=1)  # point-in-time volatility percentile
    breaker_vol_window: int = Field(500, ge=20)  # past bars behind that percentile
    defence_size_mult: float = Field(0.5, gt=0, le=1)
    defence_k_mult: float = Field(1.5, ge=1)  # in defence the score must clear a higher bar

    @model_validator(mode="after")
    def _risk_range(self) -> TradingSettings:
        if self.risk_per_trade_min_pct > self.risk_per_trade_max_pct:
            raise ValueError("trading.risk_per_trade_min_pct must be <= trading.risk_per_trade_max_pct")
        return self


class Settings(BaseSettings):
    """The whole engine configuration. Build with `load_settings()` to get exit-2 style errors."""

    model_config = SettingsConfigDict(
        env_prefix="HURACAN_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    profile: Literal["local", "production", "daily"] = "local"
    home: Path = Path(".huracan")
    schedule: ScheduleSettings = ScheduleSettings()
    market: MarketSettings = MarketSettings()
    universe: UniverseSettings = UniverseSettings()
    costs: CostSettings = CostSettings()
    gates: GateSettings = GateSettings()
    forward: ForwardSettings = ForwardSettings()
    training: TrainingSettings = TrainingSettings()
    storage: StorageSettings = StorageSettings()
    telegram: TelegramSettings = TelegramSettings()
    database: DatabaseSettings = DatabaseSettings()
    ray: RaySettings = RaySettings()
    trading: TradingSettings = TradingSettings()

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, v: Path) -> Path:
        """Absolute, so Ray workers and spawned processes (other working folders) find the same home."""
        return v.expanduser().resolve()

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        if self.market.source == "replay" and self.market.replay_dir is None:
            raise ValueError("market.replay_dir must be set when market.source is 'replay'")
        if self.telegram.enabled and (self.telegram.token is None or not self.telegram.chat_id):
            raise ValueError("telegram.token and telegram.chat_id must be set when telegram.enabled is true")
        if self.profile == "production" and self.database.url is None:
            raise ValueError("database.url must be set for the production profile (HURACAN_DATABASE__URL)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of the Brain Library; SQLite under the engine home when none is configured."""
        if self.database.url is not None:
            return self.database.url.get_secret_value()
        return f"sqlite:///{(self.home / 'brain.sqlite').resolve()}"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys: a repeated section must never silently drop the first."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise ConfigError(
                f"duplicate key '{key}' in {node.start_mark.name} line {key_node.start_mark.line + 1}"
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def config_path() -> Path | None:
    """The settings file in use: `$HURACAN_CONFIG`, else `./config/settings.yaml` when present."""
    env = os.environ.get("HURACAN_CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"HURACAN_CONFIG points at {path}, which is not a file")
        return path
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


class _YamlSource(PydanticBaseSettingsSource):
    """Base YAML plus the profile overlay (`production.yaml` beside it), lowest priority after env."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = config_path()
        data = read_yaml(path) if path else {}
        profile = os.environ.get("HURACAN_PROFILE", data.get("profile", "local"))
        overlay_name = PROFILE_FILES.get(str(profile))
        if path and overlay_name and (path.parent / overlay_name).is_file():
            data = _deep_merge(data, read_yaml(path.parent / overlay_name))
        return data


def _env_name(loc: tuple[Any, ...]) -> str:
    return "HURACAN_" + "__".join(str(p).upper() for p in loc)


def format_validation_error(exc: ValidationError) -> str:
    """One line per fault: the dotted key, the value given, and what is allowed."""
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "__root__")
        key = ".".join(str(p) for p in loc) or "(settings)"
        value = err.get("input")
        shown = (
            "<secret>"
            if any("token" in str(p) or "secret" in str(p) or str(p) == "url" for p in loc)
            else value
        )
        msg = err["msg"].removeprefix("Value error, ")
        if loc and isinstance(value, dict):  # a whole section's check: its value is the section, not a key's
            lines.append(f"invalid settings in {key}: {msg}")
        elif loc:
            lines.append(f"invalid setting {key} = {shown!r}: {msg} (env {_env_name(loc)})")
        else:
            lines.append(f"invalid settings: {msg}")
    return "\n".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings; raise `ConfigError` naming the key, the value and what is allowed."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None
    return settings


def public_dict(settings: Settings) -> dict[str, Any]:
    """Settings as JSON-able data with every secret masked: safe to log, export or sync."""
    return settings.model_dump(mode="json")
