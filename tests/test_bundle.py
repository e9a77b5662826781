"""Snapshot bundles: a live-like scan written and read back gives the same report, byte for byte,
and the bundle carries no secret."""

from __future__ import annotations

import base64
import copy
import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from seldon_doctor import bundle
from seldon_doctor.bundle import (
    BundleMeta,
    ClusterMeta,
    meta_from_live,
    read_bundle,
    read_bundle_clusters,
    read_bundle_with_meta,
    redact_object,
    write_bundle,
)
from seldon_doctor.engine import run_checks
from seldon_doctor.errors import InputError
from seldon_doctor.graph.build import build_graph
from seldon_doctor.redact import REDACTED
from seldon_doctor.render import RenderOptions, get_renderer
from seldon_doctor.snapshot import Gap, KubeObject, Origin, Snapshot
from tests.conftest import FIXTURES, load_case

CLUSTER = "kind-test"
SCENARIOS = sorted(p.parent for p in (FIXTURES / "clusters").glob("*/scenario.yaml"))
# Check fixtures that carry scheduler state, what xDS served, and probe observations.
OBSERVED = [FIXTURES / "checks" / c / "fires" for c in ("SD606", "SD607", "SD804")]
CASES = SCENARIOS + [c for c in OBSERVED if c.is_dir()]

SECRETS = (
    "c2VjcmV0LWRhdGEtdmFsdWU=",  # Secret.data (base64 of secret-data-value)
    "secret-data-value",
    "string-data-value",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  # AWS_SECRET_ACCESS_KEY
    "mlflow-pass-123",  # MLFLOW_TRACKING_PASSWORD
    "hunter2-arg",  # --password=...
    "sep-token-value",  # --token <value>
    "last-applied-secret",  # in last-applied-configuration
    "urlpass99",  # s3://user:urlpass99@host in an env value
    "tok-abc123xyz",  # token= in a log line
    "AKIAIOSFODNN7EXAMPLE",  # an AWS key id in a log line
    "hunter 2",  # password="hunter 2" in a log line
)


def _report(snapshot: Snapshot) -> str:
    graph = build_graph(snapshot)
    return get_renderer("json")(
        run_checks(graph), RenderOptions(exit_code=0, show_plan=True, graph=graph)
    )


def _live_like(case: Path) -> Snapshot:
    """A fixture scanned as a live scan would read it, plus secrets it must not leak."""
    snapshot = load_case(case)
    snapshot.live = True
    for obj in snapshot.objects:
        obj.origin = Origin(cluster=CLUSTER)
    namespace = sorted(snapshot.namespaces() or {"default"})[0]
    last_applied = {"kubectl.kubernetes.io/last-applied-configuration": '{"last-applied-secret"}'}
    snapshot.objects.append(
        KubeObject(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s3-creds", "namespace": namespace, "labels": {"a": "b"}},
                "type": "Opaque",
                "data": {"key": "c2VjcmV0LWRhdGEtdmFsdWU="},
                "stringData": {"other": "string-data-value"},
            },
            Origin(cluster=CLUSTER),
        )
    )
    snapshot.objects.append(
        KubeObject(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "leaky-0",
                    "namespace": namespace,
                    "annotations": {**last_applied, "keep": "me"},
                },
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "busybox",
                            "args": ["--password=hunter2-arg", "--token", "sep-token-value", "-v"],
                            "env": [
                                {
                                    "name": "AWS_SECRET_ACCESS_KEY",
                                    "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                },
                                {"name": "MLFLOW_TRACKING_PASSWORD", "value": "mlflow-pass-123"},
                                {"name": "MODEL_URI", "value": "s3://user:urlpass99@minio/m"},
                                {"name": "SELDON_SCHEDULER_HOST", "value": "seldon-scheduler"},
                            ],
                        }
                    ]
                },
                "status": {"phase": "Running"},
            },
            Origin(cluster=CLUSTER),
        )
    )
    agents = [
        f"{p.namespace}/{p.name}/agent"
        for p in snapshot.of_kind("Pod")
        if any(c.get("name") == "agent" for c in p.spec.get("containers") or [])
    ]
    key = agents[0] if agents else f"{namespace}/leaky-0/main"
    snapshot.logs[key] = [
        'level=info msg="Subscribed to scheduler" Name=Client func=StartService',
        'level=error msg="Scheduler not ready" token=tok-abc123xyz password="hunter 2"',
        "noise with an AWS key AKIAIOSFODNN7EXAMPLE in it",
        "",
    ]
    snapshot.gaps.append(Gap(f"logs:{namespace}", "pods is forbidden", namespace))
    snapshot.warnings.append("a warning, kept as is")
    return snapshot


META = BundleMeta(
    tool_version="9.9.9",
    created="2026-01-02T03:04:05Z",
    clusters={
        CLUSTER: ClusterMeta(
            context="kind-test",
            server_version="v1.30.0",
            crd_versions={"models.mlops.seldon.io": ["v1alpha1"]},
            kinds_read=("Pod", "Secret", "ConfigMap"),
        )
    },
)


def _bundle_bytes(path: Path) -> list[tuple[str, bytes]]:
    """Every file of a bundle (directory or tarball, decompressed)."""
    if path.is_dir():
        return [(str(p.relative_to(path)), p.read_bytes()) for p in path.rglob("*") if p.is_file()]
    with tarfile.open(path) as tar:
        out = []
        for member in tar.getmembers():
            handle = tar.extractfile(member)
            assert handle is not None
            out.append((member.name, handle.read()))
        return out


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}-{p.name}")
def test_round_trip_is_byte_identical_and_redacted(case: Path, tmp_path: Path) -> None:
    snapshot = _live_like(case)
    before = copy.deepcopy([obj.body for obj in snapshot.objects])
    expected = _report(snapshot)

    folder = write_bundle(snapshot, tmp_path / "bundle", meta=META)
    tarball = write_bundle(snapshot, tmp_path / "bundle.tar.gz", meta=META)
    again = write_bundle(snapshot, tmp_path / "again.tgz", meta=META)
    assert tarball.read_bytes() == again.read_bytes()  # deterministic
    assert [obj.body for obj in snapshot.objects] == before  # writing never mutates

    for path in (folder, tarball):
        back = read_bundle(path)
        assert _report(back) == expected
        assert back.live is True
        assert [o.origin for o in back.objects] == [o.origin for o in snapshot.objects]
        assert [e.origin for e in back.envoys] == [e.origin for e in snapshot.envoys]
        assert len(back.schedulers) == len(snapshot.schedulers)
        assert len(back.xds) == len(snapshot.xds)
        assert len(back.probes) == len(snapshot.probes)
        assert list(back.logs) == list(snapshot.logs)
        assert [len(v) for v in back.logs.values()] == [len(v) for v in snapshot.logs.values()]
        files = _bundle_bytes(path)
        assert files
        for name, data in files:
            for secret in SECRETS:
                assert secret.encode() not in data, f"{secret!r} leaked into {name}"

    names = {name for name, _ in _bundle_bytes(folder)}
    assert "manifest.json" in names
    assert f"objects/{CLUSTER}/Secret.json" in names
    assert any(n.startswith(f"logs/{CLUSTER}/") and n.endswith(".log") for n in names)
    if snapshot.envoys:
        assert any(n.startswith(f"envoy/{CLUSTER}/") for n in names)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "seldon-doctor-snapshot"
    assert manifest["format_version"] == 1
    assert manifest["created"] == META.created
    assert [section["cluster"] for section in manifest["snapshots"]] == [CLUSTER]
    assert manifest["clusters"][CLUSTER]["server_version"] == "v1.30.0"
    assert manifest["clusters"][CLUSTER]["kinds"]["Secret"] == 1
    assert "ConfigMap" in manifest["clusters"][CLUSTER]["kinds"]
    _, meta = read_bundle_with_meta(folder)
    assert meta.created == META.created
    assert meta.clusters[CLUSTER].server_version == "v1.30.0"


def test_redaction_keeps_what_checks_read() -> None:
    snapshot = _live_like(SCENARIOS[0])
    pod = next(o for o in snapshot.objects if o.name == "leaky-0")
    secret = next(o for o in snapshot.objects if o.kind == "Secret")
    out = redact_object(pod.body)
    container = out["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["AWS_SECRET_ACCESS_KEY"] == REDACTED
    assert env["MLFLOW_TRACKING_PASSWORD"] == REDACTED
    assert env["SELDON_SCHEDULER_HOST"] == "seldon-scheduler"
    assert env["MODEL_URI"] == f"s3://user:{REDACTED}@minio/m"
    assert container["args"] == [f"--password={REDACTED}", "--token", REDACTED, "-v"]
    assert out["metadata"]["annotations"] == {"keep": "me"}
    assert redact_object(secret.body) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s3-creds", "namespace": secret.namespace, "labels": {"a": "b"}},
        "type": "Opaque",
    }
    # Objects without anything to redact come back equal.
    for obj in load_case(SCENARIOS[0]).objects:
        if obj.kind != "Secret":
            assert redact_object(obj.body) == obj.body, obj.ref()


def test_directory_must_be_new_or_empty(tmp_path: Path) -> None:
    snapshot = _live_like(SCENARIOS[0])
    (tmp_path / "empty").mkdir()
    write_bundle(snapshot, tmp_path / "empty", meta=META)
    assert (tmp_path / "empty" / "manifest.json").is_file()
    with pytest.raises(InputError, match="not empty"):
        write_bundle(snapshot, tmp_path / "empty", meta=META)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        write_bundle(snapshot, tmp_path / "file", meta=META)


def _tarball(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buf.getvalue())
    return path


MANIFEST = json.dumps({"format": "seldon-doctor-snapshot", "format_version": 1}).encode()


def _link(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = "/etc/passwd"
    return info


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("manifest.json", MANIFEST), ("../x", b"x")], "unsafe path"),
        ([("manifest.json", MANIFEST), ("/etc/x", b"x")], "unsafe path"),
        ([("manifest.json", MANIFEST), ("objects/../../x", b"x")], "unsafe path"),
        ([("manifest.json", MANIFEST), _link("objects/a.json", tarfile.SYMTYPE)], "link"),
        ([("manifest.json", MANIFEST), _link("objects/a.json", tarfile.LNKTYPE)], "link"),
        ([("manifest.json", MANIFEST), _link("dev", tarfile.CHRTYPE)], "special file"),
        ([("manifest.json", MANIFEST), ("big.json", b"x" * 5000)], "over the"),
    ],
)
def test_hostile_tarballs_are_refused(
    members: list[tarfile.TarInfo | tuple[str, bytes]],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bundle.tar, "MAX_MEMBER_BYTES", 4096)
    path = _tarball(tmp_path / "hostile.tar.gz", members)
    with pytest.raises(InputError, match=message) as info:
        read_bundle(path)
    assert "\n" not in info.value.message


def test_total_size_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle.tar, "MAX_TOTAL_BYTES", 10_000)
    members: list[tarfile.TarInfo | tuple[str, bytes]] = [("manifest.json", MANIFEST)]
    members += [(f"f{i}.json", b"x" * 3000) for i in range(5)]
    with pytest.raises(InputError, match="over 10000 bytes"):
        read_bundle(_tarball(tmp_path / "big.tgz", members))


def test_truncated_and_garbage_tarballs_are_input_errors(tmp_path: Path) -> None:
    good = write_bundle(_live_like(SCENARIOS[0]), tmp_path / "good.tar.gz", meta=META)
    data = good.read_bytes()
    for i, cut in enumerate((len(data) // 2, len(data) - 20, 30, 5)):
        bad = tmp_path / f"cut{i}.tar.gz"
        bad.write_bytes(data[:cut])
        with pytest.raises(InputError) as info:
            read_bundle(bad)
        assert "\n" not in info.value.message
    garbage = tmp_path / "garbage.tgz"
    garbage.write_bytes(b"not a tarball at all")
    with pytest.raises(InputError):
        read_bundle(garbage)
    with pytest.raises(InputError, match="no such"):
        read_bundle(tmp_path / "missing.tgz")


def test_format_version_and_shape_are_checked(tmp_path: Path) -> None:
    newer = json.dumps({"format": "seldon-doctor-snapshot", "format_version": 2}).encode()
    with pytest.raises(InputError, match="holds no snapshot"):
        read_bundle(_tarball(tmp_path / "empty.tgz", [("manifest.json", MANIFEST)]))
    with pytest.raises(InputError, match="newer"):
        read_bundle(_tarball(tmp_path / "newer.tgz", [("manifest.json", newer)]))
    other = json.dumps({"format": "something-else", "format_version": 1}).encode()
    with pytest.raises(InputError, match="not a seldon-doctor snapshot"):
        read_bundle(_tarball(tmp_path / "other.tgz", [("manifest.json", other)]))
    with pytest.raises(InputError, match=r"no manifest\.json"):
        read_bundle(_tarball(tmp_path / "none.tgz", [("x.json", b"{}")]))
    broken = json.dumps(
        {
            "format": "seldon-doctor-snapshot",
            "format_version": 1,
            "snapshots": [{"cluster": "c", "objects": [{"path": "objects/a.json"}]}],
        }
    ).encode()
    with pytest.raises(InputError, match=r"objects/a\.json"):
        read_bundle(
            _tarball(
                tmp_path / "broken.tgz",
                [("manifest.json", broken), ("objects/a.json", b'{"items": 3}')],
            )
        )
    with pytest.raises(InputError, match="missing"):
        read_bundle(_tarball(tmp_path / "gone.tgz", [("manifest.json", broken)]))


def test_repacked_tarball_with_a_top_folder_reads(tmp_path: Path) -> None:
    snapshot = _live_like(SCENARIOS[0])
    folder = write_bundle(snapshot, tmp_path / "snap", meta=META)
    repacked = tmp_path / "repacked.tar.gz"
    with tarfile.open(repacked, "w:gz") as tar:
        tar.add(folder, arcname="snap")
    assert _report(read_bundle(repacked)) == _report(read_bundle(folder))


def test_gzip_header_is_fixed(tmp_path: Path) -> None:
    path = write_bundle(_live_like(SCENARIOS[0]), tmp_path / "b.tgz", meta=META)
    raw = path.read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # gzip mtime 0
    with tarfile.open(path) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.mtime, m.uid, m.gid, m.mode) for m in members} == {(0, 0, 0, 0o644)}
    assert gzip.decompress(raw)  # a plain gzip stream


def test_secret_payload_never_reaches_manifest_counts(tmp_path: Path) -> None:
    snapshot = Snapshot(
        objects=[
            KubeObject(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "s", "namespace": "ns"},
                    "data": {"k": base64.b64encode(b"plain-secret").decode()},
                }
            )
        ],
        live=True,
    )
    path = write_bundle(snapshot, tmp_path / "b", meta=BundleMeta())
    back = read_bundle(path)
    assert back.objects[0].body == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "ns"},
    }
    assert back.objects[0].origin == Origin()


def test_directory_symlinks_are_refused(tmp_path: Path) -> None:
    folder = write_bundle(_live_like(SCENARIOS[0]), tmp_path / "b", meta=META)
    (tmp_path / "outside.json").write_text('{"items": []}')
    target = folder / "objects" / CLUSTER / "Pod.json"
    target.unlink()
    target.symlink_to(tmp_path / "outside.json")
    with pytest.raises(InputError, match="symbolic link"):
        read_bundle(folder)


def test_objects_files_are_scannable_lists(tmp_path: Path) -> None:
    from seldon_doctor.sources.files import load_paths

    snapshot = _live_like(SCENARIOS[0])
    folder = write_bundle(snapshot, tmp_path / "b", meta=META)
    loaded = load_paths([str(folder / "objects")], default_namespace="default")
    assert sorted(o.ref() for o in loaded.objects) == sorted(o.ref() for o in snapshot.objects)


# Every Snapshot field the bundle writes; a new field must be added to bundle/write.py,
# bundle/read.py and here.
ROUND_TRIPPED = {
    "objects",
    "envoys",
    "schedulers",
    "xds",
    "probes",
    "gaps",
    "warnings",
    "live",
    "logs",
    "listed_namespaces",
    "captured_at",
    "completeness",
}


# Made per run, never read from a cluster: the what-if overlay marks the change's objects.
NOT_CAPTURED = {"pending"}


def test_every_snapshot_field_is_bundled() -> None:
    assert set(Snapshot.__dataclass_fields__) - NOT_CAPTURED <= ROUND_TRIPPED


def test_scan_scope_and_capture_time_round_trip(tmp_path: Path) -> None:
    snapshot = _live_like(SCENARIOS[0])
    snapshot.listed_namespaces = frozenset({"b", "a"})
    if hasattr(snapshot, "captured_at"):
        setattr(snapshot, "captured_at", 1767323045.125)  # noqa: B010
    back = read_bundle(write_bundle(snapshot, tmp_path / "b.tgz", meta=META))
    assert back.listed_namespaces == frozenset({"a", "b"})
    assert getattr(back, "captured_at", None) == getattr(snapshot, "captured_at", None)
    assert _report(back) == _report(snapshot)


def test_several_clusters_round_trip_separately(tmp_path: Path) -> None:
    """A scan of several contexts: one snapshot per cluster, each checked on its own."""
    snapshots = {}
    for name, case in (("prod/eu", SCENARIOS[0]), ("staging", SCENARIOS[1])):
        snapshot = _live_like(case)
        for obj in snapshot.objects:
            obj.origin = Origin(cluster=name)
        snapshots[name] = snapshot
    meta = BundleMeta(clusters={"prod/eu": ClusterMeta(server_version="v1.29.1")})
    path = write_bundle(snapshots, tmp_path / "multi.tgz", meta=meta)
    back = read_bundle_clusters(path)
    assert sorted(back) == ["prod/eu", "staging"]
    for name, snapshot in snapshots.items():
        assert _report(back[name]) == _report(snapshot)
    names = {name for name, _ in _bundle_bytes(path)}
    assert "objects/prod_eu/Pod.json" in names and "objects/staging/Pod.json" in names
    with pytest.raises(InputError, match="read_bundle_clusters"):
        read_bundle(path)
    _, read_meta = read_bundle_with_meta(path)
    assert read_meta.clusters["prod/eu"].server_version == "v1.29.1"


def test_meta_from_live_cluster_info() -> None:
    from types import SimpleNamespace

    info = SimpleNamespace(
        version="v1.30.2", served={"mlops.seldon.io": ["v1alpha1"]}, counts={"Pod": 3, "Model": 0}
    )
    meta = meta_from_live({"prod": info}, created="2026-01-01T00:00:00Z")
    assert meta.created == "2026-01-01T00:00:00Z"
    assert meta.clusters["prod"] == ClusterMeta(
        context="prod",
        server_version="v1.30.2",
        crd_versions={"mlops.seldon.io": ["v1alpha1"]},
        kinds_read=("Model", "Pod"),
    )
