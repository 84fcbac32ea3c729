"""Pick the market source the settings ask for. The only place that knows all three."""

from __future__ import annotations

from datetime import datetime

from huracan_core.config import Settings
from huracan_core.market.base import MarketDataError, MarketSource

MARKET_TYPES = {"spot": ("spot",), "swap": ("swap",), "both": ("spot", "swap")}


def build_source(settings: Settings, as_of: datetime) -> MarketSource:
    """The configured source for `universe.market_type`: ccxt lists spot and/or USDT-M perpetual markets;
    a replay folder holds one kind of market, named by the setting (a folder of perps for `swap`); the
    synthetic market is spot only and refuses anything else rather than label its coins perps."""
    market = settings.market
    market_type = settings.universe.market_type
    if market.source != "ccxt" and market_type == "both":
        raise MarketDataError(
            f"universe.market_type 'both' needs market.source ccxt: a {market.source} source holds one kind of "
            "market (set 'spot' or 'swap')"
        )
    if market.source == "synthetic":
        if market_type != "spot":
            raise MarketDataError(
                "universe.market_type 'swap' needs market.source replay (recorded perps) or ccxt: the synthetic "
                "market has spot coins only"
            )
        from huracan_core.market.synthetic import SyntheticMarket

        return SyntheticMarket(
            as_of,
            seed=market.synthetic_seed,
            n_coins=market.synthetic_coins,
            quote=market.quote,
            timeframe=market.timeframe,
            planted=market.synthetic_planted,
        )
    if market.source == "replay":
        from huracan_core.market.replay import ReplayMarket

        assert market.replay_dir is not None  # enforced by Settings
        funding_dir = market.replay_funding_dir
        if funding_dir is None and market_type == "swap":
            beside = market.replay_dir.parent / "funding"
            funding_dir = beside if beside.is_dir() else None
        return ReplayMarket(
            market.replay_dir,
            as_of,
            timeframe=market.timeframe,
            quote=market.quote,
            market_type=market_type,
            funding_dir=funding_dir,
        )
    from huracan_core.market.ccxt_source import CcxtMarket

    return CcxtMarket(market, as_of, market_types=MARKET_TYPES[market_type])
