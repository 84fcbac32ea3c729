"""Dagster resources wrapping huracan_core seams, chosen per profile.

`HuracanConfig` hands every asset the same validated Settings (settings.yaml + HURACAN_* env); the
optional fields let a test or a launchpad run point one run at another engine home or config file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource
from dagster_ray import RayResource
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

    Typed as dagster-ray's `RayResource`, so assets swap it for `SharedLocalRay` per profile.
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


class SharedLocalRay(RayResource):
    """The engine home's long-lived local Ray head (`huracan_core.execution.ray_head`), shared by every
    run process: the first model run starts it (`ray start --head`, detached), later runs join it in
    well under a second instead of booting their own Ray. Its address lives in `{home}/ray/head.json`
    and is resolved at connect time, so `ray_address` is None here; `huracan ray status|stop` manage it.
    """

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def ray_address(self) -> None:  # type: ignore[override]
        return None

    @property
    def name(self) -> str:
        return "SharedLocalRay"

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
    """The configured cluster (`ray.address` / `RAY_ADDRESS`), else the engine home's shared local
    head. Either way the model asset connects through `ensure_ray`, the one place that connects."""
    address = settings.ray.address or os.environ.get("RAY_ADDRESS")
    if address:
        return ClusterRay(address=address, ray_init_options=RAY_INIT_OPTIONS, lifecycle=KEEP_CONNECTION)
    return SharedLocalRay(ray_init_options=RAY_INIT_OPTIONS, lifecycle=KEEP_CONNECTION)
