"""Market seam: the `MarketSource` protocol and its synthetic, replay and ccxt implementations."""

from huracan_core.market.base import MarketDataError, MarketInfo, MarketSource, Ticker
from huracan_core.market.factory import build_source

__all__ = ["MarketDataError", "MarketInfo", "MarketSource", "Ticker", "build_source"]
