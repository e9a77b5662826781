"""Reading a bundle tarball by parsing its tar headers ourselves, within fixed limits."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from seldon_doctor.bundle.meta import (
    MANIFEST,
)
from seldon_doctor.errors import InputError

# Bounds on what a bundle may hold when read: a hostile tarball must not fill memory.
MAX_TOTAL_BYTES = 2 * 1024**3
MAX_MEMBER_BYTES = 512 * 1024**2
MAX_MEMBERS = 100_000


class _TarFiles:
    """Members of a bundle tarball, read and checked up front (see :func:`_read_tarball`)."""

    def __init__(self, where: str, members: dict[str, bytes]) -> None:
        self.where = where
        self.members = members
        if MANIFEST not in members:
            tops = {name.split("/", 1)[0] for name in members}
            if len(tops) == 1:
                top = next(iter(tops)) + "/"
                self.members = {k[len(top) :]: v for k, v in members.items() if k.startswith(top)}

    def get(self, rel: str) -> bytes | None:
        return self.members.get(str(_check_rel(rel, self.where)))


def _read_tarball(source: Path) -> _TarFiles:
    """Every member of a bundle tarball, checked as it is read.

    The tar headers are parsed here, not by :mod:`tarfile`: tarfile reads a PAX or GNU long-name
    header's data whole before any limit applies (a 3 GiB header cost 3.2 GB), and on CPython
    before 3.11.10/3.12.6 its PAX parser takes quadratic time on a long header value
    (CVE-2024-6232). Only what a bundle holds is accepted: ustar regular files and directories,
    PAX headers ('x', 'g') of at most MAX_TAR_HEADER_BYTES and GNU long names ('L') of at most
    MAX_TAR_NAME_BYTES; links and special files are refused.
    """
    where = str(source)
    members: dict[str, bytes] = {}
    try:
        with open(source, "rb") as raw:
            magic = raw.read(2)
            raw.seek(0)
            stream: Any = gzip.GzipFile(fileobj=raw, mode="rb") if magic == b"\x1f\x8b" else raw
            total = 0
            for count, (name, kind, size) in enumerate(_tar_headers(stream, where), 1):
                if count > MAX_MEMBERS:
                    raise InputError(f"{where}: more than {MAX_MEMBERS} members; not a bundle")
                while name.startswith("./"):
                    name = name[2:]
                if kind == "dir" or name in ("", "."):
                    _check_rel(name.rstrip("/") or ".", where, allow_dot=True)
                    _skip(stream, size, where, name)
                    continue
                rel = str(_check_rel(name, where))
                if kind != "file":
                    raise InputError(
                        f"{where}: member {name} is a {kind}; bundles hold only regular files"
                    )
                total += size
                _check_size(where, name, size, total)
                if rel in members:
                    raise InputError(f"{where}: member {name} appears twice")
                data = stream.read(size)
                if len(data) != size:
                    raise InputError(f"{where}: truncated tarball (member {name})")
                _skip(stream, 0, where, name, pad=size)
                members[rel] = data
            _drain(stream, where, total)
    except InputError:
        raise
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"{where}: not a readable snapshot bundle ({_one_line(exc)})") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read ({exc.strerror or _one_line(exc)})") from None
    return _TarFiles(where, members)


_BLOCK = 512
# Bounds on tar headers, applied before their data is read (see _read_tarball).
MAX_TAR_HEADER_BYTES = 64 * 1024  # one PAX extended header ('x' or 'g')
MAX_TAR_NAME_BYTES = 4096  # one GNU long name ('L'); PATH_MAX on Linux
_TAR_KINDS = {b"0": "file", b"\0": "file", b"7": "file", b"5": "dir"}
_TAR_REFUSED = {b"1": "link", b"2": "link", b"K": "link", b"3": "special file"}


def _tar_headers(stream: Any, where: str) -> Iterator[tuple[str, str, int]]:
    """(name, "file"/"dir", size) of each member; the caller reads or skips its data."""
    pax_name: str | None = None
    pax_size: int | None = None
    long_name: str | None = None
    extended = 0
    while True:
        header = stream.read(_BLOCK)
        if len(header) < _BLOCK:
            if not header:
                raise InputError(f"{where}: truncated tarball (no end-of-archive marker)")
            raise InputError(f"{where}: truncated tarball (a header is cut short)")
        if header == bytes(_BLOCK):
            return
        _check_checksum(header, where)
        typeflag = header[156:157]
        size = _octal(header[124:136], where, "size")
        if typeflag in (b"x", b"g", b"L"):
            extended += 1
            if extended > 3 * MAX_MEMBERS:
                raise InputError(f"{where}: more than {3 * MAX_MEMBERS} extended tar headers")
            limit = MAX_TAR_NAME_BYTES if typeflag == b"L" else MAX_TAR_HEADER_BYTES
            if size > limit:
                what = "GNU long-name" if typeflag == b"L" else "PAX"
                raise InputError(
                    f"{where}: a {what} tar header of {size} bytes, over the {limit}-byte "
                    "limit for bundles; refused"
                )
            data = stream.read(size)
            if len(data) != size:
                raise InputError(f"{where}: truncated tarball (an extended header)")
            _skip(stream, 0, where, "header", pad=size)
            if typeflag == b"L":
                long_name = _decode_name(data.split(b"\0", 1)[0], where)
            elif typeflag == b"x":
                records = _pax_records(data, where)
                pax_name = records.get("path", pax_name)
                if "size" in records:
                    pax_size = _decimal(records["size"], where)
            continue
        if typeflag in _TAR_REFUSED:
            kind = _TAR_REFUSED[typeflag]
        else:
            kind = _TAR_KINDS.get(typeflag, "special file")
        name = pax_name or long_name
        if name is None:
            name = _decode_name(header[0:100].split(b"\0", 1)[0], where)
            prefix = header[345:500].split(b"\0", 1)[0] if header[257:262] == b"ustar" else b""
            if prefix:
                name = _decode_name(prefix, where) + "/" + name
        if pax_size is not None:
            size = pax_size
        pax_name = pax_size = long_name = None
        yield name, kind, size


def _check_checksum(header: bytes, where: str) -> None:
    stored = _octal(header[148:156], where, "checksum")
    unsigned = sum(header[:148]) + 8 * 32 + sum(header[156:])
    signed = unsigned - 256 * sum(1 for b in (*header[:148], *header[156:]) if b > 127)
    if stored not in (unsigned, signed):
        raise InputError(f"{where}: not a readable snapshot bundle (bad tar header checksum)")


def _octal(field_bytes: bytes, where: str, what: str) -> int:
    text = field_bytes.split(b"\0", 1)[0].strip(b" ")
    if field_bytes[:1] in (b"\x80", b"\xff"):  # base-256: a size no bundle member has
        raise InputError(f"{where}: tar header {what} in base-256; refused")
    if not text:
        return 0
    if len(text) > 12 or any(c not in b"01234567" for c in text):
        raise InputError(f"{where}: not a readable snapshot bundle (bad tar header {what})")
    return int(text, 8)


def _decimal(text: str, where: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InputError(f"{where}: bad size {text[:30]!r} in a PAX tar header")
    return int(text)


def _decode_name(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{where}: a member name is not UTF-8") from None


def _pax_records(data: bytes, where: str) -> dict[str, str]:
    """``"<length> <key>=<value>\\n"`` records of a (size-bounded) PAX header."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos, pos + 8)
        digits = data[pos:space] if space > pos else b""
        if not digits.isdigit():
            raise InputError(f"{where}: malformed PAX tar header")
        length = int(digits)
        record = data[space + 1 : pos + length]
        if length <= 0 or pos + length > len(data) or not record.endswith(b"\n"):
            raise InputError(f"{where}: malformed PAX tar header")
        key, eq, value = record[:-1].partition(b"=")
        if not eq:
            raise InputError(f"{where}: malformed PAX tar header")
        if key in (b"path", b"size"):
            records[key.decode("ascii")] = _decode_name(value, where)
        pos += length
    return records


def _skip(stream: Any, size: int, where: str, name: str, *, pad: int | None = None) -> None:
    """Skip ``size`` data bytes plus the padding to the next 512-byte block (of ``pad`` bytes
    of data already read, when given)."""
    used = size if pad is None else pad
    remaining = (size if pad is None else 0) + (-used % _BLOCK)
    while remaining:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            raise InputError(f"{where}: truncated tarball (member {name})")
        remaining -= len(chunk)


def _drain(stream: Any, where: str, total: int) -> None:
    """Read to the end of the stream, so a truncated or corrupt gzip (CRC) is noticed."""
    while chunk := stream.read(1 << 20):
        total += len(chunk)
        if total > MAX_TOTAL_BYTES + (1 << 20):
            raise InputError(
                f"{where}: bundle holds over {MAX_TOTAL_BYTES} bytes; refusing to read"
            )


def _check_rel(name: str, where: str, *, allow_dot: bool = False) -> PurePosixPath:
    rel = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or rel.is_absolute()
        or ".." in rel.parts
        or (not allow_dot and name in (".", ""))
    ):
        raise InputError(f"{where}: unsafe path {name!r} in bundle (absolute or with '..')")
    return rel


def _check_size(where: str, name: str, size: int, total: int) -> None:
    if size > MAX_MEMBER_BYTES:
        raise InputError(
            f"{where}: {name} is {size} bytes, over the {MAX_MEMBER_BYTES} bytes a bundle "
            "file may have"
        )
    if total > MAX_TOTAL_BYTES:
        raise InputError(f"{where}: bundle holds over {MAX_TOTAL_BYTES} bytes; refusing to read")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
