"""Kubernetes resource quantities (``1Gi``, ``500M``, ``2e9``) as numbers."""

from __future__ import annotations

import math
import re

_QUANTITY = re.compile(
    r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*"
    r"(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E))?\s*$"
)
_SUFFIX = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
}


def parse_quantity(value: object) -> int | None:
    """Bytes of a Kubernetes quantity (``1Gi``, ``500M``, ``2e9``, ``1000000``), rounded up."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return math.ceil(value)
    match = _QUANTITY.match(str(value))
    if not match:
        return None
    number, exponent, suffix = match.groups()
    amount = float(number)
    if exponent:
        amount *= 10 ** int(exponent[1:])
    elif suffix:
        amount *= _SUFFIX[suffix]
    return math.ceil(amount)


def human_bytes(value: int) -> str:
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value}B"
