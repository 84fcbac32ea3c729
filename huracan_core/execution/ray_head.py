"""One long-lived local Ray head per engine home, shared by every process that trains.

Why: under the daemon every Dagster run is its own process, and an embedded `ray.init()` in each one
booted a whole local Ray (GCS, raylet, agents: 4-10 s here, 74-99 s per run measured under `dagster
dev`) for about a second of training. Instead the first process that needs Ray starts ONE head for
the engine home with `ray start --head` (detached in its own session, with the driver's interpreter,
no dashboard, token authentication with a token kept in the engine home) and records its address in
`{home}/ray/head.json`; every later process (each run of `dagster dev`, each `huracan run` and its
coin workers) joins it. A file lock makes sure two processes never start two heads; a recorded head
that no longer answers is replaced. `huracan ray status|start|stop` shows, starts or stops it.

The head never outlives its purpose: a small watchdog process stops it once no driver has been
connected for `ray.head_idle_minutes`, or at once when its record (or the whole engine home) is
gone. Its Ray temp dir is its own (`/tmp/huracan-ray-<hash of the home>`), so `ray start` never
rewrites `/tmp/ray/ray_current_cluster`, the file a plain `ray.init()` on the machine would join.

The head listens on loopback (`ray.head_host`, default 127.0.0.1): GCS, raylet, agents and the client
server bind 127.0.0.1 only, so nothing of it is reachable from the network. Ray's own single-machine mode
does that (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, the switch Ray uses on macOS and Windows, where it is the
default); `--node-ip-address=127.0.0.1` alone is not enough: Ray replaces a loopback node address with the
machine's. `ray.head_host: auto` lets Ray pick the machine's address, any other value is the node address.

Used only when no cluster is configured (`ray.address` / `RAY_ADDRESS`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from tempfile import gettempdir

from huracan_core.atomic import LockTimeoutError, file_lock, read_json, write_json, write_text
from huracan_core.config import Settings
from huracan_core.logs import get_logger

log = get_logger("execution.ray_head")

# Ray 2.43+ re-launches workers with the driver's `uv run ...` command inside an uploaded copy of the
# working dir (without .venv): under `uv run --no-sync` they die at start and the raylet retries forever.
UV_HOOK_ENV = "RAY_ENABLE_UV_RUN_RUNTIME_ENV"
# Ray's single-machine switch: "0" makes every head process bind and advertise 127.0.0.1
CLUSTER_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
LOOPBACK = ("127.0.0.1", "localhost")


class RayHeadError(RuntimeError):
    """The local Ray head could not be started, reached or stopped (the message says which file and why)."""


@dataclass(frozen=True)
class HeadInfo:
    address: str  # GCS address, host:port
    pgid: int  # process group of every head process (started in its own session)
    python: str  # interpreter that runs the head and, by default, its workers
    started_at: str
    token_path: str
    temp_dir: str = ""
    watchdog_pid: int = 0

    def to_json(self) -> dict:
        return asdict(self)


def ray_dir(settings: Settings) -> Path:
    return Path(settings.home) / "ray"


def head_file(settings: Settings) -> Path:
    return ray_dir(settings) / "head.json"


def token_file(settings: Settings) -> Path:
    # a dot-name: storage listings skip it, so the token is never synced
    return ray_dir(settings) / ".auth_token"


def temp_dir(settings: Settings) -> Path:
    """Short (Unix socket paths are limited to ~107 bytes) and one per engine home."""
    digest = hashlib.sha256(str(Path(settings.home).resolve()).encode()).hexdigest()[:12]
    return Path(gettempdir()) / f"huracan-ray-{digest}"


def disable_uv_hook() -> None:
    """Keep Ray workers on the driver's interpreter and environment: no `uv run` re-launch, no upload.

    Ray reads the flag when `ray._private.ray_constants` is imported, so set both the environment
    (for child processes: the head, coin workers) and the already-imported constant.
    """
    os.environ[UV_HOOK_ENV] = "0"
    try:
        from ray._private import ray_constants

        ray_constants.RAY_ENABLE_UV_RUN_RUNTIME_ENV = False
    except ImportError:  # pragma: no cover - ray is a dependency
        pass


def use_loopback(info: HeadInfo) -> None:
    """A head on loopback: make this process (and its children) reach it there. Ray rewrites a loopback
    address given to `ray.init` into the machine's address (where such a head does not listen) unless
    its single-machine mode is on; it reads that flag when `ray_constants` is imported, so set both."""
    if not info.address.startswith("127.0.0.1:"):
        return
    os.environ[CLUSTER_ENV] = "0"
    try:
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False
    except ImportError:  # pragma: no cover - ray is a dependency
        pass


def use_token(info: HeadInfo) -> None:
    """Make this process (and its children) present the head's token when it joins, and reach the head
    where it listens (`use_loopback`)."""
    use_loopback(info)
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN_PATH"] = info.token_path
    try:  # Ray caches its auth config and token at first use: refresh both
        from ray._raylet import AuthenticationTokenLoader, Config

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
    except (ImportError, AttributeError):  # pragma: no cover - older Ray without token auth
        pass


def _head_lock(settings: Settings, timeout_s: float) -> contextlib.AbstractContextManager[None]:
    """Exclusive lock on `{home}/ray/head.lock`, waited for at most `timeout_s` (another process may be
    starting the head: that takes seconds, never longer than its own start timeout)."""
    return _lock(ray_dir(settings) / "head.lock", timeout_s)


@contextmanager
def _lock(path: Path, timeout_s: float) -> Iterator[None]:
    try:
        with file_lock(path, timeout_s, holder="another process starting the local Ray head"):
            yield
    except LockTimeoutError as exc:
        raise RayHeadError(str(exc)) from None


def read_head(settings: Settings) -> HeadInfo | None:
    path = head_file(settings)
    if not path.is_file():
        return None
    try:
        return HeadInfo(**read_json(path))
    except (ValueError, TypeError) as exc:
        log.warning("unreadable Ray head record: replacing it", path=str(path), error=str(exc))
        return None


def _group_alive(pgid: int) -> bool:
    """A process of the head's group still runs Ray. Checking the command lines (where /proc exists)
    keeps a recycled process-group id of some other program from being taken for the head, or killed."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError, IndexError):
            continue
        if b"ray" in cmdline:
            return True
    return False


def _answers(address: str, timeout_s: float = 1.0) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            return True
    except (OSError, ValueError):
        return False


def head_alive(info: HeadInfo) -> bool:
    """The head's processes exist and its GCS port answers (a dead or half-dead head is stale)."""
    return _group_alive(info.pgid) and _answers(info.address)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def _kill_group(pgid: int, grace_s: float = 5.0) -> None:
    """SIGTERM the head's process group, then SIGKILL what is left after `grace_s` (GCS and raylet
    can ignore SIGTERM for a while)."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not _group_alive(pgid):
                return
            time.sleep(0.1)
    if _group_alive(pgid):
        raise RayHeadError(f"Ray head process group {pgid} survived SIGKILL")


def _node_args(host: str) -> tuple[list[str], dict[str, str]]:
    """`ray start` arguments and environment for the node address `host` (see the module docstring)."""
    if host in LOOPBACK:
        return ["--node-ip-address=127.0.0.1"], {CLUSTER_ENV: "0"}
    if host == "auto":
        return [], {}
    return [f"--node-ip-address={host}"], {}


def _start_head(settings: Settings, timeout_s: float) -> HeadInfo:
    folder = ray_dir(settings)
    token = token_file(settings)
    if not token.is_file():
        write_text(token, secrets.token_hex(32))  # atomic temp file: mode 0600
    port = _free_port()
    host = settings.ray.head_host.strip()
    node_args, node_env = _node_args(host)
    cmd = [
        sys.executable,
        "-m",
        "ray.scripts.scripts",
        "start",
        "--head",
        f"--port={port}",
        # fixed defaults (10001, 52365, ...) would collide between engine homes on one machine
        f"--ray-client-server-port={_free_port()}",
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--dashboard-agent-grpc-port={_free_port()}",
        f"--metrics-export-port={_free_port()}",
        f"--runtime-env-agent-port={_free_port()}",
        "--include-dashboard=false",
        "--include-log-monitor=false",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir(settings)}",
        *node_args,
    ]
    env = {
        **os.environ,
        UV_HOOK_ENV: "0",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
        **node_env,
    }
    env.pop("RAY_ADDRESS", None)
    if not node_env:
        env.pop(CLUSTER_ENV, None)  # a value inherited from the caller would pin the head to loopback
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=folder,
        env=env,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid, grace_s=1.0)
        proc.communicate()
        raise RayHeadError(
            f"`ray start --head` for {settings.home} did not finish within {timeout_s:g} s "
            f"(log: {folder / 'head.log'})"
        ) from None
    finally:
        if proc.stdout is not None and not proc.stdout.closed:
            proc.stdout.close()
    write_text(folder / "head.log", out or "")
    if proc.returncode != 0:
        tail = " | ".join(line.strip() for line in (out or "").strip().splitlines()[-5:])
        _kill_group(proc.pid, grace_s=1.0)
        raise RayHeadError(
            f"`ray start --head` for {settings.home} failed (exit {proc.returncode}): {tail} "
            f"(log: {folder / 'head.log'})"
        )
    found = re.search(r"--address='([^']+)'", out or "")
    if host in LOOPBACK:  # in Ray's single-machine mode it prints no --address line
        address = f"127.0.0.1:{port}"
    else:
        address = found.group(1) if found else f"{_node_ip() if host == 'auto' else host}:{port}"
    info = HeadInfo(
        address=address,
        pgid=proc.pid,
        python=sys.executable,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        token_path=str(token),
        temp_dir=str(temp_dir(settings)),
    )
    with open(folder / "watchdog.log", "ab") as wlog:
        watchdog = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "huracan_core.execution.ray_head",
                "--home",
                str(settings.home),
                "--pgid",
                str(proc.pid),
                "--address",
                address,
                "--idle-s",
                str(settings.ray.head_idle_minutes * 60),
            ],
            cwd=folder,
            env=env,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=wlog,
        )
    info = HeadInfo(**{**info.to_json(), "watchdog_pid": watchdog.pid})
    write_json(head_file(settings), info.to_json())
    log.info(
        "started the shared local Ray head",
        address=address,
        pgid=proc.pid,
        seconds=round(time.perf_counter() - started, 2),
        home=str(settings.home),
    )
    return info


def _node_ip() -> str:
    from ray.util import get_node_ip_address

    return str(get_node_ip_address())


def ensure_local_head(settings: Settings, timeout_s: float | None = None) -> tuple[HeadInfo, bool]:
    """The engine home's running head, started (once, under the lock) when there is none or it died;
    with True when this call started it."""
    timeout_s = timeout_s if timeout_s is not None else settings.ray.head_start_timeout_s
    info = read_head(settings)
    if info is not None and head_alive(info):
        return info, False
    with _head_lock(settings, timeout_s + 10):
        info = read_head(settings)  # another process may have started it while we waited
        if info is not None and head_alive(info):
            return info, False
        if info is not None:
            log.warning("recorded Ray head is gone: starting a new one", address=info.address, pgid=info.pgid)
            if _group_alive(info.pgid):
                _kill_group(info.pgid, grace_s=2.0)  # half-dead (GCS gone, raylet left): clear it
            head_file(settings).unlink(missing_ok=True)
        return _start_head(settings, timeout_s), True


def stop_local_head(settings: Settings) -> HeadInfo | None:
    """Stop the engine home's head (its whole process group) and forget it; None when there was none."""
    with _head_lock(settings, settings.ray.head_start_timeout_s + 10):
        info = read_head(settings)
        if info is None:
            return None
        head_file(settings).unlink(missing_ok=True)  # its watchdog sees this and exits
        if _group_alive(info.pgid):
            _kill_group(info.pgid)
        log.info("stopped the shared local Ray head", address=info.address, pgid=info.pgid)
        return info


def _live_drivers(address: str) -> int | None:
    """Drivers (jobs) connected to the head now; None when the GCS cannot be asked."""
    try:
        from ray._raylet import GcsClient

        jobs = GcsClient(address=address).get_all_job_info(
            skip_submission_job_info_field=True, skip_is_running_tasks_field=True, timeout=10
        )
    except Exception:
        return None
    return sum(1 for job in jobs.values() if not job.is_dead)


def watch(home: Path, pgid: int, address: str, idle_s: float, poll_s: float = 2.0) -> str:
    """The head's watchdog: stop it when its record is gone or replaced (engine home deleted, `huracan
    ray stop`, a new head) or when no driver has been connected for `idle_s`. Returns why it ended."""
    record = home / "ray" / "head.json"
    idle_since = time.monotonic()
    last_check = 0.0
    while True:
        time.sleep(poll_s)
        if not _group_alive(pgid):
            return "head gone"
        try:
            current = HeadInfo(**read_json(record)).pgid if record.is_file() else None
        except (ValueError, TypeError, OSError):
            current = None
        if current != pgid:
            _kill_group(pgid, grace_s=2.0)
            return "record gone"
        now = time.monotonic()
        if now - last_check >= min(15.0, idle_s / 4):
            last_check = now
            drivers = _live_drivers(address)
            if drivers is None or drivers > 0:
                idle_since = now
        if now - idle_since >= idle_s:
            with _lock(home / "ray" / "head.lock", 300):  # no process may pick the head up while it goes
                with contextlib.suppress(FileNotFoundError, ValueError, TypeError):
                    if HeadInfo(**read_json(record)).pgid == pgid:
                        record.unlink()
                _kill_group(pgid, grace_s=2.0)
            return f"idle for {idle_s:g} s"


def _main() -> None:
    parser = argparse.ArgumentParser(description="watchdog of a shared local Ray head")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--pgid", type=int, required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--idle-s", type=float, required=True)
    args = parser.parse_args()
    why = watch(args.home, args.pgid, args.address, args.idle_s)
    sys.stderr.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} head {args.pgid} stopped: {why}\n")


if __name__ == "__main__":
    _main()
