"""The release model: parsing image tags, per-release facts, and agreement with the stock
install manifests of each release (../shared/data/seldon/releases/<tag>/)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from seldon_doctor.domain import releases
from seldon_doctor.domain.releases import KNOWN_RELEASES, LATEST, release_for, release_for_images
from tests.conftest import shared_data


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("2.9.1", "2.9.1"),
        ("v2.9.1", "2.9.1"),
        ("2.10.2", "2.10.2"),
        ("2.10", "2.10.0"),
        ("docker.io/seldonio/seldon-scheduler:2.9.0", "2.9.0"),
        ("seldonio/seldonv2-controller:v2.8.5", "2.8.5"),
        ("2.9.1-rc1", "2.9.1"),
    ],
)
def test_known_versions_parse(text: str, name: str) -> None:
    release = release_for(text)
    assert release.name == name
    assert not release.assumed


@pytest.mark.parametrize("text", ["latest", "2.7.0", "2.8.3", "3.0.0", "sha256:abc", "", None])
def test_unknown_versions_assume_the_latest(text: str | None) -> None:
    release = release_for(text)
    assert release.assumed
    assert release.version == LATEST.version


def test_watch_namespaces_from_2_9_1() -> None:
    assert not release_for("2.8.5").accepts_controller_flag("--watch-namespaces")
    assert not release_for("2.9.0").accepts_controller_flag("--watch-namespaces=a,b")
    assert release_for("2.9.1").watch_namespaces_flag
    assert release_for("2.10.2").accepts_controller_flag("--use-deployments-for-servers")
    assert not release_for("2.9.1").accepts_controller_flag("--use-deployments-for-servers")


def test_model_names_are_dns_labels_without_dots() -> None:
    release = release_for("2.9.1")
    assert release.model_name_valid("iris-v1")
    assert not release.model_name_valid("iris.v1")
    assert not release.model_name_valid("Iris")


def test_agent_and_stock_defaults() -> None:
    for release in KNOWN_RELEASES:
        assert release.agent_memory_default_bytes == 1_000_000
        assert release.agent_overcommit_default_percent == 0
        assert release.stock_overcommit_percent == 10
        assert release.agent_default_capabilities == ("sklearn", "xgboost")
        assert release.proto.server_notify_batched
        assert release.stock_containers("mlserver") == ("rclone", "agent", "mlserver")
        assert release.stock_containers("custom") is None


def test_pipeline_route_layout() -> None:
    v29 = release_for("2.9.1").pipeline_routes
    assert v29.cluster_name("p") == "pipelinegateway_http"
    assert v29.route_name("p", "grpc") == "p.pipeline_pipeline_grpc"
    assert v29.placeholder_splits
    assert not release_for("2.8.5").pipeline_routes.placeholder_splits
    v210 = release_for("2.10.2").pipeline_routes
    assert v210.cluster_name("p") == "p_pipeline_http"
    assert v210.route_name("p") == "p.pipeline_http"


def test_proto_and_component_shapes() -> None:
    assert release_for("2.9.1").proto.control_plane_events == ("SEND_SERVERS", "SEND_RESOURCES")
    assert "SEND_EXPERIMENTS" in release_for("2.10.0").proto.control_plane_events
    assert release_for("2.10.2").proto.model_gateway_status
    assert release_for("2.9.1").pipelinegateway_service
    assert not release_for("2.10.2").pipelinegateway_service
    assert release_for("2.9.1").agent_readiness_probe
    assert not release_for("2.9.0").agent_readiness_probe


def test_release_for_images_ignores_server_images() -> None:
    images = [
        "docker.io/seldonio/mlserver:1.7.1",
        "nvcr.io/nvidia/tritonserver:23.03-py3",
        "docker.io/seldonio/seldon-agent:2.9.0",
        "docker.io/seldonio/seldonv2-controller:2.9.1",
    ]
    assert release_for_images(images).name == "2.9.1"
    assert release_for_images(["docker.io/seldonio/mlserver:1.7.1"]).assumed


def test_domain_module_is_pure() -> None:
    tree = ast.parse(Path(releases.__file__).read_text())
    imported = {
        alias.name if isinstance(node, ast.Import) else (node.module or "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    forbidden = ("seldon_doctor", "kubernetes", "grpc")
    assert not [m for m in imported if m.startswith(forbidden)], imported


def _stock_serverconfigs(tag: str) -> dict[str, dict[str, object]]:
    path = shared_data("seldon", "releases", tag, "components.yaml")
    docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") == "ServerConfig"}


@pytest.mark.parametrize("tag", ["v2.8.5", "v2.9.0", "v2.9.1", "v2.10.2"])
def test_model_agrees_with_the_release_manifests(tag: str) -> None:
    release = release_for(tag)
    assert not release.assumed
    configs = _stock_serverconfigs(tag)
    assert set(configs) == {name for name, _ in release.serverconfig_containers}
    for name, config in configs.items():
        pod_spec = config["spec"]["podSpec"]  # type: ignore[index]
        names = tuple(c["name"] for c in pod_spec["containers"])
        assert sorted(names) == sorted(release.stock_containers(name) or ())
        agent = next(c for c in pod_spec["containers"] if c["name"] == "agent")
        env = {e["name"]: e for e in agent.get("env", [])}
        assert env["SELDON_OVERCOMMIT_PERCENTAGE"]["value"] == str(release.stock_overcommit_percent)
        ref = env["MEMORY_REQUEST"]["valueFrom"]["resourceFieldRef"]
        assert ref["containerName"] == name and ref["resource"] == "requests.memory"
    controller = shared_data("seldon", "releases", tag, "components.yaml").read_text()
    assert ("--watch-namespaces" in controller) == release.watch_namespaces_flag
