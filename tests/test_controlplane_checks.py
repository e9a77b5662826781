"""Control-plane and serving checks: the behaviour the fires/quiet fixtures do not pin down."""

from __future__ import annotations

from pathlib import Path

from seldon_doctor.checks.base import CheckContext
from seldon_doctor.checks.controlplane.sd507_namespace_not_watched import NamespaceNotWatched
from seldon_doctor.checks.controlplane.sd510_dataflow_unavailable import DataflowUnavailable
from seldon_doctor.checks.serving.sd702_canary_weights_invalid import CanaryWeightsInvalid
from seldon_doctor.domain.images import is_moving_tag, split_image
from seldon_doctor.findings import Severity
from seldon_doctor.graph.build import build_graph
from seldon_doctor.sources.collect import ScanInputs, collect_files

CONTROLLER = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: seldon-v2-controller-manager, namespace: seldon-mesh}}
spec:
  selector: {{matchLabels: {{control-plane: v2-controller-manager}}}}
  template:
    metadata: {{labels: {{control-plane: v2-controller-manager}}}}
    spec:
      containers:
      - name: manager
        image: docker.io/seldonio/seldonv2-controller:{version}
        args: [{args}]
"""


def ctx_for(tmp_path: Path, text: str) -> CheckContext:
    path = tmp_path / "input.yaml"
    path.write_text(text)
    return CheckContext(graph=build_graph(collect_files(ScanInputs(files=[str(path)]))))


def test_image_tags() -> None:
    assert split_image("registry:5000/seldonio/mlserver:1.7.1") == (
        "registry:5000/seldonio/mlserver",
        "1.7.1",
        False,
    )
    assert split_image("registry:5000/seldonio/mlserver")[1] == ""
    assert is_moving_tag("seldonio/mlserver")
    assert is_moving_tag("seldonio/mlserver:latest")
    assert not is_moving_tag("seldonio/mlserver:latest@sha256:abc")
    assert not is_moving_tag("seldonio/mlserver:1.7.1")


def test_old_controller_given_watch_namespaces_does_not_start(tmp_path: Path) -> None:
    """operator/main.go before 2.9.1 defines no --watch-namespaces: Go's flag package exits 2."""
    ctx = ctx_for(
        tmp_path,
        CONTROLLER.format(version="2.9.0", args="--clusterwide=true, --watch-namespaces=team-a")
        + """---
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata: {name: iris, namespace: team-a}
spec: {storageUri: gs://m/iris}
""",
    )
    findings = list(NamespaceNotWatched().run(ctx))
    assert [f.severity for f in findings] == [Severity.ERROR]
    assert "flag provided but not defined" in findings[0].message
    assert "team-a" in findings[0].message and "ignore" not in findings[0].message


def test_no_controller_in_input_is_not_evaluated(tmp_path: Path) -> None:
    ctx = ctx_for(
        tmp_path,
        """
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata: {name: iris, namespace: team-a}
spec: {storageUri: gs://m/iris}
""",
    )
    assert not list(NamespaceNotWatched().run(ctx))
    assert [n.check_id for n in ctx.not_evaluated] == ["SD507"]


def test_kafka_is_not_judged_from_manifests(tmp_path: Path) -> None:
    ctx = ctx_for(
        tmp_path,
        """
apiVersion: mlops.seldon.io/v1alpha1
kind: SeldonRuntime
metadata: {name: seldon, namespace: recsys}
spec:
  seldonConfig: default
  config: {kafkaConfig: {bootstrap.servers: "nowhere.kafka:9092"}}
---
apiVersion: mlops.seldon.io/v1alpha1
kind: Pipeline
metadata: {name: rank, namespace: recsys}
spec: {steps: [{name: ranker}]}
""",
    )
    assert not list(DataflowUnavailable().run(ctx))
    assert any("Kafka" in n.reason for n in ctx.not_evaluated)


def test_canary_without_destination_rules_in_manifests_is_not_evaluated(tmp_path: Path) -> None:
    ctx = ctx_for(
        tmp_path,
        """
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: recommender, namespace: recsys}
spec:
  http:
  - route:
    - {destination: {host: recommender, subset: v1}, weight: 90}
    - {destination: {host: recommender, subset: v2}, weight: 10}
---
apiVersion: v1
kind: Service
metadata: {name: recommender, namespace: recsys}
spec: {selector: {app: recommender}}
""",
    )
    assert not list(CanaryWeightsInvalid().run(ctx))
    # The rules may be in another folder: an unresolved note (SD005), not a finding.
    assert any("DestinationRule" in u.looked_for for u in ctx.unresolved)
