"""``serve`` against the Kubernetes API server double: a cluster that goes away is an error
counted by reason, never the end of the exporter or of its last good report."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import FIXTURES
from tests.dataplane.procs import wait_until
from tests.kube_api_double import KubeApiDouble, write_kubeconfig
from tests.serve.harness import exporter


def _values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_unreachable_cluster_keeps_the_last_good_report(tmp_path: Path) -> None:
    double = KubeApiDouble.from_paths([FIXTURES / "clusters" / "capability-mismatch"], name="prod")
    double.start()
    try:
        config = write_kubeconfig(tmp_path / "kubeconfig", double)
        args = ("--kubeconfig", str(config), "--interval", "2s", "--timeout", "2")
        with exporter(*args) as served:
            wait_until(lambda: served.get("/readyz")[0] == 200, timeout=30, what="first scan")
            good = _values(served.get("/metrics")[1])
            _, good_report = served.get("/report.json")
            cluster = (("cluster", "prod"),)
            stamp = good[("seldon_doctor_last_success_timestamp_seconds", cluster)]
            unreachable = ("seldon_doctor_scan_errors_total", (*cluster, ("reason", "unreachable")))
            assert good[unreachable] == 0
            sd102 = [
                k for k in good if k[0] == "seldon_doctor_findings" and ("check", "SD102") in k[1]
            ]
            assert sd102 and all(("cluster", "prod") in k[1] for k in sd102)
            assert double.requests and all(r.method == "GET" for r in double.requests)

            double.stop()  # the API server goes away
            mark = len(served.lines)
            line = served.wait_for_line(r"scan \d+ failed \(unreachable\)", after=mark, timeout=30)
            assert "keeping the last good report" in line and double.token not in line

            assert served.get("/readyz") == (503, "not ready: the last scan failed\n")
            assert served.get("/healthz") == (200, "ok\n")
            failed = _values(served.get("/metrics")[1])
            assert failed[unreachable] >= 1
            assert failed[("seldon_doctor_ready", cluster)] == 0
            assert failed[("seldon_doctor_last_success_timestamp_seconds", cluster)] == stamp
            assert (
                failed[("seldon_doctor_scans_total", cluster)]
                > good[("seldon_doctor_scans_total", cluster)]
            )
            for key in sd102:  # the last good report's findings are still exported
                assert failed[key] == good[key]
            assert served.get("/report.json") == (200, good_report)
            assert served.process.poll() is None
            assert served.stop() == 0
    finally:
        double.stop()
