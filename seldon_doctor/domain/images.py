"""Container image references: repository, tag, digest, release version.

One parser for every caller (control-plane version skew, serving image tags, Server custom
runtimes, the controller's watch scope).
"""

from __future__ import annotations

import re
from functools import lru_cache

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


# A cluster runs a few distinct images in thousands of containers: parse each text once.
@lru_cache(maxsize=4096)
def split_image(image: str) -> tuple[str, str, bool]:
    """(repository, tag, pinned by digest) of an image reference."""
    digest = "@" in image
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = name.rsplit(":", 1)
    else:
        repo, tag = name, ""
    return repo, tag, digest


def image_basename(image: str) -> str:
    """Last path element of the repository (``docker.io/seldonio/mlserver:1`` → ``mlserver``)."""
    return split_image(image)[0].rsplit("/", 1)[-1]


def is_moving_tag(image: str) -> bool:
    """True for ``latest`` or no tag at all; a digest pins the image whatever the tag."""
    _, tag, digest = split_image(image)
    return not digest and tag in ("", "latest")


def same_image(left: str, right: str) -> bool:
    """Same image name (last path element), whatever the registry, organisation or tag."""
    return image_basename(left) == image_basename(right)


@lru_cache(maxsize=4096)
def image_version(image: str) -> tuple[int, int, int] | None:
    """Release version from an image tag (``…:2.9.1``); None for ``latest`` or digests."""
    tag = split_image(image)[1]
    match = _VERSION.fullmatch(tag) if tag else None
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
