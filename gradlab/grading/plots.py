"""Small bar charts as inline SVG, for the class overview: written here, so they need no plotting package and no
network, print sharply, and every label is escaped text.

>>> svg = histogram([3, 7.5, 18.5, 18.5], 0, 18.5, bins=4, label="points")
>>> svg.startswith("<svg") and svg.count('class="bar"') == 4
True
>>> "<b>" in bars([("<b>", 0.5, "50%")], title="share")
False
"""

from __future__ import annotations

import math
from typing import Sequence

from ..htmltable import esc

FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'
BLUE, GREEN, AMBER, RED, GREY = "#3b6ea5", "#2e7d32", "#b7791f", "#c62828", "#666"


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def histogram(values: Sequence[float], lo: float, hi: float, *, bins: int = 10, label: str = "",
              width: int = 560, height: int = 220) -> str:
    """How many ``values`` fall in each of ``bins`` equal ranges from ``lo`` to ``hi`` (the last one closed), as
    an SVG bar chart with the counts above the bars and the ranges below."""
    bins = max(1, bins)
    span = (hi - lo) or 1.0
    counts = [0] * bins
    for v in values:
        k = min(bins - 1, max(0, int(math.floor((v - lo) / span * bins))))
        counts[k] += 1
    top = max(counts) or 1
    left, bottom, right, head = 36, 44, 10, 16
    plot_w, plot_h = width - left - right, height - bottom - head
    step = plot_w / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(label or "histogram")}">',
             f'<line x1="{left}" y1="{head + plot_h}" x2="{width - right}" y2="{head + plot_h}" stroke="#333"/>']
    for k, c in enumerate(counts):
        h = plot_h * c / top
        x = left + k * step
        parts.append(f'<rect class="bar" x="{x + 2:.1f}" y="{head + plot_h - h:.1f}" width="{step - 4:.1f}" '
                     f'height="{h:.1f}" fill="{BLUE}"><title>{c}</title></rect>')
        if c:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{head + plot_h - h - 3:.1f}" text-anchor="middle" '
                         f'font-size="11" {FONT}>{c}</text>')
        a, b = lo + span * k / bins, lo + span * (k + 1) / bins
        parts.append(f'<text x="{x + step / 2:.1f}" y="{head + plot_h + 14}" text-anchor="middle" font-size="9.5" '
                     f'{FONT} fill="{GREY}">{_num(a)}–{_num(b)}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" font-size="11" '
                 f"{FONT}>{esc(label)}</text>")
    parts.append(f'<text x="8" y="{head + plot_h / 2:.1f}" font-size="11" {FONT} '
                 f'transform="rotate(-90 8 {head + plot_h / 2:.1f})" text-anchor="middle" dy="6">students</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def share_colour(share: float) -> str:
    """Green for a blank most got right, amber for half, red for one few got right."""
    return GREEN if share >= 0.75 else AMBER if share >= 0.4 else RED


def bars(rows: Sequence[tuple[str, float, str]], *, title: str = "", scale: float | None = None,
         width: int = 560, label_width: int = 200, colours: Sequence[str] | None = None) -> str:
    """Horizontal bars, one per row ``(label, value, text shown after the bar)``; the longest bar is ``scale``
    (default: the largest value). ``colours`` per row (default blue)."""
    row_h, head = 20, 6
    height = head + row_h * max(1, len(rows)) + 6
    top = scale if scale is not None else max((v for _, v, _ in rows), default=1.0) or 1.0
    plot_w = width - label_width - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title or "bar chart")}">']
    for i, (label, value, text) in enumerate(rows):
        y = head + i * row_h
        w = max(0.0, plot_w * value / top)
        colour = colours[i] if colours else BLUE
        shown = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end" font-size="11" {FONT}>'
                     f"<title>{esc(label)}</title>{esc(shown)}</text>")
        parts.append(f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{label_width + w + 5:.1f}" y="{y + 14}" font-size="11" {FONT}>{esc(text)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


__all__ = ["histogram", "bars", "share_colour"]
