"""The file source: what kubectl/helm/kustomize print, and hostile input refused in one line."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from seldon_doctor.errors import InputError
from seldon_doctor.sources.files import load_bytes, load_paths


def test_multi_document_list_and_lines(tmp_path: Path) -> None:
    text = (
        "# leading comment\n"
        "---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: x}\n"
        "---\n"
        "---\n"
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n"
        "- apiVersion: v1\n  kind: Namespace\n  metadata: {name: ns}\n"
    )
    objects = load_bytes(text.encode(), "m.yaml", default_namespace="dflt")
    assert [(o.ref(), o.origin.line) for o in objects] == [
        ("Service/x/a", 3),
        ("Pod/dflt/p", 11),
        ("Namespace/ns", 14),
    ]


def test_json_and_helm_source_comments() -> None:
    objects = load_bytes(
        b'{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Service",'
        b'"metadata":{"name":"s"}}]}',
        "x.json",
    )
    assert [o.ref() for o in objects] == ["Service/default/s"]
    helm = (
        b"---\n# Source: chart/templates/svc.yaml\napiVersion: v1\nkind: Service\n"
        b"metadata: {name: s}\n"
    )
    (obj,) = load_bytes(helm, "<stdin>")
    assert obj.origin.file == "chart/templates/svc.yaml"


def test_stdin_and_directory_walk(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n")
    (tmp_path / "values.yaml").write_text("replicas: 3\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "b.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n"
    )
    result = load_paths([str(tmp_path)])
    assert [o.name for o in result.objects] == ["a"]
    assert any("values.yaml" in note for note in result.skipped)
    stdin = io.BytesIO(b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n")
    assert load_paths(["-"], stdin=stdin).objects[0].name == "p"


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("bad.yaml", b"a: [1, 2\nb: }", "invalid YAML at line"),
        ("deep.yaml", b"[" * 100_000 + b"]" * 100_000, "nested more than"),
        ("deep-block.yaml", b"a:\n" + b" " * 5000 + b"b: 1\n", "nested more than"),
        ("bin.yaml", b"\x00\x01\x02garbage", "binary data"),
        ("latin1.yaml", b"name: caf\xe9\n", "not UTF-8"),
        ("trunc.json", b'{"apiVersion": "v1", "kind"', "invalid JSON"),
        ("cycle.yaml", b"a: &a [*a]\n", "alias"),
    ],
)
def test_hostile_input_is_one_clear_error(name: str, data: bytes, fragment: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InputError) as info:
        load_bytes(data, name)
    assert time.perf_counter() - started < 5
    assert fragment in info.value.message
    assert info.value.message.startswith(name)
    assert "\n" not in info.value.message


def test_alias_bomb_refused() -> None:
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=False):
        rows.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(InputError, match="alias"):
        load_bytes("\n".join(rows).encode(), "bomb.yaml")


def test_non_kubernetes_named_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    path.write_text("replicas: 3\n")
    with pytest.raises(InputError, match="no Kubernetes objects"):
        load_paths([str(path)])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"no \.yaml"):
        load_paths([str(empty)])
