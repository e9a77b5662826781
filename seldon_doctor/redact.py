"""Keep credentials out of evidence: env values of credential-like names, Secret payloads.

Evidence quotes what the input says (a container, an env list, a podSpec); anything that looks
like a credential is replaced by ``REDACTED`` before it is stored in a finding, so no renderer
can print it. The input objects are never mutated.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"
# Names of env vars, keys and flags that carry credentials.
_CREDENTIAL = re.compile(
    r"(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|"
    r"AUTH|SESSION_?KEY|CLIENT_?KEY|SAS_?KEY|CONN(ECTION)?_?STR)",
    re.IGNORECASE,
)
# --password=..., --token ..., key=value pairs with credential-like keys.
_FLAG = re.compile(r"^(--?[A-Za-z0-9_.-]+)=(.*)$")
_MAX_DEPTH = 64


def is_credential_name(name: str) -> bool:
    """Whether an env var, key or flag name looks like it carries a credential."""
    return bool(_CREDENTIAL.search(name))


def redact_value(value: Any, _depth: int = 0) -> Any:
    """A copy of ``value`` with credential-like env values, keys, flags and Secret data masked."""
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, dict):
        if value.get("kind") == "Secret":
            return {
                k: (REDACTED if k in ("data", "stringData") else redact_value(v, _depth + 1))
                for k, v in value.items()
            }
        name = value.get("name")
        if isinstance(name, str) and "value" in value and is_credential_name(name):
            return {k: (REDACTED if k == "value" else v) for k, v in value.items()}
        return {
            k: (
                REDACTED
                if isinstance(k, str) and is_credential_name(k) and isinstance(v, str | int)
                else redact_value(v, _depth + 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v, _depth + 1) for v in value)
    if isinstance(value, str):
        match = _FLAG.match(value)
        if match and is_credential_name(match.group(1)):
            return f"{match.group(1)}={REDACTED}"
    return value
