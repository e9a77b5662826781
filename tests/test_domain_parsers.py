"""The one-of-each parsers in ``seldon_doctor.domain``: durations and image references."""

from __future__ import annotations

import pytest

from seldon_doctor.domain.durations import parse_duration, parse_time
from seldon_doctor.domain.images import image_basename, image_version, is_moving_tag, same_image
from seldon_doctor.domain.memory import memory_from


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("90", "s", 90.0),
        ("90s", "s", 90.0),
        ("5m", "s", 300.0),
        ("1h", "s", 3600.0),
        ("500ms", "s", 0.5),
        (" 2M ", "s", 120.0),
        ("250", "ms", 250.0),
        ("100ms", "ms", 100.0),
        ("0.25s", "ms", 250.0),
    ],
)
def test_parse_duration(text: str, unit: str, expected: float) -> None:
    assert parse_duration(text, unit=unit) == expected


def test_parse_duration_refuses_text() -> None:
    with pytest.raises(ValueError):
        parse_duration("fast")


def test_parse_time_is_aware() -> None:
    parsed = parse_time("2024-05-01T10:00:00Z")
    assert parsed is not None and parsed.utcoffset() is not None
    assert parse_time("yesterday") is None and parse_time(3) is None


@pytest.mark.parametrize(
    ("image", "basename", "moving", "version"),
    [
        ("docker.io/seldonio/mlserver:1.6.1", "mlserver", False, (1, 6, 1)),
        ("localhost:5000/ml/mlserver", "mlserver", True, None),
        ("registry.corp/ml/mlserver:latest", "mlserver", True, None),
        ("seldonio/seldon-envoy:2.9@sha256:abc", "seldon-envoy", False, (2, 9, 0)),
        ("nvcr.io/nvidia/tritonserver@sha256:abc", "tritonserver", False, None),
    ],
)
def test_image_reference(
    image: str, basename: str, moving: bool, version: tuple[int, int, int] | None
) -> None:
    assert image_basename(image) == basename
    assert is_moving_tag(image) is moving
    assert image_version(image) == version


def test_same_image_ignores_registry_and_tag() -> None:
    assert same_image("docker.io/seldonio/mlserver:1.6.1", "registry.corp/ml/mlserver:2")
    assert not same_image("seldonio/mlserver:1", "seldonio/custom:1")


def test_memory_from_a_resource_field_ref() -> None:
    containers = [
        {
            "name": "agent",
            "env": [
                {
                    "name": "MEMORY_REQUEST",
                    "valueFrom": {
                        "resourceFieldRef": {
                            "containerName": "mlserver",
                            "resource": "requests.memory",
                        }
                    },
                },
                {"name": "SELDON_OVERCOMMIT_PERCENTAGE", "value": "20"},
            ],
        },
        {"name": "mlserver", "resources": {"requests": {"memory": "1Gi"}}},
    ]
    memory = memory_from(containers, "Pod a/b")
    assert memory is not None and memory.request == 2**30 and memory.overcommit == 20
    assert memory.limit == 2**30 * 120 // 100
