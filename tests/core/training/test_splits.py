"""Walk-forward splits: time order, purge + embargo, expanding/rolling, clear refusal when too short."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huracan_core.training.splits import TooShortError, inner_split, purge_gap, walk_forward


@settings(max_examples=200, deadline=None)
@given(
    st.integers(200, 5000),
    st.integers(3, 8),
    st.integers(1, 10),
    st.integers(0, 10),
    st.sampled_from(["expanding", "rolling"]),
)
def test_folds_are_ordered_purged_and_tile_the_end(
    n: int, folds: int, h: int, embargo: int, window: str
) -> None:
    try:
        out = walk_forward(n, folds, h, embargo, window, min_train=60, min_test=20)
    except TooShortError:
        assert n < 60 + purge_gap(h, embargo) + folds * 20
        return
    assert len(out) == folds
    assert out[-1].test_end == n
    for a, b in zip(out, out[1:], strict=False):
        assert a.test_end == b.test_start  # consecutive OOS blocks, in time order
    for f in out:
        assert f.train_end + h + 1 + embargo <= f.test_start  # purge of the label horizon + embargo
        assert f.train_size >= 60 and f.test_size >= 20
        assert 0 <= f.train_start < f.train_end
        if window == "expanding":
            assert f.train_start == 0
        else:
            assert f.train_size == out[0].train_size


def test_too_short_gives_the_numbers() -> None:
    with pytest.raises(TooShortError, match=r"100 labelled rows.*need at least 184"):
        walk_forward(100, 3, 1, 2, min_train=60, min_test=40)


def test_inner_split_is_purged_and_inside_the_window() -> None:
    (a, b), (c, d) = inner_split(100, 1100, horizon=3, embargo=2)
    assert a == 100 and d == 1100 and b + 3 + 1 + 2 == c
    assert d - c == 200
    assert inner_split(0, 40, 1, 0) is None
