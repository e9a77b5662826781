"""Writing output files: whole or not at all, and never through a symlink.

Used by ``scan -o FORMAT=PATH`` and by snapshot bundles (tarballs). The data goes to a
temporary file in the target's directory, is flushed to disk, then renamed over the target
(:func:`os.replace`, atomic on POSIX): a reader sees the old file or the new one, never half a
report, and a failure (disk full, a killed run) leaves no partial file behind.

Rules, the same for every file seldon-doctor writes:

* an existing regular file is replaced (a CronJob rewrites ``report.json`` every run);
* a symlink at the target is refused — a report must not land wherever a link planted in a
  shared directory points; the rename would replace the link itself, but refusing says so;
* a directory or any other non-regular file (a FIFO, a device) is refused;
* the new file gets the usual permissions (0666 minus the umask), not the temporary file's 0600.

Every refusal or OS error is an :class:`~seldon_doctor.errors.InputError` (exit code 2).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from seldon_doctor.errors import InputError


def check_target(target: Path) -> None:
    """Refuse a target that is a symlink, a directory or another non-regular file."""
    try:
        info = target.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"{target}: cannot write ({exc.strerror or exc})") from None
    if stat.S_ISLNK(info.st_mode):
        raise InputError(
            f"{target}: is a symlink; refusing to write through it (give the real path)"
        )
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{target}: is a directory; give a file path")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{target}: is not a regular file; refusing to replace it")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_writer(target: str | Path, *, make_parents: bool = False) -> Iterator[IO[bytes]]:
    """A binary file object whose content replaces ``target`` when the block ends without an
    exception; on an exception the target is untouched and the temporary file removed."""
    path = Path(target)
    check_target(path)
    try:
        if make_parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        check_target(path)  # refuse a symlink planted while we wrote
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def write_atomic(target: str | Path, data: bytes | str, *, make_parents: bool = False) -> None:
    """Write ``data`` (text is UTF-8) to ``target`` atomically (see the module docstring)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_writer(target, make_parents=make_parents) as handle:
        handle.write(payload)
