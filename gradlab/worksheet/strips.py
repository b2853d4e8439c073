r"""A wide picture printed readably: cut into strips, one below the other, so that its labels print at least at the
body text's size.

A graph's picture is wider than a page (the task-6 network is 1,500 pt wide; shrunk to a landscape page its
labels print at 5 pt). The printed sheet shows it in strips instead: the picture (an SVG as Graphviz draws it)
is cut at gaps between its labels and gates, each strip the same SVG with a narrower ``viewBox`` (as high as
what is drawn in it), so no label or gate is cut in two.

>>> svg = ('<svg width="300pt" height="50pt" viewBox="0.00 0.00 300.00 50.00"><g id="graph0" class="graph" '
...        'transform="scale(1 1) rotate(0) translate(0 50)"><text x="10" font-size="10">abc</text>'
...        '<text x="200" font-size="10">xyz</text></g></svg>')
>>> [re.search(r'viewBox="([-\d.]+) [-\d.]+ ([\d.]+)', s).groups() for s in strips(svg, 160)]  # left, width
[('0.00', '150.00'), ('150.00', '150.00')]
>>> strips(svg, 400) is None
True
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter

#: Body text of the sheets (pt) and the share of a label's size it may shrink to: labels print at least this big.
BODY_PT = 11.0
_ROOT = re.compile(r'<svg\b[^>]*?\bviewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)"[^>]*>')
_TRANSLATE = re.compile(r'<g id="graph0"[^>]*translate\(([-\d.]+)[ ,]([-\d.]+)\)')
_TEXT = re.compile(r"<text\b([^>]*)>([^<]*)</text>")
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')
_ELLIPSE = re.compile(r'<ellipse\b[^>]*?\bcx="([-\d.]+)"[^>]*?\bcy="([-\d.]+)"[^>]*?\brx="([\d.]+)"[^>]*?'
                      r'\bry="([\d.]+)"')
_PATH = re.compile(r'<path\b[^>]*?\bd="([^"]+)"')
_POLY = re.compile(r'<polygon\b[^>]*?\bpoints="([^"]+)"')
_NUM = re.compile(r"-?\d+(?:\.\d+)?")


def label_size(svg: str) -> float | None:
    """The size of most of the picture's text (pt), or None when it has none."""
    sizes = Counter(float(m) for m in re.findall(r'font-size="([\d.]+)"', svg))
    return sizes.most_common(1)[0][0] if sizes else None


def width(svg: str) -> float | None:
    """The picture's width in its own units (Graphviz: pt), from its ``viewBox``."""
    m = _ROOT.search(svg)
    return float(m.group(3)) if m else None


Box = tuple[float, float, float, float]  # x0, x1, y0, y1 in the root's units


def _boxes(svg: str, dx: float, dy: float) -> list[Box]:
    """Where a label, a gate or an arrowhead is drawn (root units): nothing of these may be cut."""
    boxes: list[Box] = []
    for attrs, text in _TEXT.findall(svg):
        a = dict(_ATTR.findall(attrs))
        try:
            x, y, size = float(a.get("x", "0")), float(a.get("y", "0")), float(a.get("font-size", "14"))
        except ValueError:
            continue
        w = 0.62 * size * len(html.unescape(text))
        anchor = a.get("text-anchor", "start")
        left = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
        boxes.append((left + dx - 2, left + w + dx + 2, y + dy - size, y + dy + size * 0.3))
    for cx, cy, rx, ry in _ELLIPSE.findall(svg):
        x, y, rx_, ry_ = float(cx) + dx, float(cy) + dy, float(rx), float(ry)
        boxes.append((x - rx_, x + rx_, y - ry_, y + ry_))
    for points in _POLY.findall(svg)[1:]:  # the first is the picture's background
        nums = [float(v) for v in _NUM.findall(points)]
        xs, ys = nums[0::2], nums[1::2]
        if xs and ys:
            boxes.append((min(xs) + dx, max(xs) + dx, min(ys) + dy, max(ys) + dy))
    return boxes


def _path_points(svg: str, dx: float, dy: float) -> list[tuple[float, float]]:
    """The points of the wires (root units)."""
    out = []
    for d in _PATH.findall(svg):
        nums = [float(v) for v in _NUM.findall(d)]
        out += [(x + dx, y + dy) for x, y in zip(nums[0::2], nums[1::2])]
    return out


def _rows(boxes: list[Box], points: list[tuple[float, float]], a: float, b: float,
          y0: float, h: float) -> tuple[float, float]:
    """The y range of what is drawn between x = a and x = b, with a margin, within the picture's."""
    ys = [y for x0, x1, t, u in boxes if x1 > a and x0 < b for y in (t, u)]
    ys += [y for x, y in points if a <= x <= b]
    if not ys:
        return y0, h
    top, bottom = max(y0, min(ys) - 8), min(y0 + h, max(ys) + 8)
    return top, bottom - top


def _gaps(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The x ranges between the merged ``spans`` (where nothing is drawn)."""
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    if not merged:
        return [(-math.inf, math.inf)]
    inner = [(merged[i][1], merged[i + 1][0]) for i in range(len(merged) - 1)]
    return [(-math.inf, merged[0][0]), *inner, (merged[-1][1], math.inf)]


def _cut(gaps: list[tuple[float, float]], lo: float, hi: float, target: float) -> float | None:
    """The place in (lo, hi] nearest ``target`` where nothing is drawn, if any."""
    best = None
    for g0, g1 in gaps:
        x = min(max(target, g0), g1, hi)
        if lo < x and g0 <= x <= g1 and (best is None or abs(x - target) < abs(best - target)):
            best = x
    return best


def strips(svg: str, max_width: float) -> list[str] | None:
    """The picture as strips at most ``max_width`` wide (its own units), cut where nothing is drawn; None when it
    is no wider than that (or is not a picture this can cut)."""
    m = _ROOT.search(svg)
    if m is None:
        return None
    x0, y0, w, h = (float(g) for g in m.groups())
    if w <= max_width or max_width <= 0:
        return None
    t = _TRANSLATE.search(svg)
    dx, dy = (float(t.group(1)), float(t.group(2))) if t else (0.0, 0.0)
    boxes = _boxes(svg, dx, dy)
    gaps = _gaps([(b[0], b[1]) for b in boxes])
    cuts = [x0]
    end = x0 + w
    while end - cuts[-1] > max_width:
        lo, hi = cuts[-1], cuts[-1] + max_width
        left = math.ceil((end - lo) / max_width)  # strips still to make
        gap = _cut(gaps, lo + max_width * 0.25, hi, lo + (end - lo) / left)
        cuts.append(gap if gap is not None else hi)
    cuts.append(x0 + w)
    head = m.group(0)
    out = []
    points = _path_points(svg, dx, dy)
    for a, b in zip(cuts, cuts[1:]):
        top, tall = _rows(boxes, points, a, b, y0, h)
        new = re.sub(r'viewBox="[^"]*"', f'viewBox="{a:.2f} {top:.2f} {b - a:.2f} {tall:.2f}"', head)
        new = re.sub(r'\bwidth="[^"]*"', f'width="{b - a:.2f}pt"', new, count=1)
        new = re.sub(r'\bheight="[^"]*"', f'height="{tall:.2f}pt"', new, count=1)
        out.append(svg.replace(head, new, 1))
    return out


def print_strips(svg: str, text_width_pt: float, body_pt: float = BODY_PT) -> list[tuple[str, float]] | None:
    """The strips of a picture for a page whose text is ``text_width_pt`` wide, each with its printed width (pt),
    so that most of its labels print at ``body_pt`` or more; None when the whole picture already does."""
    size = label_size(svg)
    w = width(svg)
    if size is None or w is None:
        return None
    scale = min(1.0, body_pt / size) if size else 1.0
    if w * scale <= text_width_pt:
        return None
    parts = strips(svg, text_width_pt / scale)
    if not parts:
        return None
    return [(p, (width(p) or 0.0) * scale) for p in parts]


__all__ = ["strips", "print_strips", "label_size", "width", "BODY_PT"]
