"""The deployment artifacts against the code they deploy. No container runtime here, so what can
be checked without one is: every SAMORDNA_* variable the Dockerfile, the Compose file and the
Kubernetes manifests set is a setting the service in that image reads; the images' entry points
exist and everything they import is copied in; ports, probes and mounted files line up; the same
principals everywhere; and the README's Configuration table lists exactly the settings there are."""

import ast
import functools
import importlib
import json
import os
import re
import shlex
from pathlib import Path

import httpx
import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from deploy import access
from deploy.setup import SetupSettings
from services.board.settings import BoardSettings
from services.consent.settings import ConsentSettings
from services.runtime.jwt_issuers import read_issuers

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy/containers/Dockerfile"
COMPOSE = REPO / "deploy/compose/compose.yaml"
COMPOSE_ENV = REPO / "deploy/compose/samordna.env.example"
K8S = REPO / "deploy/k8s"
PRINCIPALS = access.principals_from(json.loads((REPO / "deploy/principals.json").read_text()))

SETTINGS = {  # image target -> the settings class its entry point reads
    "consent": ConsentSettings,
    "region": importlib.import_module("services.region.__main__").RegionSettings,
    "municipality": importlib.import_module("services.municipality.__main__").MunicipalitySettings,
    "board": BoardSettings,
    "tools": SetupSettings,
}
SERVICE_TARGETS = ["consent", "region", "municipality", "board"]


def _env_name(field: str) -> str:
    return "SAMORDNA_" + field.upper()


def _unknown_settings(target: str, names) -> set[str]:
    known = {_env_name(field) for field in SETTINGS[target].model_fields}
    return {name for name in names if name.startswith("SAMORDNA_") and name not in known}


# ---- the Dockerfile ---------------------------------------------------------------------------


@functools.cache
def _stages() -> dict[str, dict]:
    """Each build stage: its parent, ENV, EXPOSE, CMD, USER, COPY sources and HEALTHCHECK."""
    stages: dict[str, dict] = {}
    current: dict = {}
    for instruction in DockerfileParser(path=str(DOCKERFILE)).structure:
        kind, value = instruction["instruction"], instruction["value"]
        if kind == "FROM":
            image, _, name = value.partition(" AS ")
            current = {"from": image.strip(), "env": {}, "copy": [], "expose": [], "cmd": None, "user": None}
            stages[name.strip()] = current
        elif kind == "ENV":
            current["env"] |= dict(token.split("=", 1) for token in shlex.split(value))
        elif kind == "EXPOSE":
            current["expose"] += [int(port) for port in value.split()]
        elif kind == "CMD":
            current["cmd"] = json.loads(value)
        elif kind == "USER":
            current["user"] = value
        elif kind == "HEALTHCHECK":
            current["healthcheck"] = value
        elif kind == "COPY" and not value.startswith("--from"):
            current["copy"] += shlex.split(value)[:-1]
    return stages


def _chain(target: str) -> list[dict]:
    """The target's stage, then the stages it builds FROM, up to the base image."""
    stages, chain = _stages(), []
    while target in stages:
        chain.append(stages[target])
        target = stages[target]["from"]
    return chain


def _inherited(target: str, key: str):
    """A stage's own value, else the nearest it builds FROM."""
    return next((stage[key] for stage in _chain(target) if stage[key]), None)


def _image_env(target: str) -> dict[str, str]:
    return {key: value for stage in reversed(_chain(target)) for key, value in stage["env"].items()}


def _copied(target: str) -> list[str]:
    return [source for stage in _chain(target) for source in stage["copy"]]


def _module_file(module: str) -> Path:
    path = REPO / Path(*module.split("."))
    return path / "__main__.py" if path.is_dir() else path.with_suffix(".py")


def test_the_dockerfile_has_a_target_per_service_and_the_tools():
    assert set(SETTINGS) <= set(_stages())


@pytest.mark.parametrize("target", SETTINGS)
def test_each_images_entry_point_exists_and_its_settings_are_read(target):
    command = _inherited(target, "cmd")
    assert command[:2] == ["python", "-m"], command
    assert _module_file(command[2]).is_file(), f"{target}: no module {command[2]}"
    assert not _unknown_settings(target, _image_env(target)), target


@pytest.mark.parametrize("target", SERVICE_TARGETS)
def test_each_service_image_exposes_the_port_it_listens_on(target):
    env = _image_env(target)
    assert _inherited(target, "expose") == [int(env["SAMORDNA_HTTP_PORT"])]
    assert env["SAMORDNA_HTTP_PORT"] == str(SETTINGS[target].model_fields["http_port"].default)
    assert env["SAMORDNA_HTTP_HOST"] == "0.0.0.0"  # noqa: S104 (inside the container's own network namespace)
    assert env["SAMORDNA_ENVIRONMENT"] == "production"


def test_the_images_run_as_an_unprivileged_user_and_check_readiness():
    for target in SETTINGS:
        user = _inherited(target, "user")
        assert user and user.split(":")[0] not in ("0", "root"), target
    assert "/readyz" in _stages()["base"]["healthcheck"]


def _imports_of(module: str) -> set[str]:
    """The project modules (contracts, services, deploy) a module imports, transitively."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen or not _module_file(name).is_file():
            continue
        seen.add(name)
        for node in ast.walk(ast.parse(_module_file(name).read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                todo += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
    return {name for name in seen if name.split(".")[0] in ("contracts", "services", "deploy")}


@pytest.mark.parametrize("target", SETTINGS)
def test_everything_an_entry_point_imports_is_copied_into_its_image(target):
    copied = _copied(target)
    for source in copied:
        assert (REPO / source).exists(), f"COPY {source}: no such file"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert not {"contracts", "services", "deploy", "pyproject.toml"} & set(ignored)
    modules = _imports_of(_inherited(target, "cmd")[2])
    for module in modules:
        path = _module_file(module).relative_to(REPO).as_posix()
        assert any(path == source or path.startswith(source.rstrip("/") + "/") for source in copied), (
            f"{target}: {module} ({path}) is not copied into the image"
        )


# ---- Compose -----------------------------------------------------------------------------------


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_compose_sets_only_settings_each_service_reads():
    shared = _env_file(COMPOSE_ENV)
    assert not _unknown_settings("tools", shared), "samordna.env holds settings every service must read"
    for name, service in _compose()["services"].items():
        target = service["build"]["target"]
        assert service["image"].split("/")[-1].startswith(target + ":"), name
        assert not _unknown_settings(target, service.get("environment", {})), name
        assert service["env_file"] == COMPOSE_ENV.name.removesuffix(".example"), name


def test_compose_runs_a_gateway_per_principal_as_its_own_kafka_user():
    services = _compose()["services"]
    gateways = {name for name, s in services.items() if s["build"]["target"] in ("region", "municipality")}
    assert gateways == set(PRINCIPALS)
    users = {name: s["environment"].get("SAMORDNA_KAFKA_USERNAME") for name, s in services.items()}
    assert all(users[gateway] == gateway for gateway in gateways)
    assert users["consent"] == access.GATE_USER and users["board"] == access.BOARD_USER
    for principal in PRINCIPALS:
        code = principal.split("-")[1]
        setting = "SAMORDNA_LANSKOD" if principal.startswith("region-") else "SAMORDNA_KOMMUNKOD"
        assert services[principal]["environment"][setting] == code


def test_compose_ports_secrets_and_the_setup_command_line_up():
    compose = _compose()
    for name, service in compose["services"].items():
        target = service["build"]["target"]
        for secret in service.get("secrets", []):
            source = secret["source"] if isinstance(secret, dict) else secret
            assert source in compose["secrets"], f"{name}: secret {source} is not declared"
        if target == "tools":
            command = service["command"]
            assert command[:2] == ["python", "-m"] and _module_file(command[2]).is_file()
            continue
        port = _image_env(target)["SAMORDNA_HTTP_PORT"]
        assert all(mapping.endswith(f":{port}") for mapping in service["ports"]), name
        assert service["environment"]["SAMORDNA_KAFKA_PASSWORD_FILE"] == "/run/secrets/kafka-password"
        user = service["environment"]["SAMORDNA_KAFKA_USERNAME"]
        assert compose["secrets"][service["secrets"][0]["source"]]["file"] == f"./secrets/kafka-users/{user}"


# ---- Kubernetes --------------------------------------------------------------------------------


@functools.cache
def _k8s(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def _k8s_objects(*, with_examples: bool = False) -> list[dict]:
    files = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    files += ["secrets.example.yaml"] if with_examples else []
    return [doc for name in files for doc in _k8s(name)]


def _of_kind(kind: str, objects=None) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in (objects or _k8s_objects(with_examples=True)) if o["kind"] == kind}


def _workloads() -> dict[str, dict]:
    objects = _k8s_objects()
    found = {}
    for kind in ("Deployment", "StatefulSet", "Job"):
        found |= _of_kind(kind, objects)
    return found


def _container_env(container: dict) -> dict[str, str | None]:
    """Every variable the container gets: its ConfigMaps' keys, then its own env (which wins)."""
    env: dict[str, str | None] = {}
    config_maps = _of_kind("ConfigMap")
    for source in container.get("envFrom", []):
        env |= config_maps[source["configMapRef"]["name"]]["data"]
    for variable in container.get("env", []):
        env[variable["name"]] = variable.get("value")
    return env


@pytest.mark.parametrize("manifest", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_each_k8s_manifest_is_valid_for_kubernetes_1_30(manifest):
    """Against the API's own schemas, strictly: a misspelt field is an error, not ignored."""
    for doc in _k8s(manifest):
        kubernetes_validate.validate(doc, "1.30.0", strict=True)


def test_the_kustomization_lists_every_manifest_but_the_secret_templates():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    present = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml", "secrets.example.yaml"}
    assert listed == present


def test_k8s_sets_only_settings_each_service_reads():
    for name, workload in _workloads().items():
        for container in workload["spec"]["template"]["spec"]["containers"]:
            target = container["image"].removeprefix("samordna/")
            assert target in SETTINGS, f"{name}: unknown image {container['image']}"
            assert not _unknown_settings(target, _container_env(container)), name


def test_k8s_runs_a_gateway_per_principal_as_its_own_kafka_user():
    workloads = _workloads()
    gateways = {
        name
        for name, w in workloads.items()
        if w["spec"]["template"]["spec"]["containers"][0]["image"] in ("samordna/region", "samordna/municipality")
    }
    assert gateways == set(PRINCIPALS)
    site = _of_kind("ConfigMap")["samordna-site"]["data"]
    assert access.principals_from(json.loads(site["principals.json"])) == PRINCIPALS
    for name, workload in workloads.items():
        container = workload["spec"]["template"]["spec"]["containers"][0]
        user = _container_env(container)["SAMORDNA_KAFKA_USERNAME"]
        expected = {"consent": access.GATE_USER, "board": access.BOARD_USER}.get(name, name)
        if name != "samordna-setup":
            assert user == expected, name


async def test_k8s_ports_and_probes_match_the_services():
    apps = _apps()
    assert not await _serves(apps["consent"], "/no-such-probe")  # the check below can fail
    services = _of_kind("Service")
    for name, workload in _workloads().items():
        container = workload["spec"]["template"]["spec"]["containers"][0]
        target = container["image"].removeprefix("samordna/")
        if target == "tools":
            assert _module_file(container["command"][2]).is_file()
            continue
        port = int(_container_env(container).get("SAMORDNA_HTTP_PORT") or _image_env(target)["SAMORDNA_HTTP_PORT"])
        assert [p["containerPort"] for p in container["ports"]] == [port], name
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert await _serves(apps[target], container[probe]["httpGet"]["path"]), f"{name} {probe}"
            assert container[probe]["httpGet"]["port"] == container["ports"][0]["name"]
        service = services[name]
        assert service["spec"]["selector"].items() <= workload["spec"]["template"]["metadata"]["labels"].items()
        assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]


def test_k8s_files_the_settings_name_are_mounted_from_keys_that_exist():
    config_maps, secrets = _of_kind("ConfigMap"), _of_kind("Secret")
    for name, workload in _workloads().items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        container = pod["containers"][0]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
        for variable, value in _container_env(container).items():
            if variable.endswith("_FILE") and value:  # an empty value counts as unset
                directory, _, file = value.rpartition("/")
                assert directory in mounts, f"{name}: {variable}={value} is not under a mount"
                assert file in _volume_files(mounts[directory], config_maps, secrets), f"{name}: {value}"
        for variable in container.get("env", []):
            ref = variable.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in secrets[ref["name"]]["stringData"], f"{name}: {ref}"


def _load_settings(target: str, env: dict[str, str], monkeypatch):
    """The target's settings from exactly this environment (nothing of the test process's)."""
    for name in [name for name in os.environ if name.startswith("SAMORDNA_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return SETTINGS[target]()


def test_each_k8s_workloads_settings_load_from_what_the_manifests_give_it(tmp_path, monkeypatch):
    """Files from the example ConfigMaps and Secrets are laid out under tmp_path as the pod would
    see them; then each container's settings must validate, in production mode."""
    config_maps, secrets = _of_kind("ConfigMap"), _of_kind("Secret")
    for name, workload in _workloads().items():
        pod = workload["spec"]["template"]["spec"]
        container = pod["containers"][0]
        root = tmp_path / name
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        for mount in container["volumeMounts"]:
            volume = volumes[mount["name"]]
            if "emptyDir" in volume:
                continue
            for path, content in _volume_files(volume, config_maps, secrets).items():
                (root / mount["mountPath"].lstrip("/") / path).parent.mkdir(parents=True, exist_ok=True)
                (root / mount["mountPath"].lstrip("/") / path).write_text(content)
        env = {}
        for variable, value in _container_env(container).items():
            env[variable] = str(root / value.lstrip("/")) if value and value.startswith("/") else value or ""
        for variable in container.get("env", []):
            ref = variable.get("valueFrom", {})
            if "secretKeyRef" in ref:
                env[variable["name"]] = secrets[ref["secretKeyRef"]["name"]]["stringData"][ref["secretKeyRef"]["key"]]
            elif "fieldRef" in ref:
                env[variable["name"]] = f"{name}-0"
        settings = _load_settings(container["image"].removeprefix("samordna/"), env, monkeypatch)
        assert settings.environment == "production" and settings.kafka_password, name


def test_each_compose_services_settings_load_from_what_compose_gives_it(tmp_path, monkeypatch):
    """As above for Compose: samordna.env.example, the service's environment, its secret file and
    the config directory (filled with the Kubernetes examples of the same files)."""
    compose, site = _compose(), _of_kind("ConfigMap")["samordna-site"]["data"]
    config = tmp_path / "etc/samordna"
    config.mkdir(parents=True)
    (config / "tokens.json").write_text(_of_kind("Secret")["samordna-tokens"]["stringData"]["tokens.json"])
    for file in ("principals.json", "jwt-issuers.json"):
        (config / file).write_text(site[file])
    for name, service in compose["services"].items():
        assert "./config:/etc/samordna:ro" in service["volumes"], name
        secrets_dir = tmp_path / name / "run/secrets"
        secrets_dir.mkdir(parents=True)
        for secret in service["secrets"]:
            target = secret["target"] if isinstance(secret, dict) else secret
            (secrets_dir / target).write_text("a-kafka-password")
        env = _env_file(COMPOSE_ENV) | service["environment"]
        env = {
            variable: value.replace("/etc/samordna", str(config)).replace("/run/secrets", str(secrets_dir))
            for variable, value in env.items()
        }
        settings = _load_settings(service["build"]["target"], env, monkeypatch)
        assert settings.environment == "production" and settings.kafka_password, name


def test_the_example_jwt_issuers_are_valid(tmp_path):
    issuers = tmp_path / "jwt-issuers.json"
    issuers.write_text(_of_kind("ConfigMap")["samordna-site"]["data"]["jwt-issuers.json"])
    assert {principal for issuer in read_issuers(issuers) for principal in issuer.principals} == set(PRINCIPALS)


def _volume_files(volume: dict, config_maps: dict, secrets: dict) -> dict[str, str]:
    """File name -> content, as a configMap or secret volume lays them out in the pod."""
    if "configMap" in volume:
        source, data = volume["configMap"], config_maps[volume["configMap"]["name"]]["data"]
    else:
        source, data = volume["secret"], secrets[volume["secret"]["secretName"]]["stringData"]
    if "items" in source:
        assert all(item["key"] in data for item in source["items"]), source
        return {item["path"]: data[item["key"]] for item in source["items"]}
    return dict(data)


def _apps() -> dict:
    """Each service's HTTP app, built but not started (no lifespan: no database, no Kafka)."""
    from services.board.app import create_app as board_app
    from services.consent.app import create_app as consent_app
    from services.gateway.app import create_app as gateway_app

    return {
        "consent": consent_app(ConsentSettings()),
        "region": gateway_app(SETTINGS["region"](), PRINCIPALS[0]),
        "municipality": gateway_app(SETTINGS["municipality"](kommunkod="1489"), PRINCIPALS[1]),
        "board": board_app(BoardSettings()),
    }


async def _serves(app, path: str) -> bool:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        return (await client.get(path)).status_code != 404


# ---- the README --------------------------------------------------------------------------------


def test_the_readme_configuration_table_lists_exactly_the_settings():
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `SAMORDNA_")]
    documented = {name for row in rows for name in re.findall(r"`(SAMORDNA_[A-Z0-9_]+)`", row.split("|")[1])}
    settings = {_env_name(field) for cls in SETTINGS.values() for field in cls.model_fields}
    assert documented == settings, {"undocumented": settings - documented, "not settings": documented - settings}
