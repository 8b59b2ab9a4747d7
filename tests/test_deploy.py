"""deploy/ for operators: every YAML file parses, and the pieces fit together (probes,
autoscalers, Services, the Secret template, Rasa's endpoints, the health-check script).

Docker and Kubernetes do not run on this machine: this checks what can be checked without
them (`docker compose config` and `kubectl apply --dry-run` cannot be run here)."""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from knowledge.yaml_files import load_all_yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEPLOY = REPO_ROOT / "deploy"
K8S = DEPLOY / "k8s"
PLACEHOLDER = "CHANGE_ME"
WORKLOADS = ("Deployment", "StatefulSet")


def yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


@lru_cache(maxsize=1)
def k8s_objects() -> tuple[dict, ...]:
    """Every Kubernetes object in deploy/k8s, parsed once (tests only read them)."""
    objects = []
    for path in sorted(K8S.glob("*.yaml")):
        objects += [doc for doc in load_all_yaml(path) if doc and "kind" in doc]
    return tuple(objects)


def of_kind(kind: str) -> list[dict]:
    return [obj for obj in k8s_objects() if obj["kind"] == kind]


def named(kind: str, name: str) -> dict:
    (found,) = [obj for obj in of_kind(kind) if obj["metadata"]["name"] == name]
    return found


def containers(workload: dict) -> list[dict]:
    return workload["spec"]["template"]["spec"]["containers"]


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def endpoint_variables() -> set[str]:
    """${NAME}s Rasa fills in (comments are not read)."""
    text = (DEPLOY / "endpoints.yml").read_text()
    code = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return set(re.findall(r"\$\{(\w+)\}", "\n".join(code)))


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path):
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    assert documents


def test_the_expected_files_are_there():
    names = {str(p.relative_to(DEPLOY)) for p in yaml_files()}
    assert {"compose.yaml", "endpoints.yml", "k8s/secret.example.yaml"} <= names
    assert {"Deployment", "Service", "Secret", "ConfigMap", "HorizontalPodAutoscaler"} <= {
        obj["kind"] for obj in k8s_objects()
    }


def test_every_deployment_container_has_a_readiness_probe():
    deployments = of_kind("Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {"gateway", "rasa", "actions"}
    for deployment in deployments:
        for container in containers(deployment):
            assert "readinessProbe" in container, deployment["metadata"]["name"]


def test_the_probes_ask_what_the_issue_names():
    gateway, rasa, actions = (
        containers(named("Deployment", n))[0] for n in ("gateway", "rasa", "actions")
    )
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert actions["readinessProbe"]["httpGet"]["path"] == "/health"
    # Rasa's /status needs the token: the probe script reads it from the environment.
    assert rasa["readinessProbe"]["exec"]["command"] == ["python", "deploy/probe.py", "rasa"]
    assert "RASA_TOKEN" in {item["name"] for item in rasa["env"]}


def test_rolling_updates_never_take_a_pod_away_first():
    for deployment in of_kind("Deployment"):
        update = deployment["spec"]["strategy"]["rollingUpdate"]
        assert update["maxUnavailable"] == 0, deployment["metadata"]["name"]


def test_every_autoscaler_targets_an_existing_deployment():
    deployments = {d["metadata"]["name"] for d in of_kind("Deployment")}
    autoscalers = of_kind("HorizontalPodAutoscaler")
    targets = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in autoscalers}
    assert targets == {"rasa", "gateway"}
    for hpa in autoscalers:
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["kind"] == "Deployment"
        assert ref["name"] in deployments
        assert hpa["spec"]["minReplicas"] >= 2


def test_every_service_selects_pods_of_a_workload_on_a_named_port():
    pods = {}
    for workload in [*of_kind("Deployment"), *of_kind("StatefulSet")]:
        template = workload["spec"]["template"]
        ports = {p["name"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
        pods[tuple(sorted(template["metadata"]["labels"].items()))] = ports
    for service in of_kind("Service"):
        selector = tuple(sorted(service["spec"]["selector"].items()))
        assert selector in pods, service["metadata"]["name"]
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in pods[selector], service["metadata"]["name"]


def test_the_secret_template_holds_placeholders_only():
    (secret,) = of_kind("Secret")
    values = secret["stringData"]
    assert {"SECRET_KEY", "RASA_TOKEN", "POSTGRES_PASSWORD", "REDIS_PASSWORD"} <= set(values)
    assert {name for name in values if name.startswith("WECHAT_")} == {
        "WECHAT_TOKEN",
        "WECHAT_APP_ID",
        "WECHAT_ENCODING_AES_KEY",
        "WECHAT_APP_SECRET",
    }
    for name, value in values.items():
        assert value in ("", PLACEHOLDER), name
    assert (
        "secret.example.yaml"
        not in yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    )


def test_every_referenced_secret_and_setting_exists():
    (secret,) = of_kind("Secret")
    settings = named("ConfigMap", "assistant-settings")["data"]
    for workload in [*of_kind("Deployment"), *of_kind("StatefulSet")]:
        for container in containers(workload):
            for item in container.get("env", []):
                source = item.get("valueFrom", {})
                if "secretKeyRef" in source:
                    assert source["secretKeyRef"]["key"] in secret["stringData"], item["name"]
                if "configMapKeyRef" in source:
                    assert source["configMapKeyRef"]["key"] in settings, item["name"]


def test_the_kustomization_lists_files_that_exist():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource


def test_the_configmap_carries_deploy_endpoints_word_for_word():
    text = named("ConfigMap", "rasa-endpoints")["data"]["endpoints.yml"]
    assert text == (DEPLOY / "endpoints.yml").read_text()
    endpoints = yaml.safe_load(text)
    assert endpoints["tracker_store"]["type"] == "SQL"
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    assert endpoints["lock_store"]["type"] == "redis"


def test_rasa_gets_every_variable_its_endpoints_name():
    variables = endpoint_variables()
    assert "POSTGRES_PASSWORD" in variables and "REDIS_HOST" in variables
    # Kubernetes: the settings ConfigMap plus the container's own env.
    rasa = containers(named("Deployment", "rasa"))[0]
    given = set(named("ConfigMap", "assistant-settings")["data"]) | {e["name"] for e in rasa["env"]}
    assert variables <= given
    # Compose.
    assert variables <= set(compose()["services"]["rasa"]["environment"])


def test_every_compose_service_has_a_healthcheck_and_waits_for_healthy_ones():
    services = compose()["services"]
    assert set(services) == {"gateway", "rasa", "actions", "redis", "postgres"}
    for name, service in services.items():
        assert service["healthcheck"]["test"], name
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services
            assert condition == {"condition": "service_healthy"}
    assert services["gateway"]["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert services["gateway"]["environment"]["REDIS_URL"].startswith("redis://")


def test_compose_keeps_data_in_named_volumes():
    document = compose()
    volumes = set(document["volumes"])
    assert {"postgres-data", "redis-data", "assistant-var", "models"} <= volumes
    for service in document["services"].values():
        for mount in service.get("volumes", []):
            assert mount.split(":", 1)[0] in volumes, mount


# deploy/probe.py: the containers' health check, against a tiny fake Rasa.


def load_probe():
    spec = importlib.util.spec_from_file_location("deploy_probe", DEPLOY / "probe.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def fake_rasa(token: str) -> Iterator[tuple[str, list]]:
    """/status answers 200 only with the token (as Rasa does); webhook posts are recorded."""
    posted: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == f"/status?token={token}" else 401)
            self.end_headers()

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posted.append((self.path, json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", posted
    finally:
        server.shutdown()
        server.server_close()


def test_the_rasa_probe_needs_the_token_and_warms_up_once(tmp_path, monkeypatch):
    probe = load_probe()
    marker = tmp_path / "warm"
    with fake_rasa("the-token") as (base, posted):
        monkeypatch.setenv("RASA_TOKEN", "wrong")
        assert probe.rasa(base, marker) is False
        assert posted == []

        monkeypatch.setenv("RASA_TOKEN", "the-token")
        assert probe.rasa(base, marker) is True
        assert posted == [
            ("/webhooks/rest/webhook", {"sender": probe.WARM_UP_SENDER, "message": "你好"})
        ]
        assert marker.exists()
        # Warm already: only /status from now on.
        assert probe.rasa(base, marker) is True
        assert len(posted) == 1


def test_the_url_probe_fails_on_an_error_status_and_a_closed_port():
    probe = load_probe()
    with fake_rasa("t") as (base, _):
        assert probe.ok(f"{base}/status?token=t") is True
        assert probe.ok(f"{base}/status") is False
    assert probe.ok(base + "/status", timeout=1) is False
    assert probe.main([]) == 2
