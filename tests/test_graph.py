"""Name resolution, controller scopes and capability rules, checked against the reference facts."""

from __future__ import annotations

from typing import Any

import pytest

from seldon_doctor.checks.model.sd102_model_requirements_unsatisfied import near_miss
from seldon_doctor.graph import seldon
from seldon_doctor.graph.build import build_graph, parse_service_host
from seldon_doctor.graph.model import ResolutionStatus
from seldon_doctor.snapshot import Completeness, KubeObject, Snapshot


def obj(kind: str, name: str, namespace: str = "", api: str = "v1", **body: Any) -> KubeObject:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta.update(body.pop("metadata", {}))
    return KubeObject({"apiVersion": api, "kind": kind, "metadata": meta, **body})


def pod(name: str, ns: str, labels: dict[str, str], ready: bool = True) -> KubeObject:
    return obj(
        "Pod",
        name,
        ns,
        metadata={"labels": labels},
        status={"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    )


def svc(name: str, ns: str, **spec: Any) -> KubeObject:
    return obj("Service", name, ns, spec=spec)


SCHED = {"app.kubernetes.io/name": "seldon-scheduler"}


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("seldon-scheduler", ("seldon-scheduler", "here")),
        ("seldon-scheduler.central", ("seldon-scheduler", "central")),
        ("seldon-scheduler.central.svc", ("seldon-scheduler", "central")),
        ("seldon-scheduler.central.svc.cluster.local.", ("seldon-scheduler", "central")),
        ("api.example.com", None),
        ("10.0.0.1:9004", None),
    ],
)
def test_parse_service_host(host: str, expected: tuple[str, str] | None) -> None:
    assert parse_service_host(host, "here") == expected


def test_observed_resolution_through_externalname_chain() -> None:
    snapshot = Snapshot(
        objects=[
            obj("Namespace", "app"),
            obj("Namespace", "central"),
            svc(
                "seldon-scheduler",
                "app",
                type="ExternalName",
                externalName="seldon-scheduler.central.svc.cluster.local",
            ),
            svc("seldon-scheduler", "central", selector=SCHED),
            pod("seldon-scheduler-0", "central", SCHED),
            pod("seldon-scheduler-1", "central", SCHED, ready=False),
        ]
    )
    graph = build_graph(snapshot)
    assert graph.observed
    result = graph.resolve("seldon-scheduler", "app")
    assert result.status == ResolutionStatus.OK
    assert result.chain == ("Service/app/seldon-scheduler", "Service/central/seldon-scheduler")
    assert result.instance_keys() == {"central/seldon-scheduler-0"}
    assert (
        graph.resolve("seldon-scheduler.central", "anywhere").instance_keys()
        == result.instance_keys()
    )


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("seldon-scheduler.nowhere.svc.cluster.local", ResolutionStatus.NO_NAMESPACE),
        ("missing.central.svc.cluster.local", ResolutionStatus.NO_SERVICE),
        ("seldon-scheduler.app.svc.cluster.local", ResolutionStatus.LOOP),
    ],
)
def test_dangling_aliases(target: str, status: ResolutionStatus) -> None:
    snapshot = Snapshot(
        objects=[
            obj("Namespace", "app"),
            obj("Namespace", "central"),
            svc("seldon-scheduler", "app", type="ExternalName", externalName=target),
            pod("x", "central", {"a": "b"}),
        ],
        # A captured cluster: what it lacks does not exist (docs/completeness.md).
        completeness=Completeness.everything(),
    )
    assert build_graph(snapshot).resolve("seldon-scheduler", "app").status == status


def test_endpoints_win_over_selector_in_observed_mode() -> None:
    snapshot = Snapshot(
        objects=[
            svc("seldon-mesh", "ns", selector={"app.kubernetes.io/name": "seldon-envoy"}),
            obj(
                "Endpoints",
                "seldon-mesh",
                "ns",
                subsets=[
                    {"notReadyAddresses": [{"ip": "1.2.3.4", "targetRef": {"name": "envoy-1"}}]}
                ],
            ),
            pod("envoy-1", "ns", {"app.kubernetes.io/name": "seldon-envoy"}),
        ]
    )
    result = build_graph(snapshot).resolve("seldon-mesh", "ns")
    assert result.status == ResolutionStatus.NO_BACKENDS
    assert [b.pod for b in result.backends] == ["envoy-1"]


def test_manifest_mode_implies_runtime_objects_and_stays_unknown_elsewhere() -> None:
    runtime = obj(
        "SeldonRuntime",
        "seldon",
        "ns",
        api="mlops.seldon.io/v1alpha1",
        spec={
            "seldonConfig": "default",
            "overrides": [{"name": "seldon-scheduler", "replicas": 0}],
        },
    )
    graph = build_graph(Snapshot(objects=[runtime]))
    assert not graph.observed
    scheduler = graph.get("Service", "ns", "seldon-scheduler")
    assert scheduler is not None and scheduler.implied_by == "SeldonRuntime/ns/seldon"
    assert graph.resolve("seldon-scheduler", "ns").status == ResolutionStatus.NO_BACKENDS
    mesh = graph.resolve("seldon-mesh", "ns")
    assert mesh.status == ResolutionStatus.OK and mesh.backends[0].implied
    assert graph.resolve("seldon-scheduler.other", "ns").status == ResolutionStatus.UNKNOWN


def _controller(args: list[str], env: dict[str, str], image: str) -> KubeObject:
    container = {
        "name": "manager",
        "image": image,
        "args": args,
        "env": [{"name": k, "value": v} for k, v in env.items()]
        + [
            {
                "name": "POD_NAMESPACE",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
            }
        ],
    }
    return obj(
        "Deployment",
        "seldon-v2-controller-manager",
        "seldon-system",
        api="apps/v1",
        spec={"template": {"spec": {"containers": [container]}}},
    )


HELM_ARGS = [
    "--watch-namespaces=$(WATCH_NAMESPACES)",
    "--namespace=$(POD_NAMESPACE)",
    "--clusterwide=$(CLUSTERWIDE)",
]


@pytest.mark.parametrize(
    ("env", "image", "all_ns", "namespaces", "ignored"),
    [
        (
            {"CLUSTERWIDE": "false", "WATCH_NAMESPACES": ""},
            "seldonv2-controller:2.10.2",
            False,
            {"seldon-system"},
            False,
        ),
        (
            {"CLUSTERWIDE": "true", "WATCH_NAMESPACES": ""},
            "seldonv2-controller:2.10.2",
            True,
            set(),
            False,
        ),
        (
            {"CLUSTERWIDE": "true", "WATCH_NAMESPACES": "a,b"},
            "seldonv2-controller:2.9.1",
            False,
            {"a", "b", "seldon-system"},
            False,
        ),
        # --watch-namespaces without --clusterwide is ignored (only the own namespace).
        (
            {"CLUSTERWIDE": "false", "WATCH_NAMESPACES": "a,b"},
            "seldonv2-controller:2.10.2",
            False,
            {"seldon-system"},
            True,
        ),
        # Before 2.9.1 the flag does not exist: Go's flag package exits 2 at start, so the
        # controller watches nothing (it does not "ignore" the list).
        (
            {"CLUSTERWIDE": "true", "WATCH_NAMESPACES": "a"},
            "seldonv2-controller:2.9.0",
            False,
            set(),
            False,
        ),
    ],
)
def test_controller_watch_scope(
    env: dict[str, str], image: str, all_ns: bool, namespaces: set[str], ignored: bool
) -> None:
    scope = seldon.controller_scope(_controller(HELM_ARGS, env, f"docker.io/seldonio/{image}"))
    assert scope is not None
    assert scope.all_namespaces == all_ns
    assert set(scope.namespaces) == namespaces
    assert scope.ignored_watch_namespaces == ignored
    assert bool(scope.rejected_flags) == image.endswith("2.9.0")


def _server(**spec: Any) -> KubeObject:
    return obj(
        "Server",
        "s",
        "ns",
        api="mlops.seldon.io/v1alpha1",
        spec={"serverConfig": "mlserver", **spec},
    )


def _server_config(value: str) -> KubeObject:
    return obj(
        "ServerConfig",
        "mlserver",
        "seldon-mesh",
        api="mlops.seldon.io/v1alpha1",
        spec={
            "podSpec": {
                "containers": [
                    {
                        "name": "agent",
                        "env": [{"name": "SELDON_SERVER_CAPABILITIES", "value": value}],
                    }
                ]
            }
        },
    )


def test_capabilities_replace_append_and_defaults() -> None:
    config = _server_config("foo, bar")
    assert seldon.compute_capabilities(_server(), config, []).values == ("foo", "bar")
    assert seldon.compute_capabilities(_server(extraCapabilities=["zed"]), config, []).values == (
        "foo",
        "bar",
        "zed",
    )
    # spec.capabilities replaces, and extraCapabilities is then ignored (upstream unit test).
    replaced = seldon.compute_capabilities(
        _server(capabilities=["bar1", "bar2"], extraCapabilities=["zed"]), config, []
    )
    assert replaced.values == ("bar1", "bar2")
    default = seldon.compute_capabilities(_server(), None, [])
    assert "sklearn" in default.values and "spark-mlib" in default.values
    assert "assumed" in default.source or "default" in default.source
    unknown = seldon.compute_capabilities(_server(serverConfig="custom"), None, [])
    assert not unknown.known


def test_model_requirements_include_model_type_and_explainer() -> None:
    model = obj(
        "Model",
        "m",
        "ns",
        api="mlops.seldon.io/v1alpha1",
        spec={
            "requirements": [" sklearn "],
            "modelType": "mlflow",
            "explainer": {"type": "anchor_tabular"},
        },
    )
    assert [r for r, _ in seldon.model_requirements(model)] == [
        "sklearn",
        "mlflow",
        "alibi-explain",
    ]


@pytest.mark.parametrize(
    ("requirement", "suggestion"),
    [
        ("scikit-learn", "sklearn"),
        ("torch", "pytorch"),
        ("SKLearn", "sklearn"),
        ("spark-mllib", "spark-mlib"),
        ("xgbost", "xgboost"),
        ("sk learn", "sklearn"),
        ("foobar", None),
    ],
)
def test_near_miss(requirement: str, suggestion: str | None) -> None:
    caps = seldon.DEFAULT_SERVERCONFIG_CAPABILITIES["mlserver"] + ("pytorch",)
    found = near_miss(requirement, caps)
    assert (found[0] if found else None) == suggestion


def test_runtime_component_replicas_rules() -> None:
    runtime = obj(
        "SeldonRuntime",
        "r",
        "ns",
        spec={
            "overrides": [
                {
                    "name": "seldon-scheduler"
                },  # override without replicas -> 1, whatever the config says
                {"name": "seldon-envoy", "disable": True},
                {"name": "hodometer", "replicas": 3},
            ]
        },
    )
    config = obj(
        "SeldonConfig",
        "default",
        "seldon-mesh",
        spec={
            "components": [
                {"name": "seldon-scheduler", "replicas": 5},
                {"name": "seldon-modelgateway", "replicas": 2},
            ]
        },
    )
    replicas = seldon.runtime_component_replicas(runtime, config)
    assert replicas["seldon-scheduler"] == 1
    assert replicas["seldon-envoy"] == 0
    assert replicas["hodometer"] == 3
    assert replicas["seldon-modelgateway"] == 2
