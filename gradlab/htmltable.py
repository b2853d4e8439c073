"""Small, escaped HTML for Jupyter's rich display (``_repr_html_``): tables, text, inline pictures.

Every result a notebook user meets shows itself as a compact table. The text in it (node names, claims,
student ids, titles) is written by someone else, so every cell is escaped, and control or invisible
formatting characters are written as escapes (:func:`gradlab.safetext.shown`); only :class:`Html`
(markup gradlab made itself from escaped parts) goes in as it is.

>>> html_table(["x", "dL/dx"], [["a<b", 1.5]], caption="grads")
'<table class="gradlab"><caption>grads</caption><thead><tr><th>x</th><th>dL/dx</th></tr></thead><tbody><tr><td>a&lt;b</td><td>1.5</td></tr></tbody></table>'
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .safetext import shown

__all__ = ["Html", "esc", "html_table", "html_text", "png_img"]


class Html(str):
    """Markup that is already safe (made by gradlab from escaped parts): :func:`esc` leaves it as it is."""


def esc(value: Any) -> str:
    """``value`` as text that HTML shows as written: ``esc("a<b & c")`` is ``'a&lt;b &amp; c'``; an
    :class:`Html` value is returned unchanged, ``None`` is empty."""
    if isinstance(value, Html):
        return str(value)
    if value is None:
        return ""
    return html.escape(shown(str(value)), quote=True)


def html_text(tag: str, text: Any, style: str = "") -> Html:
    """One element with escaped text: ``html_text("b", "FALSE", "color:#b00020")``."""
    attr = f' style="{html.escape(style, quote=True)}"' if style else ""
    return Html(f"<{tag}{attr}>{esc(text)}</{tag}>")


def html_table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], *, caption: Any = None,
               left: Iterable[int] = ()) -> Html:
    """A table with a header row; every cell escaped (except :class:`Html`), columns in ``left``
    aligned left (Jupyter aligns cells right, which suits numbers)."""
    lefts = set(left)

    def cell(tag: str, i: int, v: Any) -> str:
        return f'<{tag} style="text-align:left">{esc(v)}</{tag}>' if i in lefts else f"<{tag}>{esc(v)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption is not None else ""
    return Html(f'<table class="gradlab">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def png_img(path: str | Path, alt: str, width: int | None = None) -> Html | None:
    """A PNG file as an ``<img>`` with the picture inline (a data URI), so that a saved notebook keeps it;
    ``None`` when there is no such file."""
    p = Path(path)
    if not p.is_file():
        return None
    data = base64.b64encode(p.read_bytes()).decode("ascii")
    size = f' width="{int(width)}"' if width else ""
    return Html(f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}"{size}>')
