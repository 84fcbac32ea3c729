"""Walk-forward splits in time order, with purge and embargo (DESIGN §3).

Why purge span+1 rows: the label of row t uses prices up to open[t+1+span] (labels.py: span = h for a
forward return, `barrier_bars` for a triple barrier, `labels.label_span`), so a training row closer than
span+1 rows to the test block has seen test-period prices. The `horizon` argument of the functions below is
that span: callers pass `label_span_of(settings.training)`, never the forward horizon when the target is
a triple barrier. The embargo adds a further gap
against serial correlation of features. Folds are never shuffled; the last fold is the most recent one.

Layout: the labelled rows are cut into `folds + 1` blocks; the first block (at least `min_train` rows)
only trains, each later block is tested once by a model trained on rows before it (expanding: from row 0;
rolling: the same length as the first fold's training window).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from huracan_core.config import TrainingSettings
from huracan_core.labels import label_span


class TooShortError(ValueError):
    """Not enough labelled rows for the requested walk-forward: the coin is skipped, with the numbers."""


@dataclass(frozen=True)
class Fold:
    index: int
    train_start: int
    train_end: int  # exclusive
    test_start: int
    test_end: int  # exclusive

    @property
    def train_size(self) -> int:
        return self.train_end - self.train_start

    @property
    def test_size(self) -> int:
        return self.test_end - self.test_start

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def label_span_of(training: TrainingSettings) -> int:
    """The label span of the configured target (labels.label_span): what every split must purge."""
    return label_span(training.target, training.horizon_bars, training.barrier_bars)


def purge_gap(horizon: int, embargo: int) -> int:
    """Rows dropped between a training block and the next test block (`horizon`: the label span)."""
    return horizon + 1 + embargo


def walk_forward(
    n: int,
    folds: int,
    horizon: int,
    embargo: int,
    window: Literal["expanding", "rolling"] = "expanding",
    min_train: int = 60,
    min_test: int = 20,
) -> list[Fold]:
    """Time-ordered folds over `n` labelled rows; raise `TooShortError` (with the numbers) when they do not fit."""
    if folds < 1:
        raise ValueError(f"folds must be >= 1, got {folds}")
    gap = purge_gap(horizon, embargo)
    needed = min_train + gap + folds * min_test
    if n < needed:
        raise TooShortError(
            f"{n} labelled rows after warm-up; {folds} folds need at least {needed} "
            f"(min_train {min_train} + purge/embargo {gap} + {folds} × min_test {min_test})"
        )
    test_size = n // (folds + 1)
    if n - folds * test_size - gap < min_train:
        test_size = (n - gap - min_train) // folds
    first_test = n - folds * test_size
    train_len = first_test - gap
    out = []
    for k in range(folds):
        start = first_test + k * test_size
        end = n if k == folds - 1 else start + test_size
        train_end = start - gap
        train_start = 0 if window == "expanding" else max(0, train_end - train_len)
        out.append(Fold(k, train_start, train_end, start, end))
    return out


def inner_split(
    train_start: int, train_end: int, horizon: int, embargo: int, fraction: float = 0.2, min_rows: int = 20
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Time-ordered, purged (fit, validation) ranges inside one training window, for the hyperparameter
    search; None when the window is too small to hold both."""
    size = train_end - train_start
    gap = purge_gap(horizon, embargo)
    val = max(min_rows, int(size * fraction))
    fit_end = train_end - val - gap
    if fit_end - train_start < min_rows:
        return None
    return (train_start, fit_end), (train_end - val, train_end)
