"""Bounded reads and strict JSON for everything the doctor reads from disk or stdin.

Every input file goes through :func:`read_bounded`: it reads in chunks and stops one chunk past
the limit, so ``/dev/zero``, a FIFO that never ends or a 3 GiB file costs at most the limit in
memory and one clear error naming the limit. :func:`load_json` parses JSON the way the tool
needs it from untrusted input: no ``NaN``/``Infinity`` (no API server or Envoy writes them, and
``int(inf)`` would crash a reader), no integers longer than Python's conversion limit, no
nesting deep enough to hit the recursion limit; every failure is one :class:`InputError` line.

The limits (also in ``docs/security.md``) are module constants, one per kind of input.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import IO, Any

from seldon_doctor.errors import InputError

MiB = 1024 * 1024
# Manifests (-f files, directories, stdin, --crds): one file or stdin.
MAX_MANIFEST_BYTES = 256 * MiB
# An Envoy /config_dump file; the same bound as ``--envoy-admin``'s response cap.
MAX_ENVOY_DUMP_BYTES = 512 * MiB
# A JSON report used as --baseline, probe observation files, scheduler/xDS state files.
MAX_REPORT_BYTES = 256 * MiB
# ``.seldon-doctor.yaml``.
MAX_CONFIG_BYTES = 4 * MiB
# A kubeconfig file, and each file it names (tokenFile, certificate-authority, client certs).
MAX_KUBECONFIG_BYTES = 16 * MiB
MAX_CREDENTIAL_FILE_BYTES = 1 * MiB
# ``probe --payload``: one inference request body.
MAX_PAYLOAD_BYTES = 64 * MiB

_CHUNK = 1 * MiB


def human(limit: int) -> str:
    """``268435456`` -> ``256 MiB`` (limits are whole MiB or KiB)."""
    if limit >= MiB and limit % MiB == 0:
        return f"{limit // MiB} MiB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"


def too_large(what: str, limit: int) -> InputError:
    return InputError(f"{what}: larger than {human(limit)}, the limit for this input; refused")


def read_bounded(source: str | os.PathLike[str] | IO[bytes], limit: int, what: str) -> bytes:
    """All bytes of ``source`` (a path, or a binary stream such as stdin), at most ``limit``.

    Reads in chunks and stops as soon as more than ``limit`` bytes arrived: a device or a pipe
    that never ends costs ``limit`` bytes of memory, not all of RAM. A regular file's size is
    checked before reading. Raises InputError naming ``what`` and the limit, or the OS error.
    """
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as handle:
                info = os.fstat(handle.fileno())
                if stat.S_ISDIR(info.st_mode):
                    raise InputError(f"{what}: is a directory, not a file")
                if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                    raise too_large(what, limit)
                return _read_stream(handle, limit, what)
        except OSError as exc:
            raise InputError(f"{what}: cannot read ({exc.strerror or exc})") from None
    try:
        return _read_stream(source, limit, what)
    except OSError as exc:
        raise InputError(f"{what}: cannot read ({exc.strerror or exc})") from None


def _read_stream(handle: IO[bytes], limit: int, what: str) -> bytes:
    out = bytearray()
    while True:
        chunk = handle.read(min(_CHUNK, limit + 1 - len(out)))
        if not chunk:
            return bytes(out)
        out += chunk
        if len(out) > limit:
            raise too_large(what, limit)


def read_text_bounded(source: str | os.PathLike[str], limit: int, what: str) -> str:
    """:func:`read_bounded` decoded as UTF-8 (a BOM is dropped); bad bytes are an InputError."""
    data = read_bounded(source, limit, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what}: not UTF-8 text (invalid byte at offset {exc.start})") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def json_loads(text: str | bytes) -> Any:
    """``json.loads`` without NaN/Infinity or out-of-range floats; raises ValueError or
    RecursionError like ``json.loads`` (see :func:`json_problem` for the one-line message)."""
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)


def json_problem(exc: BaseException) -> str:
    """One line saying what was wrong with a JSON text ``json_loads`` refused."""
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply (past the interpreter's recursion limit), refused"
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON (invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg})"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (invalid byte at offset {exc.start})"
    text = str(exc)
    if "integer string conversion" in text:
        return "invalid JSON: an integer has more than 4300 digits"
    return f"invalid JSON: {' '.join(text.split())[:200]}"


def load_json(data: str | bytes, what: str) -> Any:
    """Parse untrusted JSON (see :func:`json_loads`); every problem is one InputError line."""
    try:
        if isinstance(data, bytes):
            data = data.decode("utf-8-sig")
        return json_loads(data)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{what}: {json_problem(exc)}") from None


def read_json_file(path: str | Path, limit: int, what: str) -> Any:
    """:func:`read_bounded` then :func:`load_json`."""
    return load_json(read_bounded(path, limit, what), what)
