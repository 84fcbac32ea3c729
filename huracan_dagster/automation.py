"""The night's chaining, as Dagster declarative-automation conditions on the assets themselves.

Every asset after `universe` is requested by the automation sensor when its inputs of that date changed,
for any date (not only the latest: a UI backfill of a date a year ago is carried the same way), once none
of its inputs is running or about to run:

- a per-coin layer (`candles`, `features`, `model`): its keys whose inputs were updated since it was
  last requested, whose inputs all exist (a coin outside the day's universe has no `coin` partition — the
  universe step materialises one per selected coin — and a coin whose `candles` failed has none, so
  neither is requested downstream), in one ranged run per unbroken block of keys (their
  `BackfillPolicy.single_run`);
- a day-level step after a per-coin layer (`market_context`, `shared_encoder`, `roster`): once every coin of
  the layer before it is terminal, failed coins included — it waits while any of them runs or is due;
- `roster` also runs after a `model` layer that materialised nothing (every coin skipped or failed): the
  day's `shared_encoder` being updated is the layer's start, so the roster still says why for each coin;
- `exports` in the same run as `roster` (same partitions), or after a `roster` materialised on its own.

"About to run" is read off the inputs' own inputs: an input whose inputs were updated this tick is due now
(Dagster's `will_be_requested` only sees inputs that can share the run, i.e. of the same partitions).
"""

from __future__ import annotations

from dagster import AssetSelection
from dagster import AutomationCondition as AC  # noqa: N817 - Dagster's own short name in its docs

# materialised since the last tick. Not `any_deps_updated()`, which also counts an input requested in the
# same tick and so puts a layer in its input's run: the two layers would then share one range, and a
# coin failing in it would paint every other key of that range red.
_UPDATED = AC.any_deps_match(AC.newly_updated())
# an input whose own inputs were updated this tick is about to run; `coin` never runs (the universe step
# materialises it together with `universe`), so it is never "about to run"
_DUE = AC.any_deps_match(_UPDATED).ignore(AssetSelection.assets("coin"))
_NOT_BUSY = ~AC.any_deps_in_progress() & ~_DUE & ~AC.in_progress()


def per_coin() -> AC:
    """A per-coin layer: the coins whose inputs changed, all inputs present, none running or due."""
    return (_UPDATED.since_last_handled() & ~AC.any_deps_missing() & _NOT_BUSY).with_label(
        "inputs of the coin updated, all present, none running"
    )


def after_coins(layer_start: str | None = None) -> AC:
    """A day-level step after a per-coin layer: runs once that layer's coins of the day are all terminal.
    `layer_start`: the day-level input of that layer, whose update starts the layer (so the step also
    runs when the layer materialised no coin at all)."""
    trigger = _UPDATED
    if layer_start is not None:
        trigger = trigger | AC.any_deps_match(
            AC.any_deps_match(AC.newly_updated()).allow(AssetSelection.assets(layer_start))
        )
    return (trigger.since_last_handled() & _NOT_BUSY).with_label("every coin of the day terminal")


def with_roster() -> AC:
    """`exports`: in the roster's own run, or after a roster materialised alone."""
    return (
        (AC.any_deps_match(AC.will_be_requested()) | _UPDATED.since_last_handled())
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
    ).with_label("after the roster")
