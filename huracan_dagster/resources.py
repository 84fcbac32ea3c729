"""Dagster resources wrapping huracan_core seams, chosen per profile.

`HuracanConfig` hands every asset the same validated Settings (settings.yaml + HURACAN_* env); the
optional fields let a test or a launchpad run point one run at another engine home or config file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource
from dagster_ray import LocalRay, RayResource
from dagster_ray.configs import Lifecycle

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


RAY_INIT_OPTIONS = {"ignore_reinit_error": True, "include_dashboard": False, "log_to_driver": False}


class ClusterRay(RayResource):
    """A Ray cluster that already runs (production: `ray.address` / `RAY_ADDRESS`, KubeRay, `ray start`).

    Typed as dagster-ray's `RayResource`, so assets swap it for `LocalRay` per profile.
    """

    address: str

    @property
    def host(self) -> str:
        return self.address.split("://")[-1].split(":")[0]

    @property
    def ray_address(self) -> str:  # type: ignore[override]
        return self.address

    @property
    def name(self) -> str:
        return "ClusterRay"

    @property
    def created(self) -> bool:
        return True

    @property
    def ready(self) -> bool:
        return True


# The resource describes the cluster; the model asset connects through `ensure_ray`, which keeps one
# connection per process. dagster-ray's own connect would disconnect at the end of every run, and in
# `huracan run` (many runs, one process) that takes down the embedded cluster under the next coin.
KEEP_CONNECTION = Lifecycle(connect=False, cleanup="never")


def ray_resource(settings: Settings) -> RayResource:
    """Embedded local Ray (or the one a parent process started, via RAY_ADDRESS) for the local
    profile; the configured cluster address otherwise."""
    address = settings.ray.address or os.environ.get("RAY_ADDRESS")
    if address:
        return ClusterRay(address=address, ray_init_options=RAY_INIT_OPTIONS, lifecycle=KEEP_CONNECTION)
    return LocalRay(ray_init_options=RAY_INIT_OPTIONS, lifecycle=KEEP_CONNECTION)
