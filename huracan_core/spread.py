"""Point-in-time bid-ask spread estimates from candles (no order book history needed).

Why: recorded candles carry no order book, and the order book we can read today says nothing about the
spread of a bar two years ago. Pricing every historical bar with today's quote makes old trades look
cheaper or dearer than they were, so the cost of bar t is estimated from the candles closed by t only.
Both estimators below are published, closed-form and use only high, low and close prices. Every value at
bar t is a trailing average over the `window` bar pairs ending at t: appending or altering later bars never
changes it (tests/core/test_spread.py checks this).

Corwin & Schultz (2012), "A Simple Way to Estimate Bid-Ask Spreads from Daily High and Low Prices",
Journal of Finance 67(2), 719-760. The high of a bar is almost always a buyer-initiated trade at the ask and
the low a seller-initiated trade at the bid, so the high/low range holds the variance of returns plus the
spread; the variance grows with the length of the interval and the spread does not. With H, L the highs and
lows of bars t-1 and t, and H2, L2 the high and low over both bars:

    beta  = ln(H[t-1]/L[t-1])^2 + ln(H[t]/L[t])^2
    gamma = ln(H2/L2)^2
    alpha = (sqrt(2 beta) - sqrt(beta)) / (3 - 2 sqrt 2) - sqrt(gamma / (3 - 2 sqrt 2))
    S     = 2 (e^alpha - 1) / (1 + e^alpha)

The paper's adjustment for a price move between the bars is applied: when bar t trades entirely above
(below) the previous close, bar t's high and low are shifted down (up) by the gap. Two-bar estimates that
come out negative are set to zero before averaging, as the paper does for its monthly estimates.

Abdi & Ranaldo (2017), "A Simple Estimation of Bid-Ask Spreads from Daily Close, High, and Low Prices",
Review of Financial Studies 30(12), 4437-4480. With c the log close and eta the log mid-range
(ln H + ln L) / 2, the squared spread is

    s^2 = 4 E[(c[t-1] - eta[t-1]) (c[t-1] - eta[t])]

estimated by the average of the products over the window; a negative average is set to zero (the paper's
treatment), and S = sqrt(max(s^2, 0)). The pair (t-1, t) needs bar t's range, so it is known at t's close.

Both return the proportional spread (ask - bid) / mid; `estimate_spread_bps` converts to bps, applies the
floor and leaves NaN where fewer than `min_pairs` pairs exist yet (the caller decides the fallback).
"""

from __future__ import annotations

import math

import numpy as np

ESTIMATORS = ("corwin_schultz", "abdi_ranaldo")
_K = 3.0 - 2.0 * math.sqrt(2.0)


def _ohlc(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, lo, c = (np.asarray(a, dtype=float) for a in (high, low, close))
    if not (h.shape == lo.shape == c.shape) or h.ndim != 1:
        raise ValueError(
            f"high, low and close must be 1-D of equal length, got {h.shape}, {lo.shape}, {c.shape}"
        )
    bad = ~(np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)) | (lo <= 0) | (h < lo)
    if bad.any():  # a broken bar yields no estimate for the pairs it is in (NaN), never a made-up one
        h, lo, c = (np.where(bad, np.nan, a) for a in (h, lo, c))
    return h, lo, c


def default_min_pairs(window: int) -> int:
    """Pairs an estimate needs before it is reported: half the window (at least 2)."""
    return max(2, window // 2)


def trailing_mean(x: np.ndarray, window: int, min_samples: int) -> np.ndarray:
    """Mean of the finite values among x[t-window+1 .. t]; NaN where fewer than `min_samples` are finite."""
    if window < 1 or min_samples < 1:
        raise ValueError(f"window and min_samples must be >= 1, got {window} and {min_samples}")
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    csum = np.concatenate([[0.0], np.cumsum(np.where(ok, x, 0.0))])
    ccount = np.concatenate([[0], np.cumsum(ok)])
    end = np.arange(1, len(x) + 1)
    start = np.maximum(end - window, 0)
    total = csum[end] - csum[start]
    count = ccount[end] - ccount[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / count
    return np.where(count >= min_samples, out, np.nan)


def corwin_schultz_pairs(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Two-bar Corwin-Schultz spread of the pair (t-1, t) at index t (NaN at t = 0); may be negative."""
    h, lo, c = _ohlc(high, low, close)
    out = np.full(len(h), np.nan)
    if len(h) < 2:
        return out
    prev_close = c[:-1]
    h1, l1 = h[1:].copy(), lo[1:].copy()
    up_gap = l1 > prev_close  # bar t entirely above the previous close: shift it down by the gap
    down_gap = h1 < prev_close  # entirely below: shift it up
    gap = np.where(up_gap, l1 - prev_close, np.where(down_gap, h1 - prev_close, 0.0))
    h1, l1 = h1 - gap, l1 - gap
    h0, l0 = h[:-1], lo[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.log(h0 / l0) ** 2 + np.log(h1 / l1) ** 2
        gamma = np.log(np.maximum(h0, h1) / np.minimum(l0, l1)) ** 2
        alpha = (np.sqrt(2.0 * beta) - np.sqrt(beta)) / _K - np.sqrt(gamma / _K)
        out[1:] = 2.0 * np.expm1(alpha) / (1.0 + np.exp(alpha))
    return out


def corwin_schultz(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int, min_pairs: int | None = None
) -> np.ndarray:
    """Proportional spread at each bar: trailing mean of the two-bar estimates, negatives set to 0 first."""
    pairs = corwin_schultz_pairs(high, low, close)
    pairs = np.where(np.isfinite(pairs), np.maximum(pairs, 0.0), np.nan)
    return trailing_mean(pairs, window, min_pairs or default_min_pairs(window))


def abdi_ranaldo_products(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """(c[t-1] - eta[t-1]) (c[t-1] - eta[t]) at index t (NaN at t = 0): 1/4 of a squared-spread sample."""
    h, lo, c = _ohlc(high, low, close)
    out = np.full(len(h), np.nan)
    if len(h) < 2:
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        lc = np.log(c)
        eta = (np.log(h) + np.log(lo)) / 2.0
    out[1:] = (lc[:-1] - eta[:-1]) * (lc[:-1] - eta[1:])
    return out


def abdi_ranaldo(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int, min_pairs: int | None = None
) -> np.ndarray:
    """Proportional spread at each bar: sqrt(max(4 × trailing mean of the products, 0))."""
    mean = trailing_mean(
        abdi_ranaldo_products(high, low, close), window, min_pairs or default_min_pairs(window)
    )
    return np.sqrt(np.maximum(4.0 * mean, 0.0), where=np.isfinite(mean), out=np.full(len(mean), np.nan))


def estimate_spread_bps(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    estimator: str,
    window: int,
    floor_bps: float = 0.0,
    min_pairs: int | None = None,
) -> np.ndarray:
    """Point-in-time spread in bps at every bar, at least `floor_bps`; NaN while the window is warming up."""
    if estimator == "corwin_schultz":
        frac = corwin_schultz(high, low, close, window, min_pairs)
    elif estimator == "abdi_ranaldo":
        frac = abdi_ranaldo(high, low, close, window, min_pairs)
    else:
        raise ValueError(f"spread estimator must be one of {ESTIMATORS}, not {estimator!r}")
    bps = frac * 1e4
    return np.where(np.isfinite(bps), np.maximum(bps, floor_bps), np.nan)
