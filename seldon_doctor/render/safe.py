"""Text from the input, made inert for the terminal and for every text format.

Names, requirements, condition messages and file names come from the cluster or the files
scanned; a hostile one can carry escape sequences (clear the screen, set the window title, an
OSC 8 hyperlink), a carriage return that rewrites the line (or ends a Markdown table row), or a
bidi override that shows text in another order than it is read. :func:`safe_text` is the one
helper every renderer uses on such text (terminal, trace, Markdown, HTML before escaping, JUnit,
Prometheus label values, DOT/Mermaid labels, CLI notes on stderr).

Each control character is replaced by a visible, inert escape (``\\x1b``, ``\\u202e``), so the
reader sees that something was there: C0 controls except tab and newline, DEL, C1 controls
(U+0080–U+009F, ``\\x9b`` is a CSI on some terminals), bidi embeddings, overrides and isolates
(U+202A–U+202E, U+2066–U+2069). CR LF and a lone CR become a newline; with ``one_line`` every
line break becomes a space.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BREAK = re.compile("\r\n?|\n")


def _visible(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str, *, one_line: bool = False) -> str:
    """``text`` with every control character replaced by a visible escape (see the module
    docstring); the same string when there was none."""
    out = _BREAK.sub(" " if one_line else "\n", text) if ("\r" in text or one_line) else text
    out = _CONTROL.sub(_visible, out)
    return out if out != text else text


def safe_line(text: str) -> str:
    """:func:`safe_text` for a place that must stay one line (a table cell, a label)."""
    return safe_text(text, one_line=True)


_JSON_RAW = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def json_safe(dumped: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) with DEL, C1 controls and bidi
    overrides written as ``\\uXXXX`` escapes: the same data for a parser, inert when the file is
    printed on a terminal. (JSON already escapes C0 controls.)"""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m[0]):04x}", dumped)
