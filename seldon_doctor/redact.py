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


# Credentials recognisable by their shape, whatever they are called (log lines, env values).
_SHAPES = re.compile(
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key id
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JWT
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"  # GitHub token
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"  # Slack token
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----.*",  # PEM private key (the rest of the line)
)
# "Authorization: Bearer abc", "Basic dXNlcjpwYXNz".
_SCHEME = re.compile(r"\b(Bearer|Basic|Token)(\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_SCHEMES = frozenset({"bearer", "basic", "token"})
# scheme://user:password@host
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^/\s@]+(@)")
# password=..., "token": "...", --secret-key value=...
_KEY_VALUE = re.compile(
    r"(?P<key>[A-Za-z0-9_.-]*(?:" + _CREDENTIAL.pattern + r")[A-Za-z0-9_.-]*)"
    r"""(?P<sep>["']?\s*[:=]\s*["']?)(?P<value>[^\s"',;&]+)""",
    re.IGNORECASE,
)


def redact_shapes(text: str) -> str:
    """``text`` with credentials recognisable by shape alone masked (AWS access key ids, JWTs,
    GitHub/Slack tokens, PEM private keys); unchanged (the same string) when it has none."""
    out = _SHAPES.sub(REDACTED, text)
    return out if out != text else text


def redact_text(text: str) -> str:
    """``text`` (a log line, an env value, a shell command) with credential-like parts masked.

    Masks credentials recognisable by shape (AWS access key ids, JWTs, GitHub/Slack tokens,
    PEM private keys), ``Bearer``/``Basic`` credentials, URL passwords and the values of
    ``key=value`` / ``key: value`` pairs whose key looks like a credential name. Text with none
    of these is returned unchanged (the same string).
    """
    out = redact_shapes(text)
    out = _SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", out)
    out = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(2)}", out)
    out = _KEY_VALUE.sub(
        lambda m: (
            m[0]
            if m["value"] == REDACTED or m["value"].lower() in _SCHEMES
            else f"{m['key']}{m['sep']}{REDACTED}"
        ),
        out,
    )
    return out if out != text else text
