"""Manifests as users write them: CRD schema validation (SD003), names (SD004), field lines,
Helm and kustomize output, namespace-less files — on our fixtures and the real upstream files."""

from __future__ import annotations

import functools
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from seldon_doctor.checks.base import CheckContext
from seldon_doctor.checks.input.sd003_manifest_schema_invalid import ManifestSchemaInvalid
from seldon_doctor.checks.input.sd004_resource_name_invalid import ResourceNameInvalid
from seldon_doctor.domain.schema import Validator, format_path
from seldon_doctor.domain.spelling import did_you_mean
from seldon_doctor.engine import run_checks, select_checks
from seldon_doctor.findings import Finding
from seldon_doctor.graph.build import build_graph
from seldon_doctor.snapshot import KubeObject
from seldon_doctor.sources.collect import ScanInputs, collect_files
from seldon_doctor.sources.files import load_bytes, load_paths
from seldon_doctor.sources.locate import SourceText, locate
from tests.conftest import FIXTURES, ROOT, shared_data

MANIFESTS = FIXTURES / "manifests"


def _scan(
    files: list[str], crds: list[str] | None = None, namespace: str = "default", stdin: Any = None
) -> list[Finding]:
    snapshot = collect_files(ScanInputs(files=files, namespace=namespace, stdin=stdin))
    for crd_path in crds or ():
        snapshot.objects.extend(_crds(crd_path))
    report = run_checks(build_graph(snapshot), select_checks(["SD003", "SD004"]))
    return report.findings + report.not_evaluated


@functools.cache
def _crds(path: str) -> tuple[KubeObject, ...]:
    """CRDs read once per test run (the upstream ones are 2 MB of YAML)."""
    objects = load_paths([path]).objects
    return tuple(o for o in objects if o.kind == "CustomResourceDefinition")


# ------------------------------------------------------------------ locate


def test_locate_finds_the_line_of_a_field(tmp_path: Path) -> None:
    text = (
        "# comment\n"  # 1
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"  # 2-4
        "---\n"  # 5
        "apiVersion: mlops.seldon.io/v1alpha1\n"  # 6
        "kind: Experiment\n"  # 7
        "metadata:\n  name: e\n"  # 8-9
        "spec:\n"  # 10
        "  candidates:\n"  # 11
        "  - name: a\n"  # 12
        "    weight: 1\n"  # 13
        "  - {name: b, weight: 2}\n"  # 14
    )
    source = SourceText(text)
    assert locate(source, 6, ("spec", "candidates", 0, "weight")) == 13
    assert locate(source, 6, ("spec", "candidates", 1, "weight")) == 14
    assert locate(source, 6, ("spec", "candidates")) == 11
    # absent fields answer their nearest parent; a wrong identity answers None
    assert locate(source, 6, ("spec", "mirror", "percent")) == 10
    assert locate(source, 6, ("spec",), kind="Experiment", name="e") == 10
    assert locate(source, 6, ("spec",), kind="Model") is None
    assert locate(source, 5, ("spec",)) is None
    assert locate(None, 1, ("spec",)) is None
    assert format_path(("spec", "candidates", 0, "weight")) == "spec.candidates[0].weight"
    # Objects read from a file carry their field lines; the file is not read again.
    path = tmp_path / "m.yaml"
    path.write_text(text)
    experiment = load_bytes(path.read_bytes(), str(path))[1]
    path.write_text("moved: away\n")
    assert experiment.origin.field_line(("spec", "candidates", 1, "weight")) == 14
    assert load_bytes(text.encode(), "<stdin>")[1].origin.field_line(("spec",)) is None


def test_locate_inside_a_list_kind(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: Service\n  metadata: {name: s}\n  spec:\n    ports: []\n"
    )
    (service,) = load_bytes(path.read_bytes(), str(path))
    assert service.origin.field_line(("spec", "ports")) == 8


# ------------------------------------------------------------------ the validator


def test_validator_semantics() -> None:
    schema = {
        "type": "object",
        "required": ["a"],
        "properties": {
            "a": {"type": "string", "nullable": True},
            "n": {"type": "integer"},
            "q": {
                "x-kubernetes-int-or-string": True,
                "anyOf": [{"type": "integer"}, {"type": "string"}],
            },
            "m": {"type": "object", "additionalProperties": {"type": "integer"}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "s": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            "e": {"type": "string", "enum": ["inner", "outer", "any"]},
            "all": {"allOf": [{"minimum": 1}, {"maximum": 5}], "type": "integer"},
        },
    }
    v = Validator()
    assert v.validate({"a": "x", "n": 3.0, "q": "1Gi", "free": {"x": {"y": 1}}}, schema) == []
    errors = v.validate(
        {"a": None, "n": True, "q": [1], "m": {"k": "v"}, "s": ["x", "x"], "e": "Inner",
         "all": 9, "zz": 1},
        schema,
    )  # fmt: skip
    got = {(format_path(e.path), e.problem) for e in errors}
    assert got == {
        ("a", "required"),  # a null is dropped, so a required field is missing
        ("n", "type"),  # a boolean is not an integer
        ("q", "type"),
        ("m.k", "type"),
        ("s[1]", "duplicate"),
        ("e", "enum"),
        ("all", "bounds"),
        ("zz", "unknown-field"),
    }
    enum = next(e for e in errors if e.problem == "enum")
    assert enum.suggestion == "inner"  # case-insensitive near miss


_MODEL_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: models.mlops.seldon.io}
spec:
  group: mlops.seldon.io
  names: {kind: Model, plural: models}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            minProperties: 2
            properties:
              storageUri: {type: string}
              replicas: {type: integer, minimum: 1, exclusiveMinimum: true}
              memory: {oneOf: [{type: string}, {pattern: "^[0-9]"}]}
              requirements:
                type: array
                items: {type: string, not: {enum: [gpu]}}
"""


@pytest.mark.parametrize(
    ("spec", "problems"),
    [
        ("{storageUri: gs://m, replicas: 2}", []),
        ("{storageUri: gs://m, replicas: 1}", [("spec.replicas", "bounds", "not above 1")]),
        ("{storageUri: gs://m, replicas: null}", [("spec", "bounds", "at least 2 fields")]),
        (
            "{storageUri: gs://m, memory: 1Gi}",
            [("spec.memory", "one-of", "more than one of the 2 oneOf")],
        ),
        ("{storageUri: gs://m, memory: Gi}", []),
        (
            "{storageUri: gs://m, requirements: [cpu, gpu]}",
            [("spec.requirements[1]", "not", "under not")],
        ),
    ],
)
def test_sd003_enforces_the_bounds_and_combinators_the_api_server_does(
    tmp_path: Path, spec: str, problems: list[tuple[str, str, str]]
) -> None:
    """A Model the API server rejects (its CRD says replicas > 1, exactly one oneOf branch,
    at least two spec fields, no gpu requirement) is an SD003 finding, not a silent pass."""
    (tmp_path / "crd.yaml").write_text(_MODEL_CRD)
    path = tmp_path / "model.yaml"
    path.write_text(
        "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\n"
        f"metadata: {{name: m, namespace: ns}}\nspec: {spec}\n"
    )
    findings = [
        f for f in _scan([str(path)], crds=[str(tmp_path / "crd.yaml")]) if f.check_id == "SD003"
    ]
    got = [(dict(f.params)["field"], dict(f.params)["problem"]) for f in findings]
    assert got == [(field, problem) for field, problem, _ in problems]
    for finding, (_, _, words) in zip(findings, problems, strict=True):
        assert words in finding.message
        assert "The API server rejects the object" in finding.message


def test_did_you_mean() -> None:
    assert did_you_mean("candidate", ["candidates", "default", "mirror"]) == "candidates"
    assert did_you_mean("storageURI", ["storageUri", "secretName"]) == "storageUri"
    assert did_you_mean("replica", ["replicas", "minReplicas"]) == "replicas"
    assert did_you_mean("foo", ["candidates", "default"]) is None


# ------------------------------------------------------------------ Helm, kustomize, stdin


def test_helm_template_on_stdin_points_findings_at_the_template() -> None:
    rendered = (MANIFESTS / "helm-template.yaml").read_bytes()
    findings = _scan(["-"], namespace="fraud", stdin=io.BytesIO(rendered))
    sd003 = [f for f in findings if f.check_id == "SD003"]
    assert {f.resource.name for f in sd003} == {"fraud-ab"}
    typo = next(f for f in sd003 if "spec.candidate " in f.message)
    assert "did you mean candidates?" in typo.message
    assert typo.location is not None
    assert typo.location.file == "fraud/templates/experiment.yaml"
    assert typo.resource.namespace == "fraud"  # namespace-less: the -n namespace
    sd004 = [f for f in findings if f.check_id == "SD004"]
    assert [(f.resource.name, f.location.file if f.location else None) for f in sd004] == [
        ("fraud.mlserver", "fraud/templates/server.yaml")
    ]
    # the CRD came in the same stream (helm template --include-crds): nothing is "not evaluated"
    # for Experiment, only for kinds without a CRD
    skipped = [f for f in findings if f.check_id == "SD002"]
    assert all("Experiment" not in f.message for f in skipped)
    assert any("Model, Server" in f.message for f in skipped)


def test_kustomize_build_output_with_crds_folder() -> None:
    crds = shared_data("seldon", "crds")
    findings = _scan(
        [str(MANIFESTS / "kustomize-build.yaml")], crds=[str(crds)], namespace="fraud-prod"
    )
    lines = (MANIFESTS / "kustomize-build.yaml").read_text().splitlines()
    got = sorted(
        (f.check_id, str(f.resource), lines[f.location.line - 1].strip() if f.location else "")
        for f in findings
    )
    assert got == [
        ("SD003", "Experiment/fraud-prod/fraud-ab", 'weight: "100"'),
        ("SD004", "Pipeline/fraud-prod/fraud.pipeline", "name: fraud.pipeline"),
    ]


def test_helm_recipe_through_the_cli(tmp_path: Path) -> None:
    rendered = (MANIFESTS / "helm-template.yaml").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "seldon_doctor", "scan", "-f", "-", "-n", "fraud",
         "--select", "SD003,SD004"],
        input=rendered, capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "fraud/templates/experiment.yaml" in result.stdout
    assert "did you mean" in result.stdout and "candidates" in result.stdout


# ------------------------------------------------------------------ the real upstream files

UPSTREAM_BROKEN = {
    "experiments/error-bad-spec.yaml",
    "servers/mlserver-badname.yaml",
    "pipelines/error-step-name.yaml",
}


def _upstream_samples() -> list[str]:
    samples = ROOT.parent / "shared" / "data" / "seldon" / "samples"
    if not samples.is_dir():
        return ["<absent>"]
    return sorted(str(p.relative_to(samples)) for p in samples.rglob("*.yaml"))


@pytest.mark.parametrize("sample", _upstream_samples())
def test_every_valid_upstream_sample_passes_the_schema(sample: str) -> None:
    samples = shared_data("seldon", "samples")
    crds = shared_data("seldon", "crds")
    findings = _scan([str(samples / sample)], crds=[str(crds)], namespace="seldon-mesh")
    schema = [f for f in findings if f.check_id in ("SD003", "SD002")]
    if sample == "experiments/error-bad-spec.yaml":
        assert {f.check_id for f in schema} == {"SD003"}
        return
    assert schema == [], [f.message for f in schema]
    names = [f for f in findings if f.check_id == "SD004"]
    assert bool(names) == (sample in UPSTREAM_BROKEN), [f.message for f in names]


def test_upstream_error_bad_spec_is_sd003_on_spec_candidate() -> None:
    sample = shared_data("seldon", "samples", "experiments", "error-bad-spec.yaml")
    crds = shared_data("seldon", "crds")
    findings = [f for f in _scan([str(sample)], crds=[str(crds)]) if f.check_id == "SD003"]
    typo = [f for f in findings if dict(f.params)["field"] == "spec.candidate"]
    assert len(typo) == 1
    assert "did you mean candidates?" in typo[0].message
    assert typo[0].location is not None
    assert typo[0].location.file == str(sample)
    lines = sample.read_text().splitlines()
    assert lines[typo[0].location.line - 1].strip() == "candidate:"
    assert dict(typo[0].params)["fix"] == "rename spec.candidate to candidates"


def test_upstream_badname_server_is_sd004() -> None:
    sample = shared_data("seldon", "samples", "servers", "mlserver-badname.yaml")
    (finding,) = [f for f in _scan([str(sample)]) if f.check_id == "SD004"]
    assert str(finding.resource) == "Server/default/mlserver.name"
    assert "DNS-1035 label" in finding.message and "'.'" in finding.message


def test_upstream_bad_capabilities_is_sd102_with_foobar() -> None:
    config = shared_data("seldon", "config")
    sample = shared_data("seldon", "samples", "models", "error-bad-capabilities.yaml")
    snapshot = collect_files(
        ScanInputs(files=[str(config), str(sample)], namespace="seldon-mesh", complete=True)
    )
    report = run_checks(build_graph(snapshot), select_checks(["SD102"]))
    (finding,) = report.findings
    assert finding.check_id == "SD102"
    assert dict(finding.params)["requirement"] == "foobar"


def test_upstream_config_and_samples_scan_is_sensible() -> None:
    """The whole of config/ + samples/ (+ the CRDs): no crash, and the manifest checks flag
    exactly the deliberately broken samples."""
    data = shared_data("seldon")
    snapshot = collect_files(
        ScanInputs(
            files=[str(data / "config"), str(data / "samples")],
            namespace="seldon-mesh",
            crds=[str(data / "crds")],
        )
    )
    report = run_checks(build_graph(snapshot))
    assert not [f for f in report.findings if f.check_id == "SD001"]
    manifest = sorted(
        (f.check_id, str(f.resource)) for f in report.findings if f.check_id in ("SD003", "SD004")
    )
    assert manifest == [
        ("SD003", "Experiment/seldon-mesh/experiment-sample"),  # candidate: (unknown)
        ("SD003", "Experiment/seldon-mesh/experiment-sample"),  # candidates (required)
        # Deserved: the kustomize base operator/config/seldonconfigs/default.yaml sets the env
        # value SCHEDULER_READY_TIMEOUT_SECONDS to the integer 600, where the CRD declares a
        # string (the Helm-rendered components.yaml quotes it). The API server rejects it.
        ("SD003", "SeldonConfig/seldon-mesh/default"),
        ("SD004", "Pipeline/seldon-mesh/iris"),
        ("SD004", "Server/seldon-mesh/mlserver.name"),
    ]
    assert not [f for f in report.not_evaluated if f.resource.name in ("SD003", "SD004")]


def test_checks_read_only_declared_kinds() -> None:
    snapshot = collect_files(ScanInputs(files=[str(MANIFESTS)], namespace="x"))
    graph = build_graph(snapshot)
    for check in (ManifestSchemaInvalid(), ResourceNameInvalid()):
        graph.recorder = set()
        list(check.run(CheckContext(graph=graph)))
        assert graph.recorder <= check.reads


def test_helm_source_comment_names_only_the_document_it_precedes() -> None:
    """`helm template …; cat extra.yaml | seldon-doctor scan -f -`: a document without its own
    `# Source:` comment is not attributed to the previous template."""
    text = (
        b"---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n"
        b"--- # a separator with a comment\n"
        b"apiVersion: v1\nkind: Service\nmetadata: {name: b}\n"
        b"---\n# Source: c/templates/c.yaml\n{apiVersion: v1, kind: Service, metadata: {name: c}}"
    )
    objects = load_bytes(text, "<stdin>", default_namespace="n")
    assert [(o.name, o.origin.file, o.origin.line) for o in objects] == [
        ("a", "c/templates/a.yaml", 3),
        ("b", "<stdin>", 7),
        ("c", "c/templates/c.yaml", 12),
    ]


def test_namespace_less_objects_take_the_namespace_flag() -> None:
    text = (MANIFESTS / "kustomize-build.yaml").read_bytes()
    objects = load_bytes(text, "k.yaml", default_namespace="fraud-prod")
    assert {o.namespace for o in objects if o.kind != "Namespace"} == {"fraud-prod"}
    assert next(o for o in objects if o.kind == "Namespace").namespace == ""
    assert len(objects) == 5  # the empty document between two separators is skipped


def test_core_kinds_validated_with_kubernetes_validate(tmp_path: Path) -> None:
    pytest.importorskip("kubernetes_validate")
    path = tmp_path / "core.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Service\n"
        "metadata: {name: scorer, namespace: x, lables: {app: scorer}}\n"
        "spec:\n  selector: {app: scorer}\n  ports:\n  - port: '80'\n"
        "---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: scorer, namespace: x}\n"
        "spec:\n  selector: {matchLabels: {app: scorer}}\n  template:\n"
        "    metadata: {labels: {app: scorer}}\n    spec:\n      containers:\n"
        "      - name: main\n        image: scorer:1.2\n"
        "        resources: {limits: {memory: 1Gi, cpu: 0.5}}\n"
        "        ports: [{containerPort: 8080, name: http}]\n"
    )
    findings = [f for f in _scan([str(path)]) if f.check_id == "SD003"]
    got = sorted((dict(f.params)["field"], f.location.line if f.location else 0) for f in findings)
    assert got == [("metadata.lables", 3), ("spec.ports[0].port", 7)]
    assert "did you mean labels?" in next(f.message for f in findings if "lables" in f.message)


def test_core_kinds_without_kubernetes_validate_are_skipped_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seldon_doctor.checks.input import sd003_manifest_schema_invalid as manifests

    monkeypatch.setattr(manifests, "core_schemas", lambda: None)
    path = tmp_path / "svc.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: x}]}\n"
    )
    assert _scan([str(path)]) == []
