"""The exchange as a `MarketSource`, through ccxt (Binance by default), built to survive an unreliable API.

Why each piece is here:
- ccxt's own rate limiter stays on (it spaces requests by the endpoint's weight), so a long backfill
  does not earn a 429 or a 418 IP ban in the first place.
- Every HTTP request gets a timeout, and transient failures are retried with tenacity: network errors
  and timeouts, 429/418 (waiting at least the server's Retry-After) and 5xx, with jittered exponential
  backoff. A final 4xx (bad symbol, bad parameter) is not retried: asking again cannot help. The
  retry decision uses the HTTP status the server actually sent, because ccxt maps several 4xx codes
  to `ExchangeNotAvailable`, a network error class.
- A 200 with a body that is not JSON, or a klines page that breaks Binance's contract (wrong shape,
  out-of-range or unordered times), is treated as transient too: proxies and overloaded gateways do that.
- Pages follow the exchange's own limit (1000 for Binance) and stop at the last bar closed by `as_of`;
  a bar still open on the server's clock (`Date` header) is dropped as well, so clock skew between
  this machine and the exchange can never let a forming candle through.
- `market.api_url` replaces the REST base, for a proxy, a recording, or the loopback test server.
- Perpetuals: `market_types=("swap",)` builds ccxt's `binanceusdm` (USDT-M futures, `/fapi/v1/...`) for
  `exchange_id: binance`; `("spot", "swap")` builds `binance` with spot and linear markets. A coin listed
  both ways keeps its spot market (one model per symbol). `market.api_url` moves the futures endpoints to
  the same host (`{host}/fapi/v1`, the spot base being `{host}/api/v3`). `fetch_funding_rates` pages through
  `/fapi/v1/fundingRate` (the settlements the exchange published, each known at its own time).
- Only public endpoints are called; API keys are never handed to ccxt for them, so they cannot leak
  into a log line or an exception message.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import ccxt
import polars as pl
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from huracan_core.candles.frame import candles_from_rows, empty_candles, from_ms, to_ms
from huracan_core.config import MarketSettings
from huracan_core.logs import get_logger
from huracan_core.market.base import MarketDataError, MarketInfo, Ticker
from huracan_core.symbols import SymbolError, normalise_symbol, to_ccxt

log = get_logger("huracan.market.ccxt")

T = TypeVar("T")
USD_QUOTES = frozenset({"USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USDP", "DAI", "USD"})
DEFAULT_PAGE_LIMIT = 500
FUNDING_PAGE_LIMIT = 1000  # Binance's maximum for /fapi/v1/fundingRate
CCXT_TYPES = {"spot": "spot", "swap": "linear"}  # our market type -> ccxt binance fetchMarkets type
MAX_RETRY_AFTER_S = 120.0
# A nightly run at 02:00 asks for yesterday's as-of (midnight): a day and a half covers it with slack.
TICKER_MAX_AGE = timedelta(hours=36)


class ExchangeCallError(Exception):
    """One failed attempt, classified: `transient` ones are retried, waiting at least `retry_after` s."""

    def __init__(
        self, message: str, *, status: int | None, transient: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient
        self.retry_after = retry_after


def _counting(base: type[ccxt.Exchange]) -> type[ccxt.Exchange]:
    """A subclass of the ccxt exchange that counts HTTP requests and keeps each response's status and headers."""

    class Counting(base):  # type: ignore[misc, valid-type]
        huracan_requests = 0
        huracan_status: int | None = None
        huracan_headers: dict[str, str] = {}  # noqa: RUF012 - replaced per request, never mutated

        def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            self.huracan_requests += 1
            self.huracan_status, self.huracan_headers = None, {}
            result = super().fetch(url, method, headers, body)
            if not isinstance(result, dict | list):
                raise ccxt.BadResponse(f"{self.id} {method} {url.split('?')[0]}: body is not JSON")
            return result

        def on_rest_response(
            self,
            code: int,
            reason: str,
            url: str,
            method: str,
            response_headers: Any,
            response_body: str,
            request_headers: Any,
            request_body: Any,
        ) -> str:
            self.huracan_status = int(code)
            self.huracan_headers = {str(k).lower(): str(v) for k, v in dict(response_headers).items()}
            return super().on_rest_response(
                code, reason, url, method, response_headers, response_body, request_headers, request_body
            )

    Counting.__name__ = f"Counting{base.__name__}"
    return Counting


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


class CcxtMarket:
    """`MarketSource` over a ccxt exchange (public REST endpoints), as seen at `as_of`."""

    name = "ccxt"

    def __init__(
        self,
        settings: MarketSettings,
        as_of: datetime | None = None,
        *,
        retry_wait_s: float = 1.0,
        rate_limit_ms: float | None = None,
        max_retry_after_s: float = MAX_RETRY_AFTER_S,
        market_types: tuple[str, ...] = ("spot",),
    ) -> None:
        self.settings = settings
        self.as_of = (as_of or datetime.now(UTC)).astimezone(UTC)
        self.retry_wait_s = retry_wait_s
        self.max_retry_after_s = max_retry_after_s
        self.market_types = market_types
        unknown = [t for t in market_types if t not in CCXT_TYPES]
        if not market_types or unknown:
            raise MarketDataError(f"market types {list(market_types)} are not among {sorted(CCXT_TYPES)}")
        self._first_bar: dict[tuple[str, str], datetime | None] = {}
        self._pairs: dict[str, str] = {}  # normalised symbol -> ccxt symbol of the market we serve
        self.exchange = self._build_exchange(rate_limit_ms)

    def __repr__(self) -> str:
        return f"CcxtMarket({self.settings.exchange_id!r}, as_of={self.as_of.isoformat()}, api={self._api_base()})"

    # ------------------------------------------------------------------ construction
    def _build_exchange(self, rate_limit_ms: float | None) -> ccxt.Exchange:
        exchange_id = self.settings.exchange_id
        if exchange_id == "binance" and self.market_types == ("swap",):
            exchange_id = "binanceusdm"  # USDT-M perpetuals only: ccxt's futures class
        self.exchange_id = exchange_id
        base = getattr(ccxt, exchange_id, None)
        if not isinstance(base, type) or not issubclass(base, ccxt.Exchange):
            raise MarketDataError(f"market.exchange_id {exchange_id!r} is not a ccxt exchange")
        config: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": int(self.settings.request_timeout_s * 1000),
        }
        if exchange_id.startswith("binance"):
            # Spot markets come from /exchangeInfo alone; currencies would need a private (keyed) call.
            config["options"] = {
                "fetchMarkets": {"types": [CCXT_TYPES[t] for t in self.market_types]},
                "fetchCurrencies": False,
            }
        exchange = _counting(base)(config)
        if rate_limit_ms is not None:
            exchange.rateLimit = rate_limit_ms
        if self.settings.api_url:
            api_url = self.settings.api_url.rstrip("/")
            urls = exchange.urls
            if isinstance(urls.get("api"), dict):
                host = api_url.removesuffix("/api/v3")
                moved = {
                    key: host + "/" + str(url).split("://", 1)[-1].split("/", 1)[-1]
                    for key, url in urls["api"].items()
                    if key.startswith("fapi")  # https://fapi.binance.com/fapi/v1 -> {host}/fapi/v1
                }
                urls["api"] = {**urls["api"], **moved, "public": api_url, "private": api_url}
            else:
                urls["api"] = api_url
        return exchange

    def _api_base(self) -> str:
        api = self.exchange.urls.get("api")
        return str(api.get("public") if isinstance(api, dict) else api)

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, retries included."""
        return int(self.exchange.huracan_requests)

    @property
    def page_limit(self) -> int:
        """The exchange's own maximum bars per OHLCV request (1000 for Binance spot)."""
        features = getattr(self.exchange, "features", None) or {}
        kind = features.get("spot") or {}
        if self.market_types == ("swap",):
            kind = (features.get("swap") or {}).get("linear") or {}
        limit = (kind.get("fetchOHLCV") or {}).get("limit")
        return int(limit) if limit else DEFAULT_PAGE_LIMIT

    # ------------------------------------------------------------------ retries
    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one exchange call with retries; raise `MarketDataError` naming the call when it cannot succeed."""

        def attempt() -> T:
            try:
                return fn()
            except ccxt.BaseError as exc:
                raise self._classify(exc) from exc

        retrying = Retrying(
            stop=stop_after_attempt(self.settings.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, ExchangeCallError) and e.transient),
            before_sleep=lambda rs: self._log_retry(what, rs),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except ExchangeCallError as exc:
            kind = "gave up after retries" if exc.transient else "failed"
            raise MarketDataError(f"{self.settings.exchange_id} {what} {kind}: {exc}") from exc

    def _classify(self, exc: ccxt.BaseError) -> ExchangeCallError:
        status = self.exchange.huracan_status
        text = (
            f"{type(exc).__name__} (HTTP {status if status is not None else 'no response'}): {str(exc)[:300]}"
        )
        if status in (418, 429):
            wait = _retry_after(self.exchange.huracan_headers)
            if wait is not None and wait > self.max_retry_after_s:
                return ExchangeCallError(
                    f"{text}; server asks to wait {wait:.0f} s", status=status, transient=False
                )
            return ExchangeCallError(text, status=status, transient=True, retry_after=wait)
        if status is not None and 400 <= status < 500 and status != 408:
            return ExchangeCallError(text, status=status, transient=False)
        if status is not None and status >= 500:
            return ExchangeCallError(text, status=status, transient=True)
        transient = isinstance(exc, ccxt.NetworkError | ccxt.BadResponse)
        return ExchangeCallError(text, status=status, transient=transient)

    def _wait(self, state: RetryCallState) -> float:
        """Full-jitter exponential backoff, never shorter than the server's Retry-After."""
        backoff = wait_random_exponential(multiplier=self.retry_wait_s, max=self.retry_wait_s * 30)(state)
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = exc.retry_after if isinstance(exc, ExchangeCallError) and exc.retry_after else 0.0
        return max(backoff, retry_after)

    def _log_retry(self, what: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "exchange request retried",
            exchange=self.settings.exchange_id,
            call=what,
            attempt=state.attempt_number,
            status=getattr(exc, "status", None),
            error=str(exc)[:160],
            wait_s=round(state.next_action.sleep, 3) if state.next_action else None,
        )

    # ------------------------------------------------------------------ markets and tickers
    def _load_markets(self) -> dict[str, Any]:
        if not self.exchange.markets:
            self._call("load_markets", lambda: self.exchange.load_markets(reload=True))
            if not self.exchange.markets:
                raise MarketDataError(f"{self.settings.exchange_id} returned no markets")
        return self.exchange.markets

    def _ours(self, market: dict[str, Any]) -> str | None:
        """The normalised symbol of a market of the configured quote and types, else None."""
        if market.get("quote") != self.settings.quote or market.get("type") not in self.market_types:
            return None
        if market.get("type") == "swap" and (
            market.get("settle") != self.settings.quote or not market.get("linear")
        ):
            return None
        try:
            return normalise_symbol(f"{market['base']}-{market['quote']}")
        except SymbolError:
            return None

    def markets(self) -> list[MarketInfo]:
        out: dict[str, MarketInfo] = {}
        for market in self._load_markets().values():
            symbol = self._ours(market)
            if symbol is None or (symbol in out and out[symbol].market_type == "spot"):
                continue
            self._pairs[symbol] = str(market["symbol"])
            precision = market.get("precision") or {}
            cost = (market.get("limits") or {}).get("cost") or {}
            created = market.get("created")
            out[symbol] = MarketInfo(
                symbol=symbol,
                base=str(market["base"]),
                quote=str(market["quote"]),
                market_type=str(market["type"]),
                active=market.get("active") is not False,
                maker_fee_bps=float(market["maker"]) * 1e4 if market.get("maker") is not None else None,
                taker_fee_bps=float(market["taker"]) * 1e4 if market.get("taker") is not None else None,
                price_precision=_num(precision.get("price")),
                amount_precision=_num(precision.get("amount")),
                min_notional=_num(cost.get("min")),
                listed_at=from_ms(int(created)) if created else None,
            )
        return list(out.values())

    def tickers(self) -> dict[str, Ticker]:
        """24 h tickers of the configured quote; quote volume converted to USD; halted pairs (no price) left out.

        The exchange only knows today's tickers. For an as-of further back than `TICKER_MAX_AGE` they would
        rank coins with volumes from the future, so that is refused (replay the candles instead).
        """
        age = datetime.now(UTC) - self.as_of
        if age > TICKER_MAX_AGE:
            raise MarketDataError(
                f"{self.settings.exchange_id} tickers are live; as-of {self.as_of:%Y-%m-%d %H:%M} is "
                f"{age.total_seconds() / 3600:.0f} h old, so they would leak later volumes (use market.source=replay)"
            )
        markets = self._load_markets()
        raw: dict[str, Any] = {}
        for kind in self.market_types:
            params = {"type": kind} if self.exchange_id.startswith("binance") else {}
            raw.update(
                self._call(f"fetch_tickers {kind}", lambda p=params: self.exchange.fetch_tickers(params=p))
            )
        usd = self._usd_rate(raw)
        served = {v: k for k, v in self._pairs.items()} if self._pairs else None
        out: dict[str, Ticker] = {}
        for ccxt_symbol, t in raw.items():
            market = markets.get(ccxt_symbol)
            symbol = self._ours(market) if market else None
            if served is not None and served.get(ccxt_symbol) != symbol:
                continue  # the other listing of a coin served as spot (market_type both)
            last = _num(t.get("last")) or _num(t.get("close"))
            if symbol is None or last is None or last <= 0:
                continue
            quote_volume = _num(t.get("quoteVolume"))
            if quote_volume is None:
                quote_volume = (_num(t.get("baseVolume")) or 0.0) * last
            bid, ask = _num(t.get("bid")), _num(t.get("ask"))
            out[symbol] = Ticker(
                symbol=symbol,
                last=last,
                quote_volume_usd=quote_volume * usd,
                bid=bid if bid else None,
                ask=ask if ask else None,
                extra={
                    "base_volume": _num(t.get("baseVolume")),
                    "change_pct": _num(t.get("percentage")),
                    "high": _num(t.get("high")),
                    "low": _num(t.get("low")),
                    "vwap": _num(t.get("vwap")),
                },
            )
        return out

    def _usd_rate(self, raw: dict[str, Any]) -> float:
        quote = self.settings.quote
        if quote in USD_QUOTES:
            return 1.0
        for usd in ("USDT", "USDC"):
            last = _num((raw.get(f"{quote}/{usd}") or {}).get("last"))
            if last:
                return last
        raise MarketDataError(
            f"cannot convert {quote} volumes to USD: no {quote}/USDT or {quote}/USDC ticker"
        )

    # ------------------------------------------------------------------ candles
    def _market_id(self, symbol: str) -> str:
        """The ccxt symbol (`BTC/USDT`) of a listed market; `MarketDataError` for anything else."""
        try:
            pair = to_ccxt(symbol)
        except SymbolError as exc:
            raise MarketDataError(str(exc)) from None
        self._load_markets()
        if not self._pairs:
            self.markets()
        pair = self._pairs.get(normalise_symbol(symbol), pair)
        try:
            self.exchange.market(pair)
        except ccxt.BadSymbol:
            raise MarketDataError(f"symbol {symbol!r} is not listed on {self.settings.exchange_id}") from None
        return pair

    def _check_timeframe(self, timeframe: str) -> int:
        if timeframe not in (self.exchange.timeframes or {}):
            raise MarketDataError(f"{self.settings.exchange_id} has no {timeframe!r} candles")
        return int(self.exchange.parse_timeframe(timeframe) * 1000)

    def _server_now_ms(self) -> int | None:
        date = self.exchange.huracan_headers.get("date")
        if not date:
            return None
        try:
            return int(email.utils.parsedate_to_datetime(date).timestamp() * 1000)
        except (TypeError, ValueError):
            return None

    def _page(self, pair: str, timeframe: str, step: int, first: int, last: int) -> list[list[Any]]:
        """One klines request for open times [first, last]; rows checked against the request, else transient."""
        limit = min(self.page_limit, (last - first) // step + 1)

        def get() -> list[list[Any]]:
            rows = self.exchange.fetch_ohlcv(
                pair, timeframe, since=first, limit=limit, params={"until": last}
            )
            previous = first - 1
            for row in rows:
                ok = isinstance(row, list) and len(row) >= 6 and isinstance(row[0], int)
                if not ok or row[0] <= previous or row[0] % step or any(v is None for v in row[1:5]):
                    raise ccxt.BadResponse(f"klines page breaks the request contract at row {row!r:.80}")
                previous = row[0]
            # Bars past `last` are not errors (some exchanges ignore an end time): they are just not ours.
            rows = [r for r in rows if r[0] <= last]
            server_now = self._server_now_ms()
            if server_now is not None:
                rows = [r for r in rows if r[0] + step <= server_now]
            return rows

        return self._call(f"fetch_ohlcv {pair} {timeframe} {from_ms(first):%Y-%m-%d %H:%M}", get)

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: datetime, until: datetime | None = None
    ) -> pl.DataFrame:
        """Closed bars with open time in [since, until) (until capped at as_of), page by page."""
        step = self._check_timeframe(timeframe)
        pair = self._market_id(symbol)
        end = min(until, self.as_of) if until is not None else self.as_of
        last = to_ms(end) // step * step - step  # open time of the last bar closed by `end`
        cursor = -(-to_ms(since) // step) * step
        rows: list[list[Any]] = []
        while cursor <= last:
            page = self._page(pair, timeframe, step, cursor, last)
            if not page:
                break
            rows.extend(page)
            # A short page is not taken as the end: an exchange may send fewer rows than asked. Only an
            # empty answer (or reaching `last`) ends the walk.
            cursor = int(page[-1][0]) + step
        if not rows:
            return empty_candles()
        return candles_from_rows(rows)

    def first_bar_time(self, symbol: str, timeframe: str) -> datetime | None:
        """Open time of the exchange's first bar (its listing): one request, remembered for this source."""
        key = (normalise_symbol(symbol), timeframe)
        if key not in self._first_bar:
            step = self._check_timeframe(timeframe)
            pair = self._market_id(symbol)
            rows = self._call(
                f"first bar {pair} {timeframe}",
                lambda: self.exchange.fetch_ohlcv(pair, timeframe, since=0, limit=1),
            )
            first = int(rows[0][0]) if rows else None
            self._first_bar[key] = from_ms(first) if first is not None and first % step == 0 else None
        return self._first_bar[key]

    # ------------------------------------------------------------------ funding
    def fetch_funding_rates(self, symbol: str, since: datetime, until: datetime) -> pl.DataFrame | None:
        """Funding settlements at times in [since, min(until, as_of)), page by page (`funding.FUNDING_SCHEMA`);
        None when the coin is not a perpetual here (a spot market has no funding)."""
        from huracan_core.funding import conform_funding, empty_funding

        pair = self._market_id(symbol)
        if (self.exchange.market(pair) or {}).get("type") != "swap":
            return None
        end = to_ms(min(until, self.as_of)) - 1
        cursor = to_ms(since)
        rows: list[tuple[int, float]] = []
        while cursor <= end:
            start = cursor
            page = self._call(
                f"fetch_funding_rate_history {pair} {from_ms(start):%Y-%m-%d %H:%M}",
                lambda s=start: self.exchange.fetch_funding_rate_history(
                    pair, since=s, limit=FUNDING_PAGE_LIMIT, params={"endTime": end}
                ),
            )
            got = [
                (int(r["timestamp"]), float(r["fundingRate"]))
                for r in page
                if r.get("timestamp") is not None and r.get("fundingRate") is not None
            ]
            got = [g for g in got if start <= g[0] <= end]
            if not got:
                break
            rows.extend(got)
            cursor = max(g[0] for g in got) + 1
        if not rows:
            return empty_funding()
        frame = pl.DataFrame({"timestamp": [r[0] for r in rows], "funding_rate": [r[1] for r in rows]})
        return conform_funding(frame, f"{self.exchange_id} fundingRate {pair}")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
