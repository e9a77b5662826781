"""The two forms of ``deploy/`` (exporter, CronJob) over the shared base.

``kubectl kustomize`` builds each form when kubectl is on PATH (its kustomize is built in);
without it the kustomizations are still read and every listed resource must exist and parse.
The containers' arguments are parsed by the real click commands, so a renamed option fails
here, not in a cluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
FORMS = ("exporter", "cronjob")
PUSHGATEWAY = "http://pushgateway.monitoring.svc:9091"


def _load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def _kustomization_resources(folder: Path) -> list[dict[str, Any]]:
    """What a kustomization lists, recursively (a folder is another kustomization)."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    docs: list[dict[str, Any]] = []
    for entry in kustomization["resources"]:
        target = (folder / entry).resolve()
        assert target.exists(), f"{folder.name}/kustomization.yaml lists missing {entry}"
        docs += _kustomization_resources(target) if target.is_dir() else _load(target)
    return docs


def _kubectl_kustomize(folder: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("needs kubectl (its built-in kustomize)")
    result = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60
    )
    if "unknown command" in result.stderr:
        pytest.skip("this kubectl has no kustomize")
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def _by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in docs}


def _pod(form: str) -> dict[str, Any]:
    docs = _by_kind(_kustomization_resources(DEPLOY / form))
    if form == "exporter":
        return dict(docs["Deployment"]["spec"]["template"]["spec"])
    return dict(docs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"])


def _container(form: str) -> dict[str, Any]:
    (container,) = _pod(form)["containers"]
    return dict(container)


@pytest.mark.parametrize("form", FORMS)
def test_each_form_lists_existing_parseable_resources(form: str) -> None:
    kinds = sorted(d["kind"] for d in _kustomization_resources(DEPLOY / form))
    shared = ["ClusterRole", "ClusterRoleBinding", "Namespace", "PrometheusRule", "ServiceAccount"]
    own = ["Deployment", "Service", "ServiceMonitor"] if form == "exporter" else ["CronJob"]
    assert kinds == sorted(shared + own)
    assert not (DEPLOY / "kustomization.yaml").exists()  # deploy/ alone is not an install


@pytest.mark.parametrize("form", FORMS)
def test_kubectl_kustomize_builds_each_form(form: str) -> None:
    docs = _kubectl_kustomize(DEPLOY / form)
    kinds = {d["kind"] for d in docs}
    assert "PersistentVolumeClaim" not in kinds
    assert {"Namespace", "ServiceAccount", "ClusterRole", "ConfigMap", "PrometheusRule"} <= kinds
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert config_map["data"] == {"CLUSTER": "in-cluster"}
    # the generated (hashed) ConfigMap name reached the workload's env
    built = yaml.safe_dump(docs)
    assert f"name: {config_map['metadata']['name']}" in built
    assert config_map["metadata"]["name"].startswith("seldon-doctor-cluster-")
    for doc in docs:
        if doc["kind"] not in ("ClusterRole", "ClusterRoleBinding", "Namespace"):
            assert doc["metadata"]["namespace"] == "seldon-doctor", doc["kind"]


def test_an_overlay_names_the_cluster(tmp_path: Path) -> None:
    """The README's fleet overlay: one literal changes every series' `cluster`."""
    overlay = tmp_path / "prod-eu-1"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": [os.path.relpath(DEPLOY / "exporter", overlay)],
                "configMapGenerator": [
                    {
                        "name": "seldon-doctor-cluster",
                        "namespace": "seldon-doctor",
                        "behavior": "merge",
                        "literals": ["CLUSTER=prod-eu-1"],
                    }
                ],
            }
        )
    )
    docs = _kubectl_kustomize(overlay)
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert config_map["data"] == {"CLUSTER": "prod-eu-1"}
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    ref = env["CLUSTER"]["valueFrom"]["configMapKeyRef"]
    assert ref == {"name": config_map["metadata"]["name"], "key": "CLUSTER"}


@pytest.mark.parametrize("form", FORMS)
def test_workload_is_hardened_and_reads_the_cluster_name(form: str) -> None:
    pod = _pod(form)
    assert pod["serviceAccountName"] == "seldon-doctor"
    assert pod["automountServiceAccountToken"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = _container(form)
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["limits"] and container["resources"]["requests"]
    # only /tmp is writable, and no claim: the metrics are the report
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]
    assert all("persistentVolumeClaim" not in v for v in pod["volumes"])
    args = container["args"]
    assert args[args.index("--cluster") + 1] == "$(CLUSTER)"
    env = {e["name"]: e for e in container["env"]}
    assert env["CLUSTER"]["valueFrom"]["configMapKeyRef"]["name"] == "seldon-doctor-cluster"


def test_exporter_serves_metrics_on_9469_behind_probes() -> None:
    docs = _by_kind(_kustomization_resources(DEPLOY / "exporter"))
    deployment = docs["Deployment"]
    assert deployment["spec"]["replicas"] == 1
    container = _container("exporter")
    args = container["args"]
    assert args[0] == "serve"
    assert args[args.index("--interval") + 1] == "5m"
    assert args[args.index("--port") + 1] == "9469"
    assert args[args.index("--host") + 1] == "0.0.0.0"
    assert container["ports"] == [{"name": "metrics", "containerPort": 9469, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    service = docs["Service"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    monitor = docs["ServiceMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    selected = monitor["spec"]["selector"]["matchLabels"]
    assert selected.items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"] == "metrics"
    assert endpoint["path"] == "/metrics" and endpoint["honorLabels"] is True


def test_cronjob_pushes_each_scan_to_the_pushgateway() -> None:
    cron = _by_kind(_kustomization_resources(DEPLOY / "cronjob"))["CronJob"]
    spec = cron["spec"]
    # cronjob.rules.yml's 45-minute staleness window is three runs of this schedule
    assert spec["schedule"] == "*/15 * * * *" and spec["concurrencyPolicy"] == "Forbid"
    assert "> 2700" in (DEPLOY / "monitoring" / "cronjob.rules.yml").read_text()
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 120
    args = _container("cronjob")["args"]
    assert args[0] == "scan" and "--quiet" in args
    assert args[args.index("--fail-on") + 1] == "never"
    assert args[args.index("--push-gateway") + 1] == PUSHGATEWAY
    assert not any(a.startswith(("json=", "prometheus=")) for a in args)


def _command(name: str) -> click.Command:
    from seldon_doctor.cli.root import cli

    command = cli.commands.get(name)
    if command is None:
        pytest.skip(f"seldon-doctor {name} is not on this branch (the serve branch adds it)")
    return command


def _parse(command: click.Command, args: list[str]) -> dict[str, Any]:
    """The real command's parser over the manifest's args (nothing runs)."""
    ctx = command.make_context(command.name or "", list(args), resilient_parsing=False)
    return dict(ctx.params)


def test_exporter_args_are_a_valid_serve_invocation() -> None:
    args = _container("exporter")["args"]
    params = _parse(_command(args[0]), args[1:])
    assert params  # parsed, not skipped: every option exists and takes its value


def test_cronjob_args_are_a_valid_scan_invocation() -> None:
    args = _container("cronjob")["args"]
    command = _command(args[0])
    params = _parse(command, args[1:])
    assert params["fail_on"] == "never"


def test_parse_rejects_an_unknown_option() -> None:
    with pytest.raises(click.NoSuchOption):
        _parse(_command("scan"), ["--quiet", "--push-gatway", PUSHGATEWAY])
