"""Issue 15: hostile input ends in bounded time and memory with exit 2 (one line) or a gap.

Every hostile input is generated here (no committed bombs). Cases that would hang or fill
memory without their fix run in a subprocess with an address-space limit and a timeout, so a
regression fails the test instead of the machine.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from seldon_doctor import bundle, safeio
from seldon_doctor.bundle import read_bundle, write_bundle
from seldon_doctor.domain import regex
from seldon_doctor.errors import InputError
from seldon_doctor.sources import files as files_source
from seldon_doctor.sources.files import load_bytes, load_paths

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = {"format": "seldon-doctor-snapshot", "format_version": 1}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "d"}}


def cli(
    *args: str, stdin: Any = subprocess.DEVNULL, timeout: float = 30, mem_gib: float = 2.5
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess under an address-space limit (``RLIMIT_AS``)."""
    code = textwrap.dedent(
        f"""
        import resource, sys
        limit = int({mem_gib} * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        from seldon_doctor.cli import main
        main(sys.argv[1:])
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def assert_input_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# ----------------------------------------------------------------------------- regexes


@pytest.mark.parametrize("value", ["a" * 41 + "!", "a" * 100_000 + "!"])
def test_re2_nested_quantifier_is_linear(value: str) -> None:
    start = time.monotonic()
    assert regex.re2_fullmatch("(a+)+$", value) is False
    assert regex.re2_search("(a+)+$", value) is False
    assert regex.re2_fullmatch("(a+)+", "a" * 41) is True
    assert time.monotonic() - start < 1


def test_re2_refuses_what_re2_refuses() -> None:
    for pattern in (r"(a)\1", "(?=a)a", "(?!a)b", "(?<=a)b", "(?>a)", "a++", "("):
        assert regex.compile_re2(pattern) is None, pattern
        assert regex.re2_fullmatch(pattern, "a") is None
    assert regex.re2_fullmatch("/v2/models/[^/]+/infer", "/v2/models/m/infer") is True
    assert regex.re2_search("^[a-z]+$", "abc") is True
    assert regex.re2_search("b", "abc") is True  # OpenAPI pattern: unanchored


def test_fallback_refuses_backtracking_patterns() -> None:
    """Without google-re2 the fallback refuses what would backtrack (never hangs)."""
    for pattern in ("(a+)+$", "(a*)*b", "(a|a)*b", r"(a)\1", "(?=a)"):
        assert regex._fallback_compile(pattern) is None, pattern
    compiled = regex._fallback_compile("/v2/models/[^/]+/infer")
    assert compiled is not None and compiled.fullmatch("/v2/models/m/infer")


# ----------------------------------------------------------------------------- tar headers


def _raw_header(name: bytes, size: int, typeflag: bytes) -> bytes:
    header = bytearray(512)
    header[0 : len(name)] = name
    header[100:108] = b"0000644\0"
    header[108:116] = header[116:124] = b"0000000\0"
    header[124:136] = b"%011o\0" % size
    header[136:148] = b"00000000000\0"
    header[148:156] = b" " * 8
    header[156:157] = typeflag
    header[257:263] = b"ustar\0"
    header[263:265] = b"00"
    checksum = sum(header)
    header[148:156] = b"%06o\0 " % checksum
    return bytes(header)


def _raw_tarball(path: Path, blocks: list[bytes]) -> Path:
    path.write_bytes(gzip.compress(b"".join(blocks) + bytes(1024), mtime=0))
    return path


def _member(name: str, data: bytes) -> list[bytes]:
    pad = bytes(-len(data) % 512)
    return [_raw_header(name.encode(), len(data), b"0"), data + pad]


def _pax(records: dict[str, str]) -> list[bytes]:
    body = b""
    for key, value in records.items():
        record = f" {key}={value}\n".encode()
        length = len(record) + len(str(len(record)))
        length = len(record) + len(str(length))
        body += str(length).encode() + record
    return [_raw_header(b"pax", len(body), b"x"), body + bytes(-len(body) % 512)]


def test_pax_header_with_a_200k_digit_value_is_refused_promptly(tmp_path: Path) -> None:
    """CVE-2024-6232: tarfile's PAX parser is quadratic on this (hangs on 3.11.7)."""
    blocks = _pax({"hdrcharset": "1" * 200_000}) + _member("manifest.json", b"{}")
    path = _raw_tarball(tmp_path / "pax.tar.gz", blocks)
    start = time.monotonic()
    with pytest.raises(InputError, match=r"PAX tar header of .* over the 65536-byte limit"):
        read_bundle(path)
    assert time.monotonic() - start < 1


def test_pax_header_under_the_limit_is_parsed_linearly(tmp_path: Path) -> None:
    digits = "9" * 60_000
    blocks = _pax({"comment": digits, "path": "manifest.json"})
    blocks += _member("ignored-name", json.dumps(MANIFEST).encode())
    start = time.monotonic()
    with pytest.raises(InputError, match="holds no snapshot"):  # read, then judged as a bundle
        read_bundle(_raw_tarball(tmp_path / "pax.tar.gz", blocks))
    assert time.monotonic() - start < 1


@pytest.mark.parametrize(("typeflag", "what"), [(b"L", "GNU long-name"), (b"x", "PAX")])
def test_huge_extended_headers_are_refused_before_their_data(
    typeflag: bytes, what: str, tmp_path: Path
) -> None:
    """A 3 GiB long-name header cost 3.2 GB: the size is judged before anything is read."""
    blocks = [_raw_header(b"././@LongLink", 3 * 1024**3, typeflag), bytes(512)]
    path = _raw_tarball(tmp_path / "long.tar.gz", blocks)
    with pytest.raises(InputError, match=f"a {what} tar header of 3221225472 bytes"):
        read_bundle(path)


def test_long_names_and_links_in_extended_headers(tmp_path: Path) -> None:
    long_link = [_raw_header(b"././@LongLink", 10, b"K"), b"x" * 10 + bytes(502)]
    with pytest.raises(InputError, match="link"):
        read_bundle(_raw_tarball(tmp_path / "k.tgz", long_link + _member("a", b"x")))
    name = "objects/" + "n" * 300 + ".json"
    gnu = [_raw_header(b"././@LongLink", len(name) + 1, b"L")]
    gnu.append(name.encode() + bytes(512 - len(name)))
    blocks = gnu + _member("short", b"{}") + _member("manifest.json", json.dumps(MANIFEST).encode())
    with pytest.raises(InputError, match="holds no snapshot"):  # the long name was accepted
        read_bundle(_raw_tarball(tmp_path / "gnu.tgz", blocks))


def test_bundles_we_write_use_pax_for_long_names(tmp_path: Path) -> None:
    from seldon_doctor.snapshot import KubeObject, Origin, Snapshot

    body = {**SERVICE, "metadata": {"name": "s", "namespace": "n" * 150}}
    snapshot = Snapshot(objects=[KubeObject(body, Origin(file="x.yaml", line=1))])
    envoy_like = write_bundle(snapshot, tmp_path / "b.tar.gz", meta=bundle.BundleMeta())
    assert read_bundle(envoy_like).objects[0].namespace == "n" * 150


# ----------------------------------------------------------------------------- bundle amplification


def _bundle_dir(tmp_path: Path, manifest: dict[str, Any], files: dict[str, Any]) -> Path:
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "manifest.json").write_text(json.dumps({**MANIFEST, **manifest}))
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content if isinstance(content, str) else json.dumps(content))
    return root


def test_a_member_named_many_times_is_refused(tmp_path: Path) -> None:
    entry = {"path": "objects/a.json", "cluster": None, "kind": "Service", "count": 1}
    root = _bundle_dir(
        tmp_path,
        {"snapshots": [{"objects": [entry] * 10_000}]},
        {"objects/a.json": {"items": [SERVICE]}},
    )
    with pytest.raises(InputError, match=r"names objects/a\.json more than once"):
        read_bundle(root)


def test_thousands_of_cluster_sections_are_refused(tmp_path: Path) -> None:
    sections = [{"cluster": f"c{i}"} for i in range(2000)]
    root = _bundle_dir(tmp_path, {"snapshots": sections}, {})
    with pytest.raises(InputError, match="2000 cluster sections, over the 256 limit"):
        read_bundle(root)


def test_objects_need_apiversion_and_kind_and_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = {"path": "objects/a.json", "cluster": None, "kind": "Service", "count": 1}
    root = _bundle_dir(
        tmp_path, {"snapshots": [{"objects": [entry]}]}, {"objects/a.json": {"items": [{}] * 50}}
    )
    with pytest.raises(InputError, match="item 0 has no apiVersion and kind"):
        read_bundle(root)
    monkeypatch.setattr(bundle.read, "MAX_OBJECTS", 10)
    (root / "objects/a.json").write_text(json.dumps({"items": [SERVICE] * 11}))
    with pytest.raises(InputError, match="over 10 objects"):
        read_bundle(root)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"snapshots": [{"captured_at": Infinity}]}', "Infinity is not a JSON number"),
        ('{"snapshots": [{"captured_at": 1e999}]}', "out of range"),
        ('{"snapshots": [{"captured_at": "inf"}]}', "not a time"),
        ('{"snapshots": [{"captured_at": ' + "9" * 5000 + "}]}", "more than 4300 digits"),
    ],
)
def test_bundle_numbers_out_of_range_are_input_errors(
    text: str, needle: str, tmp_path: Path
) -> None:
    root = tmp_path / "b"
    root.mkdir()
    manifest = json.loads(text.replace(text, "{}")) or {}
    del manifest
    (root / "manifest.json").write_text(
        '{"format": "seldon-doctor-snapshot", "format_version": 1, ' + text[1:]
    )
    with pytest.raises(InputError, match=needle) as info:
        read_bundle(root)
    assert "\n" not in info.value.message


def test_wrong_typed_probe_fields_are_input_errors(tmp_path: Path) -> None:
    probe = {"kind": "Model", "namespace": "d", "name": "m", "requests": "many"}
    root = _bundle_dir(
        tmp_path,
        {"snapshots": [{"probes": "probes.json"}]},
        {"probes.json": [{"observation": probe}]},
    )
    with pytest.raises(InputError, match="requests"):
        read_bundle(root)


def test_origins_naming_devices_and_fifos_are_never_opened(tmp_path: Path) -> None:
    """A bundle's recorded origin names /dev/zero and a FIFO: the scan must not open them."""
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    objects = load_paths([str(ROOT / "fixtures" / "checks" / "SD003" / "fires")]).objects
    from seldon_doctor.snapshot import Origin, Snapshot

    for i, obj in enumerate(objects):
        obj.origin = Origin(file=("/dev/zero", str(fifo))[i % 2], line=1)
    path = write_bundle(Snapshot(objects=objects), tmp_path / "b.tar.gz", meta=bundle.BundleMeta())
    result = cli("scan", "--snapshot", str(path), "-o", "json", timeout=60)
    assert "SD003" in result.stdout  # the check that looks a field's line up ran
    assert result.returncode in (0, 1, 3), result.stderr[-2000:]


# ----------------------------------------------------------------------------- YAML


def _alias_bomb(levels: int = 9, prefix: str = "") -> str:
    lines = [f"{prefix}a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: {prefix}&a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def _bom_alias_bomb(levels: int = 9) -> str:
    """Anchors at column 0 after a BOM: libyaml skips a BOM that starts a line, and the old
    anchor regex (an anchor after space or a bracket) did not see them."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: b}", "data:", "- ["]
    lines.append("\ufeff&a0 [x, x, x, x, x, x, x, x, x, x],")
    for i in range(1, levels):
        lines.append(f"\ufeff&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "],")
    return "\n".join([*lines, "]"]) + "\n"


def test_alias_bomb_with_a_bom_before_each_anchor_is_refused() -> None:
    with pytest.raises(InputError, match="aliases expand beyond"):
        load_bytes(_bom_alias_bomb().encode(), "bomb.yaml")


def test_config_file_alias_bomb_is_refused(tmp_path: Path) -> None:
    config = tmp_path / ".seldon-doctor.yaml"
    config.write_text("select: [SD101]\nsuppressions:\n  - &x0 {a: 1}\n" + _alias_bomb())
    from seldon_doctor.suppress import load_config

    start = time.monotonic()
    with pytest.raises(InputError, match="aliases expand beyond"):
        load_config(config)
    assert time.monotonic() - start < 2


def test_long_integers_in_yaml_and_json_are_input_errors() -> None:
    digits = "9" * 5000
    with pytest.raises(InputError, match="more than 4300 digits"):
        load_bytes(f"apiVersion: v1\nkind: Service\nspec: {{port: {digits}}}\n".encode(), "a.yaml")
    with pytest.raises(InputError, match="more than 4300 digits"):
        load_bytes(f'{{"apiVersion": "v1", "kind": "S", "n": {digits}}}'.encode(), "a.json")


def test_kubeconfig_alias_bomb_and_device_files_are_refused(tmp_path: Path) -> None:
    from seldon_doctor.sources.live import read_kubeconfig

    bomb = tmp_path / "bomb"
    bomb.write_text("apiVersion: v1\nkind: Config\n" + _alias_bomb())
    with pytest.raises(InputError, match="aliases expand beyond"):
        read_kubeconfig(str(bomb))
    token = tmp_path / "kc"
    token.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
        "users: [{name: u, user: {tokenFile: /dev/zero}}]\n"
    )
    with pytest.raises(InputError, match="tokenFile /dev/zero: larger than 1 MiB"):
        read_kubeconfig(str(token))
    result = cli("scan", "--kubeconfig", "/dev/zero", timeout=60)
    assert_input_error(result, "kubeconfig /dev/zero", "larger than 16 MiB")


# ----------------------------------------------------------------------------- sizes


def test_read_bounded_stops_at_the_limit_on_an_endless_device() -> None:
    with pytest.raises(InputError, match="larger than 1 MiB"):
        safeio.read_bounded("/dev/zero", 1024 * 1024, "zero")
    with open("/dev/zero", "rb") as stream, pytest.raises(InputError, match="64 KiB"):
        safeio.read_bounded(stream, 64 * 1024, "<stdin>")
    assert safeio.read_bounded(io.BytesIO(b"abc"), 3, "x") == b"abc"


def test_stdin_from_dev_zero_stops_at_the_limit() -> None:
    """stdin was read whole before the 256 MiB check (6.7 GB from /dev/zero)."""
    with open("/dev/zero", "rb") as zero:
        result = cli("scan", "-f", "-", stdin=zero, mem_gib=1.5, timeout=60)
    assert_input_error(result, "<stdin>", "larger than 256 MiB")


def test_every_input_file_is_bounded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from seldon_doctor.baseline import load_baseline
    from seldon_doctor.sources.envoy_dump import DumpError, load_config_dump

    monkeypatch.setattr(safeio, "MAX_ENVOY_DUMP_BYTES", 4096)
    monkeypatch.setattr(safeio, "MAX_REPORT_BYTES", 4096)
    monkeypatch.setattr(safeio, "MAX_CONFIG_BYTES", 4096)
    monkeypatch.setattr(files_source, "MAX_FILE_BYTES", 4096)
    monkeypatch.setattr("seldon_doctor.baseline.MAX_REPORT_BYTES", 4096)
    with pytest.raises(DumpError, match="larger than 4 KiB"):
        load_config_dump("/dev/zero")
    with pytest.raises(InputError, match="larger than 4 KiB"):
        load_baseline("/dev/zero")
    with open("/dev/zero", "rb") as zero, pytest.raises(InputError, match="larger than 4 KiB"):
        load_paths(["-"], stdin=zero)
    from seldon_doctor.suppress import load_config

    with pytest.raises(InputError, match="larger than 4 KiB"):
        load_config(Path("/dev/zero"))


def test_probe_payload_is_bounded(tmp_path: Path) -> None:
    result = cli(
        "probe", "m", "-n", "d", "--endpoint", "http://127.0.0.1:9",
        "--payload", "/dev/zero", timeout=60,
    )  # fmt: skip
    assert_input_error(result, "--payload /dev/zero", "larger than 64 MiB")


@pytest.mark.parametrize(
    "text",
    ['{"configs": [], "x": ' + "9" * 5000 + "}", '{"configs": [], "x": Infinity}'],
)
def test_envoy_dump_numbers_are_input_errors(text: str, tmp_path: Path) -> None:
    from seldon_doctor.sources.envoy_dump import DumpError, load_config_dump

    path = tmp_path / "dump.json"
    path.write_text(text)
    with pytest.raises(DumpError) as info:
        load_config_dump(path)
    assert "\n" not in str(info.value)


def test_baseline_long_integers_and_nesting_are_input_errors(tmp_path: Path) -> None:
    from seldon_doctor.baseline import load_baseline

    path = tmp_path / "b.json"
    path.write_text('{"findings": [{"id": ' + "9" * 5000 + "}]}")
    with pytest.raises(InputError, match="4300 digits"):
        load_baseline(str(path))
    path.write_text('{"findings": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InputError, match="nested too deeply"):
        load_baseline(str(path))


# ----------------------------------------------------------------------------- shapes


def _fixture(folder: str) -> list[dict[str, Any]]:
    root = ROOT / "fixtures" / "clusters" / folder
    files = sorted(str(p) for p in root.glob("*.yaml") if p.name != "scenario.yaml")
    return [o.body for o in load_paths(files).objects]


def _set(bodies: list[dict[str, Any]], kind: str, path: tuple[Any, ...], value: Any) -> None:
    body = next(b for b in bodies if b["kind"] == kind)
    for key in path[:-1]:
        body = body.setdefault(key, {}) if isinstance(key, str) else body[key]
    body[path[-1]] = value


_ENDPOINTS = {
    "apiVersion": "v1",
    "kind": "Endpoints",
    "metadata": {"name": "seldon-scheduler", "namespace": "recsys"},
    "subsets": [{"addresses": 3}],
}


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("Experiment", ("spec", "candidates"), 5),
        ("Experiment", ("spec", "candidates"), [5, "a", {"name": ["x"], "weight": {}}]),
        ("Endpoints", ("subsets", 0, "addresses"), 3),
        ("Deployment", ("spec", "template", "spec", "containers", 0, "args"), [{"a": 1}, 7]),
        ("Deployment", ("spec", "template", "spec"), 7),
        ("Deployment", ("spec", "template", "spec", "serviceAccountName"), ["x"]),
        ("Model", ("status", "conditions"), 1.5),
        ("SeldonConfig", ("spec", "components"), 3),
        ("Server", ("spec", "podSpec", "containers"), {"a": 1}),
    ],
)
def test_wrong_shapes_never_reach_the_checks(kind: str, path: tuple[Any, ...], value: Any) -> None:
    """Graph build crashed (exit 4) or checks raised (SD001: SD701, SD105, SD5xx lost their
    other findings); now the shape is fixed at the graph's door with a warning."""
    from seldon_doctor.engine import INTERNAL_ERROR, run_checks
    from seldon_doctor.graph.build import build_graph
    from seldon_doctor.snapshot import Completeness, KubeObject, Origin, Snapshot

    # A captured scenario: complete, so SD401's "the Model is absent" is a finding.
    bodies = [*_fixture("experiment-routes-missing"), json.loads(json.dumps(_ENDPOINTS))]
    baseline_report = run_checks(
        build_graph(
            Snapshot(
                objects=[KubeObject(b, Origin("f.yaml", 1)) for b in bodies],
                completeness=Completeness.everything(),
            )
        )
    )
    _set(bodies, kind, path, value)
    objects = [KubeObject(b, Origin("f.yaml", 1)) for b in bodies]
    graph = build_graph(Snapshot(objects=objects, completeness=Completeness.everything()))
    report = run_checks(graph)
    assert not [f for f in report.findings if f.check_id == INTERNAL_ERROR]
    assert any(note.startswith(kind) for note in report.warnings), report.warnings
    # Findings unrelated to the broken field stay (SD401: the Experiment's missing routes).
    assert "SD401" in {f.check_id for f in baseline_report.findings}
    if kind != "Experiment":
        assert "SD401" in {f.check_id for f in report.findings}


def test_shape_fix_copies_and_notes_once() -> None:
    from seldon_doctor.graph import shape
    from seldon_doctor.snapshot import KubeObject

    body = {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": "e", "namespace": "n", "labels": {"v": 1, "bad": [1]}},
        "spec": {"candidates": [{"name": "a", "weight": "50"}, 3]},
    }
    original = KubeObject(body)
    fixed, notes = shape.conform(original)
    assert body["spec"]["candidates"][1] == 3  # the input is never changed
    assert fixed.body["spec"]["candidates"] == [{"name": "a", "weight": "50"}]  # SD003's case
    # A custom resource keeps scalar types for SD003; a built-in kind gets the YAML text.
    assert fixed.body["metadata"]["labels"] == {"v": 1}
    assert len(notes) == 2 and all(n.startswith("Experiment n/e: ") for n in notes)
    assert shape.conform(fixed) == (fixed, [])
    service = KubeObject({**body, "apiVersion": "v1", "kind": "Service", "spec": {}})
    assert shape.conform(service)[0].body["metadata"]["labels"] == {"v": "1"}
    assert shape.str_list({"a": ["x", 1, None]}, "a") == ["x"]
    assert shape.mapping({"a": 3}, "a", "b") == {}
    assert shape.seq({"a": {"b": [1]}}, "a", "b") == [1]


def test_declared_replicas_do_not_drive_the_work() -> None:
    """replicas: 2147483647 looped per replica in graph build (manifest mode)."""
    text = textwrap.dedent(
        """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: big, namespace: d}
        spec:
          replicas: 2147483647
          selector: {matchLabels: {app: big}}
          template: {metadata: {labels: {app: big}}, spec: {containers: [{name: c, image: x}]}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: big, namespace: d}
        spec: {selector: {app: big}, ports: [{port: 80}]}
        ---
        apiVersion: mlops.seldon.io/v1alpha1
        kind: Server
        metadata: {name: mlserver, namespace: d}
        spec: {replicas: 2147483647, serverConfig: mlserver}
        """
    )
    from seldon_doctor.engine import run_checks
    from seldon_doctor.graph.build import MAX_IMPLIED_REPLICA_SLOTS, build_graph
    from seldon_doctor.snapshot import Snapshot

    start = time.monotonic()
    graph = build_graph(Snapshot(objects=load_bytes(text.encode(), "big.yaml")))
    run_checks(graph)
    assert time.monotonic() - start < 3
    service = graph.get("Service", "d", "big", record=False)
    assert service is not None
    backends, known = graph._backends(service, service.spec)
    assert known and len(backends) == MAX_IMPLIED_REPLICA_SLOTS
    sts = graph.get("StatefulSet", "d", "big", record=False)
    assert sts is not None and sts.spec["replicas"] == 2147483647  # the count stays a number


def test_deep_nesting_in_json_and_config_is_one_line(tmp_path: Path) -> None:
    """RecursionError in payload/config parsing was exit 4."""
    with pytest.raises(InputError, match="nested too deeply"):
        safeio.load_json(b"[" * 100_000 + b"]" * 100_000, "--payload p.json")
    config = tmp_path / ".seldon-doctor.yaml"
    config.write_text("select: " + "[" * 5000 + "]" * 5000 + "\n")
    from seldon_doctor.suppress import load_config

    with pytest.raises(InputError, match="nested more than 512 levels"):
        load_config(config)
