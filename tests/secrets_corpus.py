"""One corpus of credentials, for every test that promises "no secrets in the output".

Each entry is a piece of text as it shows up in the wild (a header, a URL, a log field, a key
file) and the parts of it that must never be printed or stored. ``KEEP`` holds look-alikes
that must survive redaction: names, image references and URLs without credentials.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Secret:
    name: str
    text: str  # as planted (may hold newlines: a PEM key)
    secrets: tuple[str, ...]  # substrings that must not appear anywhere after redaction

    @property
    def one_line(self) -> bool:
        return "\n" not in self.text


PEM_BODY = (
    "MIIEowIBAAKCAQEAseededPemBodyLine1qwertyuiopASDFGHJKLzxcvbnm0123456789ab",
    "seededPemBodyLine2ZXCVBNMqwertyuiop0123456789abcdefghijklmnopqrstuvwxyzAB",
)
AWS_KEY_ID = "AKIASEEDEDKEYID00001"
AWS_SECRET = "SeededAwsSecret/Key0000000000000000000001"[:40]
AWS_LONE_SECRET = "SeededAwsLoneSecret+000000000000000000002"[:40]

CORPUS: tuple[Secret, ...] = (
    Secret(
        "pem-private-key",
        "-----BEGIN RSA PRIVATE KEY-----\n"
        + "\n".join(PEM_BODY)
        + "\n-----END RSA PRIVATE KEY-----",
        PEM_BODY,
    ),
    Secret("bearer", "Authorization: Bearer seededBearerTok3n.abcDEF_123", ("seededBearerTok3n",)),
    Secret("basic", "Authorization: Basic c2VlZGVkOmJhc2ljcGFzczEy", ("c2VlZGVkOmJhc2ljcGFzczEy",)),
    Secret(
        "url-password",
        "postgres://app:seededUrlPassw0rd@db.internal:5432/features",
        ("seededUrlPassw0rd",),
    ),
    Secret("password-pair", "password=seededPairPassw0rd", ("seededPairPassw0rd",)),
    Secret(
        "quoted-password", 'password="seeded quoted pass"', ("seeded quoted pass", "quoted pass")
    ),
    Secret("json-token", '{"token": "seededJsonTok3n"}', ("seededJsonTok3n",)),
    Secret("db-pass", "DB_PASS=seededDbPass77", ("seededDbPass77",)),
    Secret(
        "escaped-json",
        '{\\"password\\":\\"seededEscapedPass1\\"}',
        ("seededEscapedPass1",),
    ),
    Secret(
        "logrus-quoted",
        'error="connect failed: password=\\"seeded logrus pass\\""',
        ("seeded logrus", "logrus pass"),
    ),
    Secret("token-flag", "--api-token seededFlagTok3n", ("seededFlagTok3n",)),
    Secret("aws-secret-named", f"aws_secret_access_key={AWS_SECRET}", (AWS_SECRET,)),
    Secret("aws-key-pair", f"{AWS_KEY_ID} {AWS_LONE_SECRET}", (AWS_KEY_ID, AWS_LONE_SECRET)),
    Secret(
        "jwt",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWVkZWQtand0In0.seededJwtSignature0123",
        ("eyJzdWIiOiJzZWVkZWQtand0In0", "seededJwtSignature0123"),
    ),
    Secret("github-token", "ghp_seededGithubToken0123456789abcd", ("seededGithubToken0123456789",)),
    Secret("slack-token", "xoxb-seeded-slack-token-0123", ("seeded-slack-token-0123",)),
)

# What redaction must leave alone.
KEEP = (
    "fraud-score",
    "docker.io/seldonio/mlserver:1.7.1",
    "https://models.example.com/fraud-score/v3",
    "gs://ml-artifacts-prod/app-a/fraud-score/v3",
)


def forbidden() -> list[str]:
    """Every substring no output may contain."""
    return [s for entry in CORPUS for s in entry.secrets]


def leaks(text: str) -> list[str]:
    """The corpus secrets that ``text`` still contains."""
    return [s for s in forbidden() if s in text]


def one_line_texts() -> list[str]:
    return [entry.text for entry in CORPUS if entry.one_line]


def all_texts() -> list[str]:
    return [entry.text for entry in CORPUS]
