"""`huracan ray status|start|stop`: the engine home's shared local Ray head (see ray_head.py)."""

from __future__ import annotations

import json
import sys

import typer

from huracan_core.cli import console, err_console, settings_or_exit
from huracan_core.execution import ray_head

ray_app = typer.Typer(help="The engine home's shared local Ray head (used when no ray.address is set).")


def _configured_cluster() -> str | None:
    import os

    settings = settings_or_exit()
    return settings.ray.address or os.environ.get("RAY_ADDRESS")


@ray_app.command("status")
def status_cmd(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Show the head recorded for this engine home and whether it still runs (exit 1 when none runs)."""
    settings = settings_or_exit()
    info = ray_head.read_head(settings)
    alive = info is not None and ray_head.head_alive(info)
    state = {
        "home": str(settings.home),
        "configured_cluster": _configured_cluster(),
        "record": str(ray_head.head_file(settings)),
        "running": alive,
        **(info.to_json() if info else {}),
    }
    state.pop("token_path", None)
    if as_json:
        sys.stdout.write(json.dumps(state, indent=2) + "\n")
    elif info is None:
        console.print(f"no local Ray head recorded for {settings.home}")
    else:
        word = "[green]running[/]" if alive else "[red]not running (stale record)[/]"
        console.print(
            f"local Ray head {info.address} (process group {info.pgid}, {info.python}) "
            f"started {info.started_at}: {word}"
        )
    if state["configured_cluster"]:
        console.print(f"runs use the configured cluster {state['configured_cluster']}, not this head")
    if not alive:
        raise typer.Exit(1)


@ray_app.command("start")
def start_cmd() -> None:
    """Start the head now (or reuse the running one) and print its address."""
    settings = settings_or_exit()
    try:
        info, _ = ray_head.ensure_local_head(settings)
    except ray_head.RayHeadError as exc:
        err_console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(info.address)


@ray_app.command("stop")
def stop_cmd() -> None:
    """Stop the head (its whole process group); the next run starts a fresh one."""
    settings = settings_or_exit()
    try:
        info = ray_head.stop_local_head(settings)
    except ray_head.RayHeadError as exc:
        err_console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(
        f"stopped the local Ray head {info.address}" if info else f"no local Ray head for {settings.home}"
    )
