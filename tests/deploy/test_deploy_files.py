"""The deployment files in deploy/ agree with the code and with each other, and hold no secret.

Offline and fast: every YAML is parsed with PyYAML (duplicate keys refused), the Dockerfile is read
as text. No Docker engine and no Kubernetes are needed; what only they could prove (the image builds,
the services become healthy, the charts render) is out of reach here and said so in deploy/README.md.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, SecretStr

from huracan_core.config import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DOCKER = DEPLOY / "docker"
HELM = DEPLOY / "helm"

CORE_SERVICES = {"postgres", "user_code", "webserver", "daemon", "ray-head"}
DAGSTER_SERVICES = ("user_code", "webserver", "daemon")
RAY_SERVICES = ("ray-head", "ray-worker")
SECRETISH = re.compile(r"PASSWORD|TOKEN|SECRET|API_KEY|DATABASE__URL", re.I)
PLACEHOLDER = "change-me"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (merge keys `<<` may still override)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass


def load_all_yaml(path: Path) -> list[Any]:
    return [d for d in yaml.load_all(path.read_text(), Loader=_StrictLoader) if d is not None]  # noqa: S506


def read_env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def commented_env_keys(path: Path) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^#\s*([A-Z][A-Z0-9_]*)=", path.read_text(), re.M)}


_VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose-style `${VAR}`, `${VAR:-default}`, `${VAR:?error}` against `env`; `$$` is a literal `$`."""

    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        got = env.get(name)
        if op in (":-", "-"):
            return got if got or (op == "-" and got is not None) else arg
        if op in (":?", "?") and not got:
            raise KeyError(f"{name}: {arg}")
        return got or ""

    return _VAR.sub(one, value.replace("$$", "\0")).replace("\0", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(DOCKER / "compose.yaml")


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return load_yaml(HELM / "values.yaml")


@pytest.fixture(scope="module")
def user_deployment(values: dict[str, Any]) -> dict[str, Any]:
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment


@pytest.fixture(scope="module")
def helm_env(user_deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in user_deployment["env"]}


@pytest.fixture(scope="module")
def raycluster() -> dict[str, Any]:
    (doc,) = load_all_yaml(HELM / "raycluster.yaml")
    return doc


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (DOCKER / "Dockerfile").read_text()


def dagster_yaml_env_names() -> set[str]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if set(node) == {"env"}:
                names.add(node["env"])
            for v in node.values():
                walk(v)

    walk(load_yaml(REPO / "dagster.yaml"))
    return names


def settings_env_name_ok(name: str) -> bool:
    """True when `name` is an env var huracan_core/config.py reads (HURACAN_<SECTION>__<KEY> or top-level)."""
    if name == "HURACAN_CONFIG":
        return True
    rest = name.removeprefix("HURACAN_").lower()
    if rest == name.lower():
        return False
    section, _, key = rest.partition("__")
    field = Settings.model_fields.get(section)
    if field is None:
        return False
    if not key:
        return not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel))
    model = field.annotation
    return isinstance(model, type) and issubclass(model, BaseModel) and key in model.model_fields


def secret_env_names() -> set[str]:
    """HURACAN_* names of every SecretStr setting: the secrets that may only come from the environment."""
    out = set()
    for section, field in Settings.model_fields.items():
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            for key, sub in model.model_fields.items():
                if "SecretStr" in str(sub.annotation) or sub.annotation is SecretStr:
                    out.add(f"HURACAN_{section.upper()}__{key.upper()}")
    return out


def service_env(services: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(services[name].get("environment") or {})


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """target -> source of a service's short-syntax volumes."""
    out = {}
    for v in service.get("volumes", []):
        source, target = v.split(":")[:2]
        out[target] = source
    return out


def ray_containers(raycluster: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    groups = [raycluster["spec"]["headGroupSpec"], *raycluster["spec"]["workerGroupSpecs"]]
    return [(g["template"]["spec"], c) for g in groups for c in g["template"]["spec"]["containers"]]


# ---------------------------------------------------------------------------------------------- parsing


def test_every_deploy_yaml_parses_without_duplicate_keys() -> None:
    files = sorted(DEPLOY.rglob("*.yaml")) + [REPO / "workspace.yaml", REPO / "dagster.yaml"]
    assert len(files) >= 6
    for path in files:
        docs = load_all_yaml(path)
        assert docs and all(isinstance(d, dict) for d in docs), path


# ------------------------------------------------------------------------------------------- dockerfile


def test_dockerfile_installs_exactly_the_lock(dockerfile: str) -> None:
    lines = [
        ln.strip()
        for ln in dockerfile.replace("\\\n", " ").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert "FROM python:3.11-slim" in lines
    assert re.search(r'pip install --no-cache-dir "uv==\$\{UV_VERSION\}"', dockerfile)
    assert re.search(r"ARG UV_VERSION=\d+\.\d+\.\d+", dockerfile), "uv is pinned"
    syncs = [ln for ln in lines if "uv sync" in ln]
    assert len(syncs) >= 1
    for ln in syncs:
        assert "--frozen" in ln and "--no-dev" in ln, ln
    first_sync = next(i for i, ln in enumerate(lines) if "uv sync" in ln)
    assert any(
        ln.startswith("COPY") and "uv.lock" in ln and "pyproject.toml" in ln for ln in lines[:first_sync]
    )
    assert not any(re.search(r"\b(pip|uv pip) install\b", ln) and "uv==" not in ln for ln in lines), (
        "nothing is installed around the lock"
    )


def test_dockerfile_runs_as_non_root_without_entrypoint(dockerfile: str) -> None:
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert users[-1].split(":")[0].isdigit(), "numeric uid, so Kubernetes runAsNonRoot can verify it"
    assert not re.search(r"^ENTRYPOINT", dockerfile, re.M), (
        "K8sRunLauncher and KubeRay pass their own commands"
    )
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert cmd is not None
    args = yaml.safe_load(cmd.group(1))
    assert args[:3] == ["dagster", "code-server", "start"]
    assert args[args.index("-m") + 1] == "huracan_dagster.definitions"


def test_dockerignore_keeps_secrets_out_and_the_build_inputs_in(dockerfile: str) -> None:
    patterns = [
        ln.strip()
        for ln in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert "**/.env" in patterns
    copied = set()
    for m in re.finditer(r"^COPY (.+?) \S+$", dockerfile, re.M):
        copied.update(m.group(1).split())
    assert {"pyproject.toml", "uv.lock", "README.md", "huracan_core", "huracan_dagster", "config"} <= copied
    for item in copied:
        assert (REPO / item).exists(), item
        assert item not in patterns and f"{item}/" not in patterns, f"{item} is copied but ignored"


# ---------------------------------------------------------------------------------------------- compose


def test_compose_has_the_services_with_healthchecks(services: dict[str, Any]) -> None:
    assert set(services) >= CORE_SERVICES
    for name in CORE_SERVICES:
        test = services[name].get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, name
    for name in ("user_code", "webserver", "daemon"):
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy", name
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["user_code"]["condition"] == "service_healthy"
    assert services["user_code"]["depends_on"]["ray-head"]["condition"] == "service_healthy"


def test_compose_builds_one_image_for_every_engine_service(services: dict[str, Any]) -> None:
    engine = ["user_code", "webserver", "daemon", *RAY_SERVICES]
    images = {services[n]["image"] for n in engine}
    assert len(images) == 1
    for name in engine:
        build = services[name]["build"]
        assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == (
            DOCKER / "Dockerfile"
        ).resolve()


def test_user_code_serves_the_code_location_the_workspace_points_at(services: dict[str, Any]) -> None:
    cmd = services["user_code"]["command"]
    assert cmd[:3] == ["dagster", "code-server", "start"]
    assert cmd[cmd.index("-m") + 1] == "huracan_dagster.definitions"
    assert cmd[cmd.index("-h") + 1] == "0.0.0.0"
    port = int(cmd[cmd.index("-p") + 1])
    assert port == 4000
    (entry,) = load_yaml(DOCKER / "workspace.docker.yaml")["load_from"]
    grpc = entry["grpc_server"]
    assert grpc["host"] == "user_code" and grpc["host"] in services and grpc["port"] == port
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    (repo_entry,) = load_yaml(REPO / "workspace.yaml")["load_from"]
    names = {
        grpc["location_name"],
        cmd[cmd.index("--location-name") + 1],
        pyproject["tool"]["dagster"]["code_location_name"],
        repo_entry["python_module"]["location_name"],
    }
    assert names == {"huracan"}
    for name in ("webserver", "daemon"):
        c = services[name]["command"]
        workspace = c[c.index("-w") + 1]
        assert mounts(services[name])[workspace] == "./workspace.docker.yaml"


def test_dagster_services_get_exactly_the_instance_env_and_the_repo_dagster_yaml(
    services: dict[str, Any],
) -> None:
    wanted = dagster_yaml_env_names()
    assert wanted == {
        "DAGSTER_PG_HOST",
        "DAGSTER_PG_PORT",
        "DAGSTER_PG_USER",
        "DAGSTER_PG_PASSWORD",
        "DAGSTER_PG_DB",
    }
    for name in DAGSTER_SERVICES:
        env = service_env(services, name)
        assert {k for k in env if k.startswith("DAGSTER_PG_")} == wanted, name
        assert env["DAGSTER_PG_HOST"] == "postgres"
        home = env["DAGSTER_HOME"]
        m = mounts(services[name])
        assert (DOCKER / m[f"{home}/dagster.yaml"]).resolve() == (REPO / "dagster.yaml").resolve(), name
        (instance_mount,) = [
            v for v in services[name]["volumes"] if v.split(":")[1] == f"{home}/dagster.yaml"
        ]
        assert instance_mount.endswith(":ro"), name
        assert m[home] == "dagster_home", "one DAGSTER_HOME volume: the UI reads the runs' compute logs"
    assert (
        service_env(services, "postgres")["POSTGRES_DB"]
        == service_env(services, "user_code")["DAGSTER_PG_DB"]
    )


def test_compose_engine_env_names_are_settings_the_engine_reads(services: dict[str, Any]) -> None:
    env = service_env(services, "user_code")
    huracan = [k for k in env if k.startswith("HURACAN_")]
    assert huracan
    for key in huracan:
        assert settings_env_name_ok(key), key
    assert env["HURACAN_PROFILE"] == "production"
    assert secret_env_names() <= set(env), "every SecretStr setting can be supplied"
    for name in ("webserver", "daemon"):
        assert not [k for k in service_env(services, name) if k.startswith(("HURACAN_", "RAY_"))], (
            f"{name} never imports the engine and gets none of its secrets"
        )


def test_compose_ray_wiring(services: dict[str, Any]) -> None:
    head = services["ray-head"]["command"]
    assert head[:2] == ["ray", "start"] and {"--head", "--block", "--include-dashboard=false"} <= set(head)
    client_port = next(a.split("=")[1] for a in head if a.startswith("--ray-client-server-port="))
    gcs_port = next(a.split("=")[1] for a in head if a.startswith("--port="))
    env = service_env(services, "user_code")
    assert env["HURACAN_RAY__ADDRESS"] == env["RAY_ADDRESS"] == f"ray://ray-head:{client_port}"
    assert f"--address=ray-head:{gcs_port}" in services["ray-worker"]["command"]
    assert services["ray-worker"]["profiles"] == ["workers"]
    for name in ("user_code", *RAY_SERVICES):
        e = service_env(services, name)
        assert e["RAY_AUTH_MODE"] == "token" and e["RAY_AUTH_TOKEN"].startswith("${RAY_AUTH_TOKEN:?"), name
        assert mounts(services[name])["/data/huracan"] == "huracan_home", name
    assert env["HURACAN_HOME"] == "/data/huracan"


def test_compose_secrets_only_come_from_the_env_file(services: dict[str, Any]) -> None:
    for name in services:
        for key, value in service_env(services, name).items():
            if SECRETISH.search(key) and not key.endswith(("_MODE", "_ENABLED")):
                assert value is None or (isinstance(value, str) and "${" in value), f"{name}.{key}"
    env = service_env(services, "user_code")
    url = env["HURACAN_DATABASE__URL"]
    assert (
        url.startswith("postgresql+psycopg://")
        and ":${POSTGRES_PASSWORD:?" in url
        and "@postgres:5432/" in url
    )
    assert env["DAGSTER_PG_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert service_env(services, "postgres")["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    ports = [p for s in services.values() for p in s.get("ports", [])]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports), "nothing published beyond localhost"


def test_compose_env_loads_as_production_settings(
    services: dict[str, Any], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = read_env_file(DOCKER / ".env.example")
    for key, raw in service_env(services, "user_code").items():
        if key.startswith("HURACAN_") and raw is not None and key not in {"HURACAN_HOME", "HURACAN_CONFIG"}:
            monkeypatch.setenv(key, interpolate(str(raw), example))
    from huracan_core.config import load_settings

    s = load_settings()
    assert s.profile == "production" and s.market.source == "ccxt"
    assert s.ray.address == "ray://ray-head:10001"
    assert (
        s.database_url
        == "postgresql+psycopg://huracan:change-me-fake-postgres-password@postgres:5432/huracan"
    )


def test_postgres_init_creates_the_brain_library_database(services: dict[str, Any]) -> None:
    pg = services["postgres"]
    assert mounts(pg)["/docker-entrypoint-initdb.d"] == "./initdb"
    script = (DOCKER / "initdb" / "10-huracan-db.sh").read_text()
    assert "HURACAN_PG_DB" in script and "CREATE DATABASE" in script
    db = service_env(services, "postgres")["HURACAN_PG_DB"]
    assert service_env(services, "user_code")["HURACAN_DATABASE__URL"].endswith(f"/{db}")


# ------------------------------------------------------------------------------------- secrets, .env


def test_env_example_holds_placeholders_only() -> None:
    path = DOCKER / ".env.example"
    example = read_env_file(path)
    assert {"POSTGRES_PASSWORD", "RAY_AUTH_TOKEN"} <= set(example)
    for key, value in example.items():
        if SECRETISH.search(key):
            assert PLACEHOLDER in value.lower(), f"{key} must be a clearly fake placeholder"
    for m in re.finditer(r"^#\s*([A-Z][A-Z0-9_]*)=(.*)$", path.read_text(), re.M):
        if SECRETISH.search(m.group(1)):
            assert PLACEHOLDER in m.group(2).lower(), m.group(1)
    documented = set(example) | commented_env_keys(path)
    # HURACAN_DATABASE__URL is assembled by compose.yaml from the POSTGRES_* values above
    assert secret_env_names() - {"HURACAN_DATABASE__URL"} <= documented, "every engine secret has a slot"
    for key in documented:
        if key.startswith("HURACAN_") and key not in {
            "HURACAN_PG_DB",
            "HURACAN_IMAGE",
            "HURACAN_WITH_OPENCL",
        }:
            assert settings_env_name_ok(key), key


def test_compose_interpolates_every_variable_the_template_defines(compose: dict[str, Any]) -> None:
    text = (DOCKER / "compose.yaml").read_text()
    used = {m.group(1) for m in _VAR.finditer(text)}
    example = read_env_file(DOCKER / ".env.example")
    required = {m.group(1) for m in _VAR.finditer(text) if m.group(2) in (":?", "?")}
    assert required and required <= set(example), "every required variable is in the template"
    assert set(example) <= used, "the template defines nothing compose ignores"
    interpolate(text, example)  # the template alone satisfies every ${VAR:?}


def test_dot_env_is_ignored_and_never_committed() -> None:
    rules = (DOCKER / ".gitignore").read_text().splitlines()
    assert ".env" in rules and "!.env.example" in rules
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("no git checkout to ask")
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/docker/.env"], cwd=REPO)
    assert ignored.returncode == 0
    tracked = subprocess.run(["git", "ls-files", "deploy"], cwd=REPO, capture_output=True, text=True).stdout
    assert not [p for p in tracked.splitlines() if Path(p).name == ".env" or Path(p).suffix == ".env"]


# `KEY: value` / `KEY=value` where KEY ends in a secret-like word, and `scheme://user:password@host`.
_LITERAL_SECRET = [
    re.compile(r"(?i)(?:password|passwd|secret|token|api_?key)[\"']?\s*[:=]\s*[\"']?([^\s\"'#]+)"),
    re.compile(r"://[^/\s:@]+:([^@\s/]+)@"),
]


def _harmless(value: str) -> bool:
    """An interpolation, a command substitution, a <placeholder>, a change-me value or a Secret's name."""
    value = value.lower().rstrip("`,.")
    return (
        value.startswith(("${", "$(", "<", "huracan-", "dagster-"))
        or PLACEHOLDER in value
        or value in {"true", "false"}
        or (value.isalpha() and len(value) < 6)
    )  # prose: "password: it"


def test_no_password_like_literal_is_committed_under_deploy() -> None:
    files = [p for p in DEPLOY.rglob("*") if p.is_file() and p.name != ".env"]
    assert files
    for path in files:
        text = path.read_text()
        assert "BEGIN" not in text or "PRIVATE KEY" not in text, path
        for line_no, line in enumerate(text.splitlines(), 1):
            scanned = re.sub(r"\$\{[^}]*\}", "${}", line)  # an interpolation is never a literal
            for rx in _LITERAL_SECRET:
                for m in rx.finditer(scanned):
                    assert _harmless(m.group(1)), f"{path.relative_to(REPO)}:{line_no}: {line.strip()}"
            assert not re.search(r"\b[0-9a-f]{32,}\b", line), f"{path}:{line_no}: long hex literal"


# ------------------------------------------------------------------------------------------------- helm


def test_helm_user_deployment(user_deployment: dict[str, Any], helm_env: dict[str, Any]) -> None:
    assert user_deployment["name"] == "huracan"
    args = user_deployment["dagsterApiGrpcArgs"]
    assert args[args.index("-m") + 1] == "huracan_dagster.definitions"
    assert user_deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    assert {"repository", "tag", "pullPolicy"} <= set(user_deployment["image"])
    assert helm_env["HURACAN_PROFILE"]["value"] == "production"
    for name in helm_env:
        assert settings_env_name_ok(name) or name.startswith("RAY_"), name
    assert [s["name"] for s in user_deployment["envSecrets"]] == ["huracan-secrets"]
    token = helm_env["RAY_AUTH_TOKEN"]
    assert "value" not in token and token["valueFrom"]["secretKeyRef"]["key"] == "auth_token"
    assert helm_env["RAY_AUTH_MODE"]["value"] == "token"
    pod = user_deployment["podSecurityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0


def test_helm_instance_settings_mirror_the_repo_dagster_yaml(values: dict[str, Any]) -> None:
    instance = load_yaml(REPO / "dagster.yaml")
    mon, monitoring = instance["run_monitoring"], values["dagsterDaemon"]["runMonitoring"]
    assert monitoring["enabled"] is mon["enabled"] is True
    assert monitoring["startTimeoutSeconds"] == mon["start_timeout_seconds"]
    assert monitoring["pollIntervalSeconds"] == mon["poll_interval_seconds"]
    assert monitoring["maxRuntimeSeconds"] == mon["max_runtime_seconds"]
    assert monitoring["freeSlotsAfterRunEndSeconds"] == mon["free_slots_after_run_end_seconds"]
    assert monitoring["maxResumeRunAttempts"] == mon.get("max_resume_run_attempts", 0) == 0
    ret, retries = instance["run_retries"], values["dagsterDaemon"]["runRetries"]
    assert retries["enabled"] is ret["enabled"] is True
    assert retries["maxRetries"] == ret["max_retries"]
    assert retries["retryOnAssetOrOpFailure"] is ret["retry_on_asset_or_op_failure"]
    conc, concurrency = instance["concurrency"], values["concurrency"]
    assert concurrency["enabled"] is True
    assert concurrency["runs"]["maxConcurrentRuns"] == conc["runs"]["max_concurrent_runs"]
    assert concurrency["pools"]["granularity"] == conc["pools"]["granularity"] == "op"
    assert concurrency["pools"]["defaultLimit"] == conc["pools"]["default_limit"]
    qrc = values["dagsterDaemon"]["runCoordinator"].get("config", {}).get("queuedRunCoordinator", {})
    assert qrc.get("maxConcurrentRuns") is None, "the chart refuses a run limit in both places"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["runLauncher"]["config"]["k8sRunLauncher"]["loadInclusterConfig"] is True


def test_the_train_pool_is_the_one_the_model_asset_uses() -> None:
    source = (REPO / "huracan_dagster" / "defs" / "models" / "assets.py").read_text()
    assert 'pool="train"' in source
    assert "`train` pool" in (HELM / "values.yaml").read_text()


def test_helm_postgres_password_comes_from_a_secret_only(values: dict[str, Any]) -> None:
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["global"]["postgresqlSecretName"]
    assert "postgresqlPassword" not in values["postgresql"]
    assert {"postgresqlHost", "postgresqlUsername", "postgresqlDatabase"} <= set(values["postgresql"])


# --------------------------------------------------------------------------------------------- kuberay


def test_raycluster_shape(raycluster: dict[str, Any]) -> None:
    assert raycluster["apiVersion"] == "ray.io/v1" and raycluster["kind"] == "RayCluster"
    spec = raycluster["spec"]
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    ray_version = next(p["version"] for p in lock["package"] if p["name"] == "ray")
    assert spec["rayVersion"] == ray_version
    groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
    assert {"cpu", "gpu"} <= set(groups)
    assert groups["cpu"]["replicas"] >= 1 and groups["gpu"]["replicas"] == 0, "GPU group is optional"
    for g in [spec["headGroupSpec"], *spec["workerGroupSpecs"]]:
        assert all(isinstance(v, str) for v in g["rayStartParams"].values()), "rayStartParams are strings"
    for g in spec["workerGroupSpecs"]:
        assert g["minReplicas"] <= g["replicas"] <= g["maxReplicas"]
    (gpu,) = groups["gpu"]["template"]["spec"]["containers"]
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] >= 1
    (cpu,) = groups["cpu"]["template"]["spec"]["containers"]
    assert "nvidia.com/gpu" not in cpu["resources"].get("limits", {})


def test_raycluster_is_what_the_user_deployment_dials(
    raycluster: dict[str, Any], helm_env: dict[str, Any], user_deployment: dict[str, Any]
) -> None:
    address = helm_env["HURACAN_RAY__ADDRESS"]["value"]
    assert helm_env["RAY_ADDRESS"]["value"] == address
    (head,) = raycluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"]
    client_port = next(p["containerPort"] for p in head["ports"] if p["name"] == "client")
    assert address == f"ray://{raycluster['metadata']['name']}-head-svc:{client_port}"
    auth = raycluster["spec"]["authOptions"]
    assert auth["mode"] == "token"
    assert auth["secretName"] == helm_env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]["name"]
    repo = user_deployment["image"]["repository"]
    home = helm_env["HURACAN_HOME"]["value"]
    ud_mounts = {m["name"]: m["mountPath"] for m in user_deployment["volumeMounts"]}
    ud_claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in user_deployment["volumes"]}
    (pvc,) = load_all_yaml(HELM / "huracan-home-pvc.yaml")
    assert pvc["kind"] == "PersistentVolumeClaim" and pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert ud_claims["huracan-home"] == pvc["metadata"]["name"] and ud_mounts["huracan-home"] == home
    for pod, container in ray_containers(raycluster):
        assert container["image"].rsplit(":", 1)[0] == repo, "driver and cluster share the image"
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
        paths = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert claims["huracan-home"] == pvc["metadata"]["name"] and paths["huracan-home"] == home
        assert pod["securityContext"]["runAsNonRoot"] is True


def test_helm_env_loads_as_production_settings(
    helm_env: dict[str, Any], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, entry in helm_env.items():
        if (
            name.startswith("HURACAN_")
            and "value" in entry
            and name not in {"HURACAN_HOME", "HURACAN_CONFIG"}
        ):
            monkeypatch.setenv(name, entry["value"])
    monkeypatch.setenv("HURACAN_DATABASE__URL", "postgresql+psycopg://huracan:change-me@db:5432/huracan")
    from huracan_core.config import load_settings

    s = load_settings()
    assert s.profile == "production" and s.ray.address == helm_env["RAY_ADDRESS"]["value"]
