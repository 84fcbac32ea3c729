"""Every `huracan` command with bad input: exit 1 or 2, a message naming the thing at fault, no traceback.

Each case runs the console script as a subprocess with its own temp HURACAN_HOME and DAGSTER_HOME (a few
threads at once, each bounded by a timeout). The commands are discovered from `huracan --help` and each
group's `--help`, and a test fails when one has no case here.

`huracan run` cases get a home and a Dagster home *below a regular file*, and a `dagster` package that
refuses to import first on PYTHONPATH: a run that got past its up-front checks fails at once instead of
training a night here, so those cases also prove that the refusal comes before anything is written or
Dagster is loaded (a typo is refused in a second, not after Dagster's start-up). Cases marked `lead` wait for huracan_dagster's `run` to call
huracan_core/run_request.py (strict xfail: they must start passing when it does).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.profile import TEST_PROFILE

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 45
WORKERS = 4
DAY = "2025-11-10"  # a closed day after schedule.first_date
BAD_CRON = {"HURACAN_SCHEDULE__CRON": "99 2 * * *"}
BAD_TZ = {"HURACAN_SCHEDULE__TIMEZONE": "Mars/Olympus"}
BAD_URL = {"HURACAN_DATABASE__URL": "notaurl"}
BAD_TF = {"HURACAN_MARKET__TIMEFRAME": "7x"}
DEAD_PG = {  # nothing listens on port 1; the outage bound is cut so the refusal comes within seconds
    "HURACAN_DATABASE__URL": "postgresql+psycopg://huracan:pw-s3cret-xyz@127.0.0.1:1/brain",
    "HURACAN_DATABASE__OUTAGE_WAIT_S": "1",
}


@dataclass(frozen=True)
class Case:
    """One bad command line. `{d}` in args and env values is the folder of the test's bad files."""

    id: str
    args: list[str]
    expect: list[str]  # substrings of the output (whitespace-normalised) that name the fault
    env: dict[str, str] = field(default_factory=dict)
    codes: tuple[int, ...] = (1, 2)
    absent: list[str] = field(default_factory=list)  # never printed (secrets)
    guarded: bool = False  # homes below a regular file and Dagster unimportable: nothing may run
    lead: str | None = None


def _run_cases() -> list[Case]:
    c = Case
    run = {"guarded": True}  # huracan run: nothing may be written or loaded before the refusal
    cs = ["candles", "sync", "--symbols", "ALFA-USDT", "--since", DAY]
    fc = ["features", "compute", "--output", "{d}/out.parquet", "--input"]
    fg = ["features", "compute", "--input", "{d}/good.csv"]
    sq = {"HURACAN_DATABASE__URL": "sqlite:///{d}/blocker/brain.sqlite"}
    garbage = {"HURACAN_HOME": "{d}/garbage_home"}
    # fmt: off
    return [
        # --- settings that fail at load, from any command: exit 2, the key and its env name ---
        c("config-cron", ["config", "show"], ["schedule.cron", "HURACAN_SCHEDULE__CRON", "out of range"], BAD_CRON, (2,)),
        c("config-five-faults", ["config", "show"], [  # every fault of one load, one line each
            "schedule.timezone = 'Mars/Olympus': is not an IANA time zone name", "(env HURACAN_SCHEDULE__TIMEZONE)",
            "market.timeframe = '7x'", "(env HURACAN_MARKET__TIMEFRAME)", "(env HURACAN_SCHEDULE__FIRST_DATE)",
            "universe.top_n = 'abc'", "(env HURACAN_UNIVERSE__TOP_N)", "schedule.cron = '0 2 31 4 *'",
        ], {**BAD_TZ, **BAD_TF, "HURACAN_SCHEDULE__FIRST_DATE": "2020-13-01", "HURACAN_UNIVERSE__TOP_N": "abc",
            "HURACAN_SCHEDULE__CRON": "0 2 31 4 *"}, (2,)),
        c("config-url", ["config", "show"], ["database.url", "HURACAN_DATABASE__URL", "not a database URL"], BAD_URL, (2,), ["notaurl"]),
        c("config-missing-file", ["config", "show"], ["HURACAN_CONFIG", "not a file"], {"HURACAN_CONFIG": "{d}/absent.yaml"}, (2,)),
        c("config-bad-yaml", ["config", "show"], ["{d}/bad.yaml", "not valid YAML"], {"HURACAN_CONFIG": "{d}/bad.yaml"}, (2,)),
        c("config-list-yaml", ["config", "show"], ["{d}/list.yaml", "mapping"], {"HURACAN_CONFIG": "{d}/list.yaml"}, (2,)),
        c("config-unknown-key", ["config", "show"], ["universe.top_nn"], {"HURACAN_CONFIG": "{d}/unknown_key.yaml"}, (2,)),
        c("config-production-no-db", ["config", "show"], ["database.url"], {"HURACAN_PROFILE": "production"}, (2,)),
        c("config-replay-no-dir", ["config", "show"], ["market.replay_dir"], {"HURACAN_MARKET__SOURCE": "replay"}, (2,)),
        c("universe-cron", ["universe", "--date", DAY], ["HURACAN_SCHEDULE__CRON"], BAD_CRON, (2,)),
        c("health-url", ["health"], ["HURACAN_DATABASE__URL"], BAD_URL, (2,), ["notaurl"]),
        c("db-status-url", ["db", "status"], ["HURACAN_DATABASE__URL"], BAD_URL, (2,), ["notaurl"]),
        c("export-tz", ["export", "--date", DAY], ["HURACAN_SCHEDULE__TIMEZONE"], BAD_TZ, (2,)),
        c("report-timeframe", ["report", "--date", DAY], ["HURACAN_MARKET__TIMEFRAME"], BAD_TF, (2,)),
        c("kill-switch-url", ["kill-switch", "status"], ["HURACAN_DATABASE__URL"], BAD_URL, (2,), ["notaurl"]),
        c("ray-status-cron", ["ray", "status"], ["HURACAN_SCHEDULE__CRON"], BAD_CRON, (2,)),
        c("ray-start-timeframe", ["ray", "start"], ["HURACAN_MARKET__TIMEFRAME"], BAD_TF, (2,)),
        c("ray-stop-url", ["ray", "stop"], ["HURACAN_DATABASE__URL"], BAD_URL, (2,), ["notaurl"]),
        c("candles-url", cs, ["HURACAN_DATABASE__URL"], BAD_URL, (2,), ["notaurl"]),
        c("run-cron", ["run", "--date", DAY], ["HURACAN_SCHEDULE__CRON"], BAD_CRON, (2,), **run),
        # --- dates ---
        c("universe-date-text", ["universe", "--date", "yesterday"], ["--date", "YYYY-MM-DD"], codes=(2,)),
        c("universe-date-early", ["universe", "--date", "1990-01-01"], ["schedule.first_date", "HURACAN_SCHEDULE__FIRST_DATE"], codes=(2,)),
        c("universe-date-future", ["universe", "--date", "2999-01-01"], ["has not closed yet"], codes=(2,)),
        c("universe-date-feb30", ["universe", "--date", "2025-02-30"], ["--date", "2025-02-30"], codes=(2,)),
        c("export-date-early", ["export", "--date", "1990-01-01"], ["schedule.first_date"], codes=(2,)),
        c("export-date-future", ["export", "--date", "2999-01-01"], ["has not closed yet"], codes=(2,)),
        c("report-date-early", ["report", "--date", "1990-01-01"], ["schedule.first_date"], codes=(2,)),
        c("report-date-text", ["report", "--date", "10/11/2025"], ["--date", "YYYY-MM-DD"], codes=(2,)),
        c("run-date-early", ["run", "--date", "1990-01-01"], ["schedule.first_date", "HURACAN_SCHEDULE__FIRST_DATE"], codes=(2,), **run),
        c("run-date-future", ["run", "--date", "2999-01-01"], ["has not closed yet"], codes=(2,), **run),
        c("run-date-text", ["run", "--date", "nope"], ["--date", "YYYY-MM-DD"], codes=(2,), **run),
        c("candles-since-text", [*cs[:-1], "nope"], ["--since"], codes=(2,)),
        c("candles-until-before-since", [*cs, "--until", "2025-11-01"], ["--until 2025-11-01 is before --since"], codes=(2,)),
        # --- counts ---
        c("universe-top-0", ["universe", "--date", DAY, "--top", "0"], ["--top 0"], codes=(2,)),
        c("universe-top-negative", ["universe", "--date", DAY, "--top", "-3"], ["--top -3"], codes=(2,)),
        c("universe-top-text", ["universe", "--top", "abc"], ["--top"], codes=(2,)),
        c("run-top-0", ["run", "--date", DAY, "--top", "0"], ["--top 0"], codes=(2,), **run),
        c("run-top-negative", ["run", "--date", DAY, "--top", "-3"], ["--top -3"], codes=(2,), **run),
        c("run-top-and-symbols", ["run", "--date", DAY, "--symbols", "ALFA-USDT", "--top", "3"], ["exclusive"], codes=(2,), **run),
        # --- symbols and pin files ---
        c("run-symbols-empty", ["run", "--date", DAY, "--symbols", ""], ["--symbols", "names no symbol"], codes=(2,), **run),
        c("run-symbols-commas", ["run", "--date", DAY, "--symbols", ",,,"], ["--symbols", "names no symbol"], codes=(2,), **run),
        c("run-symbols-unknown", ["run", "--date", DAY, "--symbols", "ALFA-USDT,NOPE-USDT"], ["NOPE-USDT is not a market of the synthetic source on 2025-11-10"], codes=(2,), **run),
        c("run-symbols-bad", ["run", "--date", DAY, "--symbols", "BTC|USDT"], ["BTC|USDT"], codes=(2,), **run),
        c("run-file-missing", ["run", "--date", DAY, "--symbols-file", "{d}/absent.csv"], ["--symbols-file {d}/absent.csv: no such file"], codes=(2,), **run),
        c("run-file-empty", ["run", "--date", DAY, "--symbols-file", "{d}/empty.csv"], ["--symbols-file {d}/empty.csv", "no symbol"], codes=(2,), **run),
        c("run-file-header-only", ["run", "--date", DAY, "--symbols-file", "{d}/header.csv"], ["--symbols-file {d}/header.csv", "only a header"], codes=(2,), **run),
        c("run-file-bom-unknown", ["run", "--date", DAY, "--symbols-file", "{d}/bom.csv"], ["NOPE-USDT is not a market"], codes=(2,), **run),
        c("run-file-and-symbols", ["run", "--date", DAY, "--symbols", "ALFA-USDT", "--symbols-file", "{d}/bom.csv"], ["exclusive"], codes=(2,), **run),
        c("candles-symbols-empty", ["candles", "sync", "--symbols", "", "--since", DAY], ["--symbols"], codes=(2,)),
        c("candles-symbols-bad", ["candles", "sync", "--symbols", "BTC|USDT", "--since", DAY], ["BTC|USDT"], codes=(2,)),
        c("candles-symbols-unknown", ["candles", "sync", "--symbols", "NOPE-USDT", "--since", "2025-11-01", "--until", "2025-11-05"], ["NOPE-USDT"], codes=(1,)),
        c("candles-timeframe", [*cs, "--timeframe", "7x"], ["--timeframe", "7x"], codes=(2,)),
        c("decide-symbol-bad", ["decide", "--symbol", "BTC|USDT"], ["BTC|USDT"], codes=(2,)),
        c("decide-no-champion", ["decide", "--symbol", "ALFA-USDT"], ["ALFA-USDT"]),
        # --- candle files for features compute ---
        c("features-missing", [*fc, "{d}/absent.csv"], ["--input"], codes=(2,)),
        c("features-empty", [*fc, "{d}/empty.csv"], ["{d}/empty.csv"]),
        c("features-no-close", [*fc, "{d}/no_close.csv"], ["{d}/no_close.csv", "close"]),
        c("features-not-parquet", [*fc, "{d}/fake.parquet"], ["{d}/fake.parquet"]),
        c("features-timeframe", [*fg, "--output", "{d}/out.parquet", "--timeframe", "7x"], ["--timeframe"], codes=(2,)),
        c("features-output-unwritable", [*fg, "--output", "{d}/blocker/out.parquet"], ["{d}/blocker/out.parquet"]),
        # --- databases and state files ---
        c("db-status-dead-pg", ["db", "status"], ["127.0.0.1"], DEAD_PG, (1,), ["pw-s3cret-xyz"]),
        c("db-upgrade-dead-pg", ["db", "upgrade"], ["127.0.0.1"], DEAD_PG, (1,), ["pw-s3cret-xyz"]),
        c("db-status-sqlite-blocked", ["db", "status"], ["{d}/blocker/brain.sqlite"], sq, (1,)),
        c("db-upgrade-sqlite-blocked", ["db", "upgrade"], ["{d}/blocker/brain.sqlite"], sq, (1,)),
        c("health-dead-pg", ["health"], ["database"], DEAD_PG, (1,), ["pw-s3cret-xyz"]),
        c("export-dead-pg", ["export", "--date", DAY], ["127.0.0.1"], DEAD_PG, (1,), ["pw-s3cret-xyz"]),
        c("report-no-night", ["report", "--date", DAY], ["no night recorded"], codes=(1,)),
        c("kill-switch-action", ["kill-switch", "maybe"], ["on, off or status", "'maybe'"], codes=(2,)),
        c("kill-switch-home-blocked", ["kill-switch", "on", "--reason", "test"], ["{d}/blocker/home"], {"HURACAN_HOME": "{d}/blocker/home"}, (1,)),
        c("kill-switch-garbage-state", ["kill-switch", "status"], ["kill_switch.json", "unreadable"], garbage),
        c("ray-status-garbage-record", ["ray", "status"], ["no local Ray head recorded"], garbage, (1,)),
        # --- research: data folder, nights, variants ---
        c("research-data-missing", ["research", "--data", "{d}/absent", "--night", DAY], ["--data {d}/absent is not a folder of recorded candles"], codes=(2,)),
        c("research-night-text", ["research", "--data", "{d}", "--night", "nope"], ["--night", "YYYY-MM-DD"], codes=(2,)),
        c("research-night-future", ["research", "--data", "{d}", "--night", "2999-01-01"], ["--night 2999-01-01 has not closed yet"], codes=(2,)),
        c("research-variant-unknown", ["research", "--data", "{d}", "--night", DAY, "--variant", "nope"], ["variant(s) nope not in"], codes=(2,)),
        c("research-config-missing", ["research", "--data", "{d}", "--night", DAY, "--config", "{d}/absent.yaml"], ["{d}/absent.yaml does not exist"], codes=(2,)),
        c("unknown-command", ["nope"], ["No such command 'nope'"], codes=(2,)),
    ]
    # fmt: on


CASES = _run_cases()


def _write_bad_files(d: Path) -> None:
    """The bad files the cases name; `good.csv` is a valid daily candle file (for output/timeframe faults)."""
    d.mkdir(parents=True, exist_ok=True)
    (d / "bad.yaml").write_text("universe: [top_n: 4\n")
    (d / "list.yaml").write_text("- a\n- b\n")
    (d / "unknown_key.yaml").write_text("universe:\n  top_nn: 4\n")
    (d / "empty.csv").write_text("")
    (d / "header.csv").write_text("symbol\n")
    (d / "bom.csv").write_bytes("\ufeffsymbol\r\nALFA-USDT\r\nNOPE-USDT\r\n".encode())
    (d / "blocker").write_text("a regular file: nothing can be created below it\n")
    start_ms = 1_730_000_000_000 // 86_400_000 * 86_400_000
    rows = [
        f"{start_ms + i * 86_400_000},{100 + i},{101 + i},{99 + i},{100.5 + i},{1000 + i}" for i in range(80)
    ]
    header = "timestamp,open,high,low,close,volume"
    (d / "good.csv").write_text("\n".join([header, *rows]) + "\n")
    (d / "candles.txt").write_text("\n".join([header, *rows]) + "\n")
    (d / "no_close.csv").write_text("timestamp,open,high,low,volume\n" + f"{start_ms},1,2,0.5,10\n")
    (d / "text_price.csv").write_text(header + "\n" + f"{start_ms},1,2,0.5,abc,10\n")
    (d / "semicolons.csv").write_text(header.replace(",", ";") + "\n" + f"{start_ms};1;2;0.5;1.5;10\n")
    (d / "fake.parquet").write_bytes(b"this is not parquet\n")
    blocked = d / "no_dagster" / "dagster"
    blocked.mkdir(parents=True, exist_ok=True)
    (blocked / "__init__.py").write_text(
        'raise ImportError("test guard: huracan run imported Dagster before refusing its bad input")\n'
    )
    garbage = d / "garbage_home"
    (garbage / "ray").mkdir(parents=True, exist_ok=True)
    (garbage / "ray" / "head.json").write_text("{not json")
    (garbage / "control").mkdir(exist_ok=True)
    (garbage / "control" / "kill_switch.json").write_text("\x00\x01 garbage")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("HURACAN_", "DAGSTER_", "RAY_"))}


@dataclass(frozen=True)
class Outcome:
    code: int | None  # None: killed at the timeout
    out: str
    seconds: float


def _execute(args: list[str], env: dict[str, str]) -> Outcome:
    import time

    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "huracan_dagster", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a timeout kills the whole group (forkserver, workers)
    )
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = None
    return Outcome(code, out, time.monotonic() - started)


def _case_env(case: Case, d: Path, root: Path) -> dict[str, str]:
    base = d / "blocker" if case.guarded else root / case.id
    env = {
        **({"PYTHONPATH": str(d / "no_dagster")} if case.guarded else {}),
        **_clean_env(),
        "HURACAN_HOME": str(base / "home"),
        "DAGSTER_HOME": str(base / "dagster"),
        "HURACAN_CONFIG": str(REPO / "config" / "settings.yaml"),
        "HURACAN_PROFILE": TEST_PROFILE,
        "HURACAN_RAY__HEAD_IDLE_MINUTES": "1",
        "COLUMNS": "160",
    }
    env.update({k: v.replace("{d}", str(d)) for k, v in case.env.items()})
    return env


def _flat(text: str) -> str:
    """Output with rich's box drawing and wrapping undone, so a message is found whatever the width."""
    return re.sub(r"[\s│╭╮╰╯─┃━]+", " ", text)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cli_errors")
    d = root / "files"
    _write_bad_files(d)
    yield root
    for home in root.glob("*/home"):  # a case that started a Ray head: stop it
        if (home / "ray").is_dir():
            env = {**_clean_env(), "HURACAN_HOME": str(home)}
            subprocess.run(
                [sys.executable, "-m", "huracan_dagster", "ray", "stop"],
                cwd=REPO,
                env=env,
                capture_output=True,
                timeout=60,
                check=False,
            )


@pytest.fixture(scope="module")
def outcomes(workdir: Path) -> dict[str, Outcome]:
    """Every case at once, a few at a time (the whole file stays well under a minute and a half)."""
    d = workdir / "files"
    jobs = {
        case.id: ([a.replace("{d}", str(d)) for a in case.args], _case_env(case, d, workdir))
        for case in CASES
    }
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {cid: pool.submit(_execute, args, env) for cid, (args, env) in jobs.items()}
        return {cid: f.result() for cid, f in futures.items()}


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=case.lead)] if case.lead else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input_is_named_without_a_traceback(
    case: Case, outcomes: dict[str, Outcome], workdir: Path
) -> None:
    got = outcomes[case.id]
    d = str(workdir / "files")
    shown = f"huracan {' '.join(case.args)} -> exit {got.code} in {got.seconds:.1f}s:\n{got.out[-3000:]}"
    assert got.code is not None, f"timed out after {TIMEOUT_S}s: {shown}"
    assert "Traceback" not in got.out, shown
    assert got.code in case.codes, shown
    flat = _flat(got.out)
    for text in case.expect:
        assert _flat(text.replace("{d}", d)) in flat, f"{text!r} not in the output: {shown}"
    for secret in case.absent:
        assert secret not in got.out, f"{secret!r} was printed: {shown}"


def _commands(help_text: str) -> list[str]:
    """The names in the "Commands" panel of a Typer --help page."""
    panel = help_text.split("Commands", 1)[1] if "Commands" in help_text else ""
    return re.findall(r"^│ ([a-z][a-z0-9-]*)\s", panel, flags=re.M)


def test_every_command_and_sub_command_has_a_bad_input_case(home: Path) -> None:
    """`huracan --help` and each group's --help (in this process: the pages are the console script's)."""
    from typer.testing import CliRunner

    from huracan_dagster.cli import app, register_subapps

    register_subapps()
    runner = CliRunner()
    top = runner.invoke(app, ["--help"], terminal_width=160)
    names = _commands(top.output)
    assert {"run", "universe", "candles", "features", "config", "db", "ray", "health"} <= set(names), (
        top.output
    )
    commands = set()
    for name in names:
        subs = _commands(runner.invoke(app, [name, "--help"], terminal_width=160).output)
        commands |= {f"{name} {s}" for s in subs} if subs else {name}
    covered = {" ".join(c.args[:2]) for c in CASES} | {c.args[0] for c in CASES}
    assert commands - covered == set(), f"commands without a bad-input case: {sorted(commands - covered)}"
    assert {"db status", "db upgrade", "ray status", "candles sync", "features compute"} <= commands
