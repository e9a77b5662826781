"""Probe statistics and CLI input handling (no data plane needed)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from seldon_doctor.cli import cli
from seldon_doctor.domain.oip import decode_strings, encode_model_infer
from seldon_doctor.domain.probe_stats import (
    analyse_split,
    candidate_of,
    chi_square_p_value,
    latency_summary,
    parse_duration_ms,
    parse_weights,
    quantile,
    version_of,
    wilson_interval,
)
from seldon_doctor.snapshot import observation_dict
from tests.conftest import FIXTURES


def test_chi_square_p_values_match_tables() -> None:
    # Critical values from any chi-square table: P(X >= x) for 1, 2 and 3 degrees of freedom.
    assert chi_square_p_value(3.841, 1) == pytest.approx(0.05, abs=1e-4)
    assert chi_square_p_value(6.635, 1) == pytest.approx(0.01, abs=1e-4)
    assert chi_square_p_value(9.210, 2) == pytest.approx(0.01, abs=1e-4)
    assert chi_square_p_value(11.345, 3) == pytest.approx(0.01, abs=1e-4)
    assert chi_square_p_value(0.0, 2) == 1.0


def test_wilson_interval_known_value() -> None:
    low, high = wilson_interval(58, 100, 0.95)
    assert (round(low, 4), round(high, 4)) == (0.4821, 0.6720)
    assert wilson_interval(0, 0, 0.99) == (0.0, 1.0)


def test_split_verdicts() -> None:
    off = analyse_split({"iris_1": 58, "iris2_1": 42}, {"iris": 70, "iris2": 30})
    assert off.verdict() == "observed 58/42, configured 70/30 (iris/iris2): inconsistent at 99 %"
    on = analyse_split({"iris_3": 68, "iris2_1": 32}, {"iris": 70, "iris2": 30})
    assert on.consistent is True and on.method == "wilson"
    three = analyse_split({"a_1": 100, "b_1": 100, "c_1": 100}, {"a": 50, "b": 25, "c": 25})
    assert three.method == "chi-square" and three.consistent is False
    assert three.p_value is not None and three.p_value < 1e-6
    fits = analyse_split({"a_1": 48, "b_1": 27, "c_1": 25}, {"a": 50, "b": 25, "c": 25})
    assert fits.consistent is True
    stray = analyse_split({"iris_1": 70, "other_1": 30}, {"iris": 70, "iris2": 30})
    assert stray.consistent is False and stray.unexpected == {"other": 30}
    assert analyse_split({"iris_1": 5}, None).consistent is None


def test_names_and_parsers() -> None:
    assert candidate_of(":iris_12:") == "iris" and version_of(":iris_12:") == "12"
    assert candidate_of(":chain.pipeline:") == "chain" and version_of("chain.pipeline") is None
    assert parse_weights("a=70, b=30") == {"a": 70, "b": 30}
    with pytest.raises(ValueError):
        parse_weights("a=seventy")
    assert parse_duration_ms("100ms") == 100.0 and parse_duration_ms("0.25s") == 250.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0 and quantile([], 0.9) == 0.0
    summary = latency_summary([float(v) for v in range(1, 101)])
    assert (summary["p50"], summary["p95"], summary["p99"], summary["max"]) == (50, 95, 99, 100)


def test_grpc_request_encoding_round_trips_the_model_name() -> None:
    payload = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}
    encoded = encode_model_infer("iris", payload)
    assert decode_strings(encoded, (1,)) == {1: "iris"}
    assert encoded == encode_model_infer("iris", payload)  # deterministic


def test_probe_fixture_files_are_complete_observations() -> None:
    from seldon_doctor.sources.probe_files import load_probe_files

    files = sorted(FIXTURES.glob("checks/SD80*/*/probes/*.json"))
    assert len(files) >= 8
    for obs in load_probe_files(files):
        assert set(observation_dict(obs)) >= {"kind", "namespace", "name", "requests", "ok"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["probe", "iris"], "no endpoint: give --endpoint URL"),
        (["probe", "iris", "--endpoint", "http://127.0.0.1:9", "--requests", "0"], "--requests"),
        (["probe", "x", "--endpoint", "http://127.0.0.1:9", "--weights", "a"], "bad weight"),
        (["probe", "x", "--endpoint", "http://127.0.0.1:9", "--slo-p95", "fast"], "bad duration"),
    ],
)
def test_probe_input_errors(args: list[str], message: str) -> None:
    from seldon_doctor.errors import InputError

    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, InputError), result.output
    assert message in str(result.exception.message)


def test_unreachable_endpoint_is_a_failed_probe_not_a_crash() -> None:
    result = CliRunner().invoke(
        cli,
        ["probe", "iris", "--endpoint", "http://127.0.0.1:9", "--requests", "3", "-o", "json"],
    )
    assert result.exit_code == 1, result.output
    assert '"transport_error": 3' in result.output and '"SD801"' in result.output


def test_probe_metrics_parse_as_prometheus_text() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from seldon_doctor.render.probe_report import metric_lines
    from seldon_doctor.sources.probe_files import load_probe_files

    observations = load_probe_files(sorted(FIXTURES.glob("checks/SD80*/fires/probes/*.json")))
    for obs in observations:
        if obs.kind == "Experiment":  # the fixture takes its weights from the CR
            obs.configured_weights = {"iris": 70, "iris2": 30}
    text = "\n".join(metric_lines(observations)) + "\n"
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {"seldon_doctor_probe_requests", "seldon_doctor_probe_latency_ms"} <= set(families)
    verdicts = {
        s.labels["verdict"]: s.value for s in families["seldon_doctor_probe_verdicts"].samples
    }
    assert verdicts["envoy_no_route"] == 20
    split = families["seldon_doctor_probe_split_consistent"].samples
    assert [(s.labels["name"], s.value) for s in split] == [("ab-test", 0.0)]
