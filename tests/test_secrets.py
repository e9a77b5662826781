"""No Secret value and no credential-like env value reaches any output.

Seeds Secrets (``data`` and ``stringData``) and credential-shaped env values into pods,
Servers, ServerConfigs and workloads next to objects that do produce findings, then renders
every format registered in ``seldon_doctor.render.FORMATS`` (so formats added later are
covered) and every graph export, and looks for the seeded values (and their base64).
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from seldon_doctor.engine import run_checks
from seldon_doctor.graph.build import build_graph
from seldon_doctor.render import FORMATS, RenderOptions, get_renderer
from seldon_doctor.sources.collect import ScanInputs, collect_files
from tests.conftest import FIXTURES

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAQSEEDEDKEY0001",
    "AWS_SECRET_ACCESS_KEY": "seeded-aws-secret-7f3a9c",
    "GITHUB_TOKEN": "seeded-ghp-token-5b21e0",
    "HF_TOKEN": "seeded-hf-token-88d1aa",
    "PASSWORD": "seeded-password-c0ffee",
    "DB_PASSWORD": "seeded-db-password-1234",
    "MLFLOW_TRACKING_PASSWORD": "seeded-mlflow-pass-4e4e",
    "MLFLOW_TRACKING_TOKEN": "seeded-mlflow-token-9a9a",
    "S3_SECRET_KEY": "seeded-s3-secret-key-77aa",
    "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY": "seeded-rclone-s3-secret-31",
    "API_KEY": "seeded-api-key-6060",
}
SECRET_DATA = "seeded-secret-data-value-4242"
SECRET_STRING_DATA = "seeded-secret-stringdata-5151"


def _env() -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in SECRETS.items()]


def _estate(tmp_path: Path) -> list[str]:
    """The split-brain fixture (findings quote agent env) plus seeded credentials."""
    base = (FIXTURES / "checks" / "SD501" / "fires.yaml").read_text()
    documents = [d for d in yaml.safe_load_all(base) if d]
    for doc in documents:
        if doc["kind"] == "Server":
            containers = doc["spec"].setdefault("podSpec", {}).setdefault("containers", [])
            if not containers:
                containers.append({"name": "agent"})
            for container in containers:
                container.setdefault("env", []).extend(_env())
            containers.append({"name": "mlserver", "env": _env(), "image": "mlserver:1.6.1"})
    extra = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s3-creds", "namespace": "app-a"},
            "type": "Opaque",
            "data": {"key": base64.b64encode(SECRET_DATA.encode()).decode()},
            "stringData": {"token": SECRET_STRING_DATA},
        },
        {
            "apiVersion": "mlops.seldon.io/v1alpha1",
            "kind": "ServerConfig",
            "metadata": {"name": "mlserver", "namespace": "seldon-mesh"},
            "spec": {
                "podSpec": {
                    "containers": [
                        {
                            "name": "agent",
                            "image": "docker.io/seldonio/seldon-agent:latest",
                            "env": [
                                {"name": "SELDON_SERVER_CAPABILITIES", "value": "sklearn"},
                                *_env(),
                            ],
                        },
                        {"name": "rclone", "image": "rclone:latest", "env": _env()},
                    ]
                }
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "mlserver-a-0",
                "namespace": "app-a",
                "labels": {"seldon-server-name": "mlserver-a"},
                "annotations": {"seldon-doctor.io/note": "x"},
            },
            "spec": {
                "containers": [
                    {
                        "name": "agent",
                        "image": "docker.io/seldonio/seldon-agent:latest",
                        "env": [
                            {
                                "name": "SELDON_SCHEDULER_HOST",
                                "value": "seldon-scheduler.seldon-mesh.svc.cluster.local",
                            },
                            {"name": "SELDON_SERVER_CAPABILITIES", "value": "sklaern"},
                            *_env(),
                        ],
                        "args": [f"--password={SECRETS['PASSWORD']}"],
                    }
                ]
            },
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "seldon-envoy", "namespace": "app-a"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/name": "seldon-envoy"}},
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": "seldon-envoy"}},
                    "spec": {
                        "containers": [
                            {"name": "envoy", "image": "seldon-envoy:latest", "env": _env()}
                        ]
                    },
                },
            },
        },
    ]
    path = tmp_path / "estate.yaml"
    path.write_text(yaml.safe_dump_all(documents + extra, sort_keys=False))
    return [str(path)]


def _forbidden() -> list[str]:
    values = [*SECRETS.values(), SECRET_DATA, SECRET_STRING_DATA]
    values.append(base64.b64encode(SECRET_DATA.encode()).decode())
    return values


def _assert_clean(text: str, where: str) -> None:
    leaked = [v for v in _forbidden() if v in text]
    assert not leaked, f"{where} leaks {leaked}"


def test_no_secret_in_any_output_format(tmp_path: Path) -> None:
    files = _estate(tmp_path)
    snapshot = collect_files(ScanInputs(files=files))
    graph = build_graph(snapshot)
    report = run_checks(graph, debug=True)
    assert report.findings, "the seeded estate must produce findings to be a real test"
    options = RenderOptions(exit_code=1, show_plan=True, graph=graph)
    assert len(FORMATS) >= 2
    for fmt in FORMATS:
        _assert_clean(get_renderer(fmt)(report, options), f"-o {fmt}")
    from seldon_doctor.render import graph_export

    for export in (graph_export.to_dot, graph_export.to_mermaid, graph_export.to_json):
        _assert_clean(export(graph, report.findings), f"graph {export.__name__}")


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_no_secret_through_the_cli(tmp_path: Path, fmt: str) -> None:
    files = _estate(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "seldon_doctor", "scan", "-f", *files, "-o", fmt, "--plan"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1, 3), result.stderr
    _assert_clean(result.stdout + result.stderr, f"scan -o {fmt}")


@pytest.mark.parametrize("fmt", ["json", "dot", "mermaid"])
def test_no_secret_in_graph_command(tmp_path: Path, fmt: str) -> None:
    files = _estate(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "seldon_doctor", "graph", "-f", *files, "-o", fmt],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    _assert_clean(result.stdout + result.stderr, f"graph -o {fmt}")


def test_redaction_helper_masks_credential_like_env() -> None:
    from seldon_doctor.redact import is_credential_name, redact_value

    for name in SECRETS:
        assert is_credential_name(name), name
    for name in ("SELDON_SCHEDULER_HOST", "SELDON_SERVER_CAPABILITIES", "POD_NAMESPACE"):
        assert not is_credential_name(name), name
    container: dict[str, Any] = {
        "name": "agent",
        "env": _env(),
        "args": [f"--password={SECRETS['PASSWORD']}"],
    }
    masked = redact_value(container)
    text = repr(masked)
    _assert_clean(text, "redact_value")
    assert container["env"][0]["value"] == SECRETS["AWS_ACCESS_KEY_ID"], "input not mutated"
