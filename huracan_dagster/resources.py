"""Dagster resources wrapping huracan_core seams, chosen per profile.

`HuracanConfig` hands every asset the same validated Settings (settings.yaml + HURACAN_* env); the
optional fields let a test or a launchpad run point one run at another engine home or config file.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from collections.abc import Iterator

from dagster import ConfigurableResource

from huracan_core.config import Settings, load_settings
from huracan_core.logs import configure_logging
from huracan_core.paths import EngineHome


@contextmanager
def _env(overrides: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class HuracanConfig(ConfigurableResource):
    """The engine settings for a run. Empty fields mean: take them from the environment."""

    home: str | None = None
    config_file: str | None = None

    def settings(self) -> Settings:
        overrides = {}
        if self.config_file:
            overrides["HURACAN_CONFIG"] = self.config_file
        with _env(overrides):
            settings = load_settings(**({"home": self.home} if self.home else {}))
        configure_logging(EngineHome(settings.home).logs_dir())
        return settings

    def engine_home(self) -> EngineHome:
        return EngineHome(self.settings().home)
