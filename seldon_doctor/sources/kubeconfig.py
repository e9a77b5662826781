"""Which clusters a live scan reads: kubeconfig contexts (or in-cluster) as client
configurations, the kubeconfig files read bounded with the files they name inlined."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seldon_doctor.errors import InputError


@dataclass(frozen=True, slots=True)
class Target:
    """One cluster to read: the context name (or ``in-cluster``) and a client configuration."""

    name: str
    configuration: Any


# Fields of a kubeconfig that name a file the client would read, and what replaces them.
_KUBECONFIG_FILES = {
    "clusters": ("cluster", {"certificate-authority": "certificate-authority-data"}),
    "users": (
        "user",
        {
            "client-certificate": "client-certificate-data",
            "client-key": "client-key-data",
            "tokenFile": "token",
        },
    ),
}


def read_kubeconfig(spec: str) -> tuple[dict[str, Any], str | None]:
    """The kubeconfig files of ``spec`` (``KUBECONFIG`` may list several files) as one dict, and
    the folder of the first one (for exec plugins' relative paths).

    The ``kubernetes`` client would read each file whole with ``yaml.safe_load`` (no bound on
    size or alias expansion) and open ``tokenFile`` and certificate files whole too. Here every
    file is read with :func:`~seldon_doctor.safeio.read_bounded` and parsed by the one bounded
    YAML loader, and the files it names are read (bounded) and inlined as their ``-data``/
    ``token`` fields, relative to their kubeconfig. Merging follows the client's
    ``KubeConfigMerger``: the first file's settings, named entries first-wins, and
    ``current-context`` from the last file that sets one.
    """
    import copy
    import os

    from seldon_doctor.safeio import MAX_KUBECONFIG_BYTES, read_text_bounded
    from seldon_doctor.safeyaml import load_one

    merged: dict[str, Any] | None = None
    base: str | None = None
    for part in spec.split(os.pathsep):
        if not part:
            continue
        path = os.path.expanduser(part)
        if not os.path.exists(path):
            continue
        what = f"kubeconfig {path}"
        data = load_one(read_text_bounded(path, MAX_KUBECONFIG_BYTES, what), what)
        if data is None:
            raise InputError(f"{what}: empty file")
        if not isinstance(data, dict):
            raise InputError(f"{what}: expected a mapping (apiVersion: v1, kind: Config)")
        folder = os.path.dirname(os.path.abspath(path))
        _inline_files(data, folder, what)
        if merged is None:
            merged = copy.deepcopy(data)
            for item in _KUBECONFIG_FILES.keys() | {"contexts"}:
                merged[item] = []
            base = folder
        for item in ("clusters", "contexts", "users"):
            entries = data.get(item) or []
            if not isinstance(entries, list):
                raise InputError(f"{what}: {item} must be a list")
            names = {e.get("name") for e in merged[item] if isinstance(e, dict)}
            merged[item].extend(
                e for e in entries if not isinstance(e, dict) or e.get("name") not in names
            )
        if "current-context" in data:
            merged["current-context"] = data["current-context"]
    if merged is None:
        raise InputError(f"no kubeconfig at {spec}")
    return merged, base


def _inline_files(data: dict[str, Any], folder: str, what: str) -> None:
    """Replace file references by their (bounded) content; an unreadable file stays a reference
    (the client reports it if that entry is used, as before)."""
    import base64
    import os

    from seldon_doctor.safeio import MAX_CREDENTIAL_FILE_BYTES, read_bounded

    for item, (inner, fields) in _KUBECONFIG_FILES.items():
        entries = data.get(item)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            body = entry.get(inner) if isinstance(entry, dict) else None
            if not isinstance(body, dict):
                continue
            for field_name, data_field in fields.items():
                ref = body.get(field_name)
                if not isinstance(ref, str) or not ref:
                    continue
                path = os.path.join(folder, os.path.expanduser(ref))
                if not os.path.exists(path):
                    continue
                content = read_bounded(
                    path, MAX_CREDENTIAL_FILE_BYTES, f"{what}: {field_name} {ref}"
                )
                del body[field_name]
                if data_field == "token":
                    body[data_field] = content.decode("utf-8", "replace").strip()
                else:
                    body[data_field] = base64.standard_b64encode(content).decode("ascii")


def _one_line(exc: BaseException) -> str:
    """The whole message on one line (a YAML error's first line alone says little)."""
    text = " ".join(str(exc).split())
    return (text[:300] + "…" if len(text) > 300 else text) or type(exc).__name__
