"""The registry of worksheet formats: Markdown, HTML, PDF and Moodle XML, and any registered one.

:func:`gradlab.worksheet.make_worksheet` runs the formats it is asked for, in the order of this
registry, together with the formats they need (PDF prints the HTML pages). A new format is a
:class:`gradlab.worksheet.format.Format` given to :func:`register_format`:

>>> from gradlab.worksheet.format import Format
>>> fmt = register_format(Format("nothing", lambda job: {}))
>>> [f.name for f in chosen(["nothing", "pdf"])]
['html', 'pdf', 'nothing']
>>> unregister_format("nothing")
"""

from __future__ import annotations

from typing import Iterable

from . import html, markdown, moodle, pdf
from .format import Format
from .spec import WorksheetError

_REGISTRY: dict[str, Format] = {f.name: f for f in (markdown.FORMAT, html.FORMAT, pdf.FORMAT, moodle.FORMAT)}

#: The formats gradlab brings, in the order they are made.
BUILTIN = tuple(_REGISTRY)


def register_format(fmt: Format) -> Format:
    """Add a format (one of the same name is replaced); returns it."""
    if not fmt.name or not fmt.name.replace("-", "").replace("_", "").isalnum():
        raise WorksheetError(f"a format's name is a word such as 'text', got {fmt.name!r}")
    missing = [n for n in fmt.needs if n not in _REGISTRY]
    if missing:
        raise WorksheetError(f"the format '{fmt.name}' needs the format '{missing[0]}', which is not registered")
    _REGISTRY[fmt.name] = fmt
    return fmt


def unregister_format(name: str) -> None:
    """Remove a registered format (gradlab's own stay)."""
    if name in BUILTIN:
        raise WorksheetError(f"'{name}' is one of gradlab's own formats and stays")
    _REGISTRY.pop(name, None)


def registered() -> list[Format]:
    """Every format, in the order they are made."""
    return list(_REGISTRY.values())


def chosen(names: Iterable[str]) -> list[Format]:
    """The formats named, and those they need, in the registry's order; an unknown name is refused."""
    todo = list(names)
    unknown = [n for n in todo if n not in _REGISTRY]
    if unknown:
        raise WorksheetError(f"unknown format '{unknown[0]}'; choose from {', '.join(_REGISTRY)}")
    wanted: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo += _REGISTRY[name].needs
    return [f for f in _REGISTRY.values() if f.name in wanted]


__all__ = ["register_format", "unregister_format", "registered", "chosen", "BUILTIN"]
