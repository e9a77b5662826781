"""The one redactor: no credential read from the input reaches an output.

Every place that prints or stores input text goes through this module: finding evidence and
messages (``checks.base.node_evidence``, the engine), log evidence (``logs.scrub``), snapshot
bundles (objects, Envoy dumps, log files) and the trace. There are two entry points built on
the same rules:

* :func:`redact_text` — free text (a log line, an annotation, a condition message, an env
  value, a shell command);
* :func:`redact_value` — a JSON-like value (an object body, a container, an env list): every
  string in it goes through :func:`redact_text`, and the structure adds what text cannot say
  (``{"name": "DB_PASSWORD", "value": ...}``, ``password: 1234``, ``["--token", "x"]``,
  Secret payloads).

What is masked (replaced by ``<redacted>``); docs/security.md lists the same rules:

1. credentials known by their shape, whatever they are called: PEM private keys (the whole
   block, body included), AWS access key ids (``AKIA…``/``ASIA…``), AWS secret access keys
   (40 base64 characters after ``aws_secret_access_key``, or anywhere in a text that also
   holds an AWS key id), JWTs, GitHub and Slack tokens;
2. ``Authorization`` credentials: ``Bearer …``, ``Basic …``;
3. the password of a URL (``postgres://user:PASS@host`` keeps the user and the host);
4. the value of a ``key=value``, ``key: value`` or ``"key": "value"`` pair, ``--flag value``
   and ``--flag=value``, whose key is credential-like (:func:`is_credential_name`: password,
   pass, secret, token, api key, access key, private key, credential, auth(orization),
   session/client/SAS key, connection string — but not a reference to one such as
   ``secretName``, ``tokenPath`` or ``passwordSecretRef``).

Names, image references and URLs without credentials are left alone, and text with nothing to
mask is returned unchanged (the same object). The input objects are never mutated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seldon_doctor.findings import Finding

REDACTED = "<redacted>"
_MAX_DEPTH = 64

# Words that make a key, env var or flag name credential-like. AUTH is not AUTHOR/AUTHORITY
# (``:authority`` is a host) unless it is AUTHORIZATION.
_WORDS = (
    r"PASSWORD|PASSWD|PASSPHRASE|(?<![A-Z])PASS(?![A-Z])|SECRET|TOKEN|API[_-]?KEY|"
    r"ACCESS[_-]?KEY|PRIVATE[_-]?KEY|CREDENTIAL|AUTH(?!OR(?!IZ))|SESSION[_-]?KEY|"
    r"CLIENT[_-]?KEY|SAS[_-]?KEY|CONN(?:ECTION)?[_-]?STR"
)
_CREDENTIAL = re.compile(_WORDS, re.IGNORECASE)
# A name that points at a credential rather than holding one: secretName, tokenPath,
# passwordSecretRef, TOKEN_FILE, automountServiceAccountToken is a bool (values only).
_REFERENCE = re.compile(
    r"(?:NAME|REF|PATH|FILE|DIR|MOUNT|SECONDS|TTL|TYPE|KIND|ENABLED|MODE|FORMAT|REQUIRED)$",
    re.IGNORECASE,
)


def is_credential_name(name: str) -> bool:
    """Whether an env var, key or flag name looks like it carries a credential."""
    bare = name.strip("-\"' ")
    return bool(_CREDENTIAL.search(bare)) and not _REFERENCE.search(bare)


# ---------------------------------------------------------------------------- text

# 1. Credentials recognisable by their shape.
_PEM = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]{0,40})PRIVATE KEY-----"
    r"(?:.*?-----END (?P=label)PRIVATE KEY-----|.*)",
    re.DOTALL,
)
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
_B64_40 = r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
_AWS_SECRET_AFTER_NAME = re.compile(
    r"(?P<key>aws_?secret_?(?:access_?)?key)(?P<sep>[\s\"':=]{1,6})" + _B64_40, re.IGNORECASE
)
_AWS_SECRET_ALONE = re.compile(_B64_40)
_SHAPES = re.compile(
    r"\beyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]{8,}+"  # JWT
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}+"  # GitHub token
    r"|\bgithub_pat_[A-Za-z0-9_]{20,}+"  # GitHub fine-grained token
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}+"  # Slack token
)
# 2. Authorization schemes. Basic/Token need a credential that is not a plain word
# ("Basic auth", "Token validation failed").
_BEARER = re.compile(r"\b(?P<scheme>Bearer)(?P<sp>\s++)(?P<cred>[A-Za-z0-9._~+/=-]{4,}+)", re.I)
_BASIC = re.compile(
    r"\b(?P<scheme>Basic|Token)(?P<sp>\s++)(?P<cred>(?-i:(?![a-z]++\b)(?![A-Z][a-z]++\b))"
    r"[A-Za-z0-9._~+/-]{6,}+={0,2})",
    re.IGNORECASE,
)
# 3. scheme://user:password@host
_URL_PASSWORD = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<head>[A-Za-z][A-Za-z0-9+.-]{0,31}+://[^\s/@:\"']{0,256}+:)"
    r"[^\s/@\"']{1,256}+(?=@)"
)
# 4. key=value, key: value, "key": "value" (a colon needs a space after it unless the key is
# quoted, so image refs and host:port are not pairs), --flag value. A key is a whole token (the
# code checks is_credential_name) and only a credential's value is consumed, so a pair inside
# another pair's quoted value (error="connect failed: password=x") is still found. Possessive
# and bounded quantifiers keep every pattern here linear on hostile input (a 100 kB line must
# not hang a scan): a quoted value is looked for over 4096 characters at most, then the word
# after the quote is masked.
_KEY_VALUE = re.compile(
    r"""(?P<q>["'])?(?<![A-Za-z0-9_.-])(?P<key>[A-Za-z0-9_.-]++)(?(q)\\?(?P=q))"""
    r"""(?P<sep>(?(q)\s*+[:=]\s*+|(?:\s*+=\s*+|:\s++)))"""
)
_VALUE = re.compile(
    r"""\\"(?:[^"\\]|\\[^"]){0,4096}+\\"|"(?:[^"\\]|\\.){0,4096}+"|'[^']{0,4096}+'"""
    r"""|["']?[^\s"',;&}]++"""
)
_FLAG_SPACE = re.compile(
    r"(?<!\S)(?P<key>--?[A-Za-z0-9_.-]++)(?P<sep>\s++)(?P<value>(?!-)[^\s\"']++)"
)


def _pairs(text: str) -> str:
    """``text`` with the value of every credential-like pair masked."""
    out: list[str] = []
    pos = 0
    for m in _KEY_VALUE.finditer(text):
        if m.start() < pos or not is_credential_name(m["key"]):
            continue  # inside a value masked already, or not a credential
        found = _VALUE.match(text, m.end())
        if found is None:
            continue
        value = found[0]
        if value.strip("\\\"'") in ("", REDACTED) or value.lower() in ("bearer", "basic", "token"):
            continue  # nothing to hide, or "Authorization: Bearer x" (the scheme rule)
        out += [text[pos : m.end()], REDACTED]
        pos = found.end()
    return "".join((*out, text[pos:])) if out else text


def _flag(m: re.Match[str]) -> str:
    if m["value"] == REDACTED or not is_credential_name(m["key"]):
        return m[0]
    return f"{m['key']}{m['sep']}{REDACTED}"


def redact_text(text: str) -> str:
    """``text`` with every credential the module docstring lists masked.

    Text with none of these is returned unchanged (the same string), so callers can test
    ``out is text``.
    """
    out = _PEM.sub(REDACTED, text)
    if _AWS_KEY_ID.search(out):
        out = _AWS_SECRET_ALONE.sub(REDACTED, _AWS_KEY_ID.sub(REDACTED, out))
    out = _AWS_SECRET_AFTER_NAME.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", out)
    out = _SHAPES.sub(REDACTED, out)
    out = _BEARER.sub(lambda m: f"{m['scheme']}{m['sp']}{REDACTED}", out)
    out = _BASIC.sub(lambda m: f"{m['scheme']}{m['sp']}{REDACTED}", out)
    out = _URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}", out)
    if _CREDENTIAL.search(out):  # pairs and flags need a credential-like name somewhere
        out = _pairs(out)
        out = _FLAG_SPACE.sub(_flag, out)
    return out if out != text else text


def redact_lines(lines: Iterable[str]) -> list[str]:
    """Lines of one stream (a container log) with :func:`redact_text` applied line by line,
    plus what only the sequence shows: the body lines of a PEM private key that was split
    over several lines, up to its END line."""
    out: list[str] = []
    in_key = False
    for line in lines:
        if in_key:
            if "-----END " in line and "PRIVATE KEY-----" in line:
                in_key = False
                line = REDACTED + line.split("PRIVATE KEY-----", 1)[1]
            else:
                line = REDACTED
        elif _PEM.search(line) and not re.search(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----", line):
            in_key = True
        out.append(redact_text(line))
    return out


# ---------------------------------------------------------------------------- values


def _scalar_secret(value: Any) -> bool:
    """A value that a credential-like key would hide: a non-empty string or a number."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value != "")


def redact_value(value: Any, _depth: int = 0) -> Any:
    """A copy of ``value`` with every credential masked (see the module docstring).

    Dicts: Secret ``data``/``stringData``; the ``value`` of an env-style entry whose ``name``
    (or ``key``, as in Envoy headers) is credential-like; scalar values under credential-like
    keys. Lists: the word after a credential-like ``--flag``. Strings: :func:`redact_text`.
    Anything nested deeper than the limit is masked whole.
    """
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, dict):
        if value.get("kind") == "Secret":
            return {
                k: (REDACTED if k in ("data", "stringData") else redact_value(v, _depth + 1))
                for k, v in value.items()
            }
        label = value.get("name", value.get("key"))
        env_like = isinstance(label, str) and is_credential_name(label)
        out = {}
        for k, v in value.items():
            if env_like and k == "value" and _scalar_secret(v):
                out[k] = REDACTED
            elif isinstance(k, str) and is_credential_name(k) and _scalar_secret(v):
                out[k] = v if v == REDACTED else REDACTED
            else:
                out[k] = redact_value(v, _depth + 1)
        return out if out != value else value
    if isinstance(value, list | tuple):
        items = []
        secret_next = False
        for item in value:
            if secret_next and isinstance(item, str) and not item.startswith("-"):
                items.append(REDACTED)
            else:
                items.append(redact_value(item, _depth + 1))
            secret_next = (
                isinstance(item, str)
                and item.startswith("-")
                and "=" not in item
                and is_credential_name(item)
            )
        out_seq = type(value)(items)
        return out_seq if out_seq != value else value
    if isinstance(value, str):
        return redact_text(value)
    return value


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def redact_object(body: dict[str, Any]) -> dict[str, Any]:
    """A Kubernetes object body fit to leave the machine (a snapshot bundle): Secrets keep only
    ``apiVersion``, ``kind``, ``metadata`` and ``type``; the last-applied-configuration
    annotation (a copy of the whole object, Secret data included) is dropped; annotations and
    everything outside ``metadata`` go through :func:`redact_value`. Names, labels and other
    metadata are kept as read (checks select on them). Never mutates ``body``."""
    out = dict(body)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta = dict(meta)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            kept = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
            meta["annotations"] = redact_value(kept)
        out["metadata"] = meta
    if out.get("kind") == "Secret" and out.get("apiVersion") == "v1":
        return {k: v for k, v in out.items() if k in ("apiVersion", "kind", "metadata", "type")}
    for key, value in out.items():
        if key not in ("apiVersion", "kind", "metadata"):
            out[key] = redact_value(value, 1)
    return out


def redact_finding(finding: Finding) -> Finding:
    """``finding`` with its message, evidence and playbook parameters redacted; the same object
    when there was nothing to mask. The engine passes every finding through this, so a check
    that quotes input (a condition message, a storageUri) cannot leak into any renderer."""
    from dataclasses import replace

    evidence = tuple(
        e
        if (
            (value := redact_value(e.value)) is e.value
            and redact_text(e.subject) is e.subject
            and (e.note is None or redact_text(e.note) is e.note)
            and (e.field is None or redact_text(e.field) is e.field)
        )
        else replace(
            e,
            subject=redact_text(e.subject),
            field=None if e.field is None else redact_text(e.field),
            value=value,
            note=None if e.note is None else redact_text(e.note),
        )
        for e in finding.evidence
    )
    message = redact_text(finding.message)
    params = tuple((k, redact_text(v)) for k, v in finding.params)
    if (
        message is finding.message
        and params == finding.params
        and all(a is b for a, b in zip(evidence, finding.evidence, strict=True))
    ):
        return finding
    return replace(finding, message=message, evidence=evidence, params=params)
