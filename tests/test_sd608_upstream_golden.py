"""SD608 against the scheduler's own golden xDS for an Experiment with a mirror
(``scheduler/pkg/envoy/processor/snapshots_testdata/mirror-routes.json``: experiment ``exp``,
default ``model1``, mirror ``model2`` at 100%). What the scheduler emits must read as no drift;
any other spec must."""

from __future__ import annotations

import json
from typing import Any

import pytest

from seldon_doctor.checks.dataplane.sd608_experiment_mirror_drift import ExperimentMirrorDrift
from seldon_doctor.domain import envoy_config as ed
from seldon_doctor.domain.envoy_config import EnvoyConfig
from seldon_doctor.domain.envoy_parse import parse_xds_resources
from tests.conftest import shared_data


def _listener(name: str, port: int, route_config: str) -> dict[str, Any]:
    hcm = {"@type": ed.T_HCM, "statPrefix": name, "rds": {"routeConfigName": route_config}}
    return {
        "name": name,
        "address": {"socketAddress": {"address": "0.0.0.0", "portValue": port}},
        "filterChains": [{"filters": [{"name": "hcm", "typedConfig": hcm}]}],
    }


@pytest.fixture(scope="module")
def golden() -> EnvoyConfig:
    folder = shared_data("seldon", "envoy-xds-golden")
    routes = json.loads((folder / "mirror-routes.json").read_text())
    clusters = json.loads((folder / "mirror-clusters.json").read_text())
    listeners = [
        _listener("seldon_http", 9000, "listener_0"),
        _listener("seldon_mirrors", 9001, "listener_1"),
    ]
    return parse_xds_resources(routes, clusters, listeners)


@pytest.mark.parametrize(
    ("kind", "header"), [("Experiment", "exp.experiment"), ("Model", "model1")]
)
def test_what_the_scheduler_emits_is_no_drift(golden: EnvoyConfig, kind: str, header: str) -> None:
    outcome = ExperimentMirrorDrift._compare(golden, kind, header, ("model2", 100))
    assert outcome is not None
    problems, _route, seen = outcome
    assert problems == [], seen


def test_other_specs_drift(golden: EnvoyConfig) -> None:
    percent = ExperimentMirrorDrift._compare(golden, "Experiment", "exp.experiment", ("model2", 20))
    target = ExperimentMirrorDrift._compare(golden, "Experiment", "exp.experiment", ("model3", 100))
    removed = ExperimentMirrorDrift._compare(golden, "Experiment", "exp.experiment", None)
    assert percent and any("instead of 20%" in p for p in percent[0])
    assert target and any("instead of model3" in p for p in target[0])
    assert removed and removed[0] == ["the Experiment has no mirror, yet Envoy copies requests"]
    # model2 has no mirror in the golden: a spec without one is quiet.
    plain = ExperimentMirrorDrift._compare(golden, "Model", "model2", None)
    assert plain is not None and plain[0] == []
