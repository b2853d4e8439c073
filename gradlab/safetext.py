r"""Text from users, made safe to show to people: on a terminal, in a log, in Markdown.

Student ids, column names, spec titles and graph-file keys are written by someone else. Printed
raw, a terminal escape (``ESC [ 2 J``) clears the screen or fakes a line, a newline starts a line
that looks like gradlab's own, a right-to-left override turns text around, and ``<script>`` or
``[link](javascript:...)`` in a Markdown file becomes markup. :func:`shown` writes every control
character as an escape (one line, nothing invisible); :func:`markdown_text` also escapes what
Markdown would read as markup, so the text reads as written.

>>> shown("anna\x1b[2J\nbob")
'anna\\x1b[2J\\nbob'
>>> markdown_text("<script>alert(1)</script> *bold* [x](javascript:1)")
'\\<script\\>alert(1)\\</script\\> \\*bold\\* \\[x\\](javascript:1)'
"""

from __future__ import annotations

import re

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Invisible characters that change how text looks: zero-width ones, direction marks and overrides.
_FORMAT = {"\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2028", "\u2029", "\u2060", "\ufeff",
           *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f" + "".join(sorted(_FORMAT)) + "]")


def shown(text: str) -> str:
    """``text`` on one line with every control or invisible formatting character written as an
    escape (``\\n``, ``\\x1b``, ``\\u202e``); other text, letters like σ and ∂ included, unchanged."""
    return _UNSAFE.sub(lambda m: _escape(m.group()), text)


#: Characters Markdown may read as markup anywhere in a line (GitHub's HTML, emphasis, links, code, math, tables).
_INLINE = re.compile(r"([\\`*_\[\]<>|~$&])")
#: ... and at the start of a line (headings, lists, quotes, rules).
_LINE_START = re.compile(r"^(\s*)([#+\-=>]|\d+[.)])")


def markdown_text(text: str, *, paragraphs: bool = False) -> str:
    """``text`` as Markdown that shows it as written: control characters escaped (:func:`shown`),
    markup characters escaped with a backslash. One line, unless ``paragraphs``: then blank lines
    still separate paragraphs (each paragraph's lines joined)."""
    parts = re.split(r"\n[ \t]*\n", text.strip()) if paragraphs else [text]
    out = []
    for part in parts:
        line = shown(" ".join(part.split()) if paragraphs else part)
        line = _INLINE.sub(r"\\\1", line)
        out.append(_LINE_START.sub(lambda m: m.group(1) + "".join("\\" + c if not c.isdigit() else c
                                                                   for c in m.group(2)), line))
    return "\n\n".join(out)
