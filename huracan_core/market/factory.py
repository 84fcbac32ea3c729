"""Pick the market source the settings ask for. The only place that knows all three."""

from __future__ import annotations

from datetime import datetime

from huracan_core.config import Settings
from huracan_core.market.base import MarketSource


def build_source(settings: Settings, as_of: datetime) -> MarketSource:
    market = settings.market
    if market.source == "synthetic":
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
        return ReplayMarket(market.replay_dir, as_of, timeframe=market.timeframe, quote=market.quote)
    from huracan_core.market.ccxt_source import CcxtMarket

    return CcxtMarket(market, as_of)
