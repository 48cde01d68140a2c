"""Bar charts drawn on the server as inline SVG (the review view's CSP allows no script).

Every label is escaped; the charts carry a <title> for screen readers and each bar its value
as text, so nothing depends on colour alone."""
from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT = 560, 220
LEFT, BOTTOM, TOP = 36, 46, 14
PALETTE = {"queued": "#9aa5b1", "processing": "#7b8794", "review": "#e8a33d", "published": "#2f855a",
           "rejected": "#c53030", "refused": "#822727", "failed": "#553c9a"}
BAR = "#2b6cb0"
MAX_SPAN = 104     # a bar never wider than this (two bars must not fill the chart)
WIDE = 1160        # the per-day chart spans the page


def _axis(top: int, width: int = WIDTH) -> str:
    y0 = HEIGHT - BOTTOM
    return (f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{y0}" class="axis"/>'
            f'<line x1="{LEFT}" y1="{y0}" x2="{width - 4}" y2="{y0}" class="axis"/>'
            f'<text x="{LEFT - 6}" y="{TOP + 4}" class="tick" text-anchor="end">{top}</text>'
            f'<text x="{LEFT - 6}" y="{y0}" class="tick" text-anchor="end">0</text>')


def _frame(title: str, body: str, width: int = WIDTH) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" role="img" '
                  f'class="chart"><title>{escape(title)}</title>{body}</svg>')


def bars(title: str, data: list[tuple[str, int]]) -> Markup:
    """One bar per (label, value)."""
    top = max([v for _, v in data] + [1])
    span = min((WIDTH - LEFT - 8) / max(len(data), 1), MAX_SPAN)
    plot = HEIGHT - BOTTOM - TOP
    parts = [_axis(top)]
    for i, (label, value) in enumerate(data):
        h = plot * value / top
        x = LEFT + 4 + i * span
        y = HEIGHT - BOTTOM - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{span * 0.7:.1f}" height="{h:.1f}" fill="{BAR}">'
                     f'<title>{escape(label)}: {value}</title></rect>'
                     f'<text x="{x + span * 0.35:.1f}" y="{y - 3:.1f}" class="val" text-anchor="middle">{value}</text>'
                     f'<text x="{x + span * 0.35:.1f}" y="{HEIGHT - BOTTOM + 14}" class="tick" '
                     f'text-anchor="middle">{escape(label)}</text>')
    return _frame(title, "".join(parts))


def stacked(title: str, data: list[tuple[str, dict[str, int]]], names: dict[str, str]) -> Markup:
    """One stacked bar per (label, {series: value}); `names` are the series' shown names, in order."""
    top = max([sum(v.values()) for _, v in data] + [1])
    span = (WIDE - LEFT - 8) / max(len(data), 1)
    plot = HEIGHT - BOTTOM - TOP - 14
    parts = [_axis(top, WIDE)]
    for i, (label, values) in enumerate(data):
        x = LEFT + 4 + i * span
        y = HEIGHT - BOTTOM
        for series in names:
            value = values.get(series, 0)
            if not value:
                continue
            h = plot * value / top
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{span * 0.7:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE.get(series, BAR)}"><title>{escape(label)} {escape(names[series])}: '
                         f'{value}</title></rect>')
        total = sum(values.values())
        if total:
            parts.append(f'<text x="{x + span * 0.35:.1f}" y="{y - 3:.1f}" class="val" '
                         f'text-anchor="middle">{total}</text>')
        parts.append(f'<text x="{x + span * 0.35:.1f}" y="{HEIGHT - BOTTOM + 14}" class="tick" '
                     f'text-anchor="middle">{escape(label[5:])}</text>')
    lx = LEFT
    for series, name in names.items():
        parts.append(f'<rect x="{lx}" y="{HEIGHT - 16}" width="10" height="10" fill="{PALETTE.get(series, BAR)}"/>'
                     f'<text x="{lx + 14}" y="{HEIGHT - 7}" class="tick">{escape(name)}</text>')
        lx += 14 + sum(6 if ch.isascii() else 10 for ch in name) + 16
    return _frame(title, "".join(parts), WIDE)
