"""The label: forward log return over h bars from the NEXT bar's open, in bps, never from the past."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huracan_core.labels import LABEL, add_label, bar_volatility, forward_log_return_bps


def test_label_starts_at_the_next_open() -> None:
    o = np.array([100.0, 101.0, 103.0, 102.0, 105.0])
    lab = forward_log_return_bps(o, 1)
    assert lab[0] == pytest.approx(np.log(103 / 101) * 1e4)
    assert lab[2] == pytest.approx(np.log(105 / 102) * 1e4)
    assert np.isnan(lab[3:]).all()
    lab2 = forward_log_return_bps(o, 2)
    assert lab2[0] == pytest.approx(np.log(102 / 101) * 1e4)
    assert np.isnan(lab2[2:]).all()


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 5), st.integers(0, 40))
def test_label_of_row_t_ignores_prices_after_t_plus_1_plus_h(h: int, t: int) -> None:
    rng = np.random.default_rng(t)
    o = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 60)))
    changed = o.copy()
    changed[t + 2 + h :] *= 1.5
    a, b = forward_log_return_bps(o, h), forward_log_return_bps(changed, h)
    assert a[t] == b[t]


def test_add_label_leaves_the_tail_null_and_refuses_unsorted() -> None:
    ts = pl.datetime_range(
        pl.datetime(2026, 1, 1), pl.datetime(2026, 1, 1, 5), "1h", eager=True, time_zone="UTC"
    )
    frame = pl.DataFrame({"timestamp": ts, "open": [1.0, 2, 3, 4, 5, 6]})
    out = add_label(frame, 2)
    assert out[LABEL].null_count() == 3
    with pytest.raises(ValueError, match="sorted"):
        add_label(frame.reverse(), 1)


def test_volatility_is_trailing() -> None:
    c = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 100)))
    v = bar_volatility(c, 10)
    changed = c.copy()
    changed[60:] *= 2
    assert np.array_equal(v[:60], bar_volatility(changed, 10)[:60], equal_nan=True)
    assert np.isnan(v[:5]).all() and np.isfinite(v[20:]).all()
