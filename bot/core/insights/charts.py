"""SVG charts for the report: plain markup, no script, no fonts or files to fetch.

Each function returns one <svg> element (markupsafe.Markup) sized by its viewBox, so the page
scales it. Every label is escaped here: gap samples are user text. The words (titles, legends)
come from the caller (the report's templates in responses/), never from this module.
"""

from __future__ import annotations

from typing import Sequence

from markupsafe import Markup, escape

PALETTE = ("#2e7d5b", "#e0a526", "#c2413b", "#7b8794", "#3b6fb6", "#8e5bb5")
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\""


def _nice_max(value: float, ticks: int = 4) -> float:
    """The top of an axis with `ticks` round steps (1, 2, 2.5 or 5 times a power of ten; whole
    numbers, since the axes count messages and errors) reaching `value`."""
    if value <= 0:
        return float(ticks)
    rough = value / ticks
    magnitude = 10 ** max(0, len(str(int(rough))) - 1) if rough >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if step == 2.5 and magnitude < 10:
            continue  # 2.5 only where it makes a whole number (25, 250...)
        if rough <= step * magnitude:
            return float(step * magnitude * ticks)
    return float(10 * magnitude * ticks)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def columns(title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
            percent: bool = False, chart_id: str = "chart") -> Markup:
    """Stacked columns, one per category (a week), one colour per series, with a legend.
    `percent`: one series of shares (0..1); a missing value (None) is drawn as a dash."""
    width, height = 720, 280
    left, right, top, bottom = 48, 16, 40, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(v or 0 for _, values in series for v in [values[i]]) for i in range(len(categories))]
    top_value = 1.0 if percent else _nice_max(max(totals, default=0))
    n = max(1, len(categories))
    slot = plot_w / n
    bar = min(56.0, slot * 0.62)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
           f'aria-labelledby="{chart_id}-title" class="chart" id="{escape(chart_id)}" {FONT} font-size="12">',
           f'<title id="{chart_id}-title">{escape(title)}</title>',
           f'<text x="{left}" y="18" font-size="14" font-weight="600" fill="#1d1d1f">{escape(title)}</text>']
    for k in range(5):  # grid lines and the value axis
        value = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        label = f"{value:.0%}" if percent else _number(value)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e5e8"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5f6368">{escape(label)}</text>')
    for i, category in enumerate(categories):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h
        drawn = False
        for s, (name, values) in enumerate(series):
            value = values[i]
            if value is None or value <= 0:
                continue
            h = plot_h * min(value, top_value) / top_value
            y -= h
            drawn = True
            shown = f"{value:.0%}" if percent else _number(value)
            out.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                       f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(category)}: {escape(name)} '
                       f'{escape(shown)}</title></rect>')
        if percent:
            value = series[0][1][i] if series else None
            label = "\u2013" if value is None else f"{value:.0%}"
            out.append(f'<text x="{x + bar / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle" fill="#1d1d1f">'
                       f'{escape(label)}</text>')
        elif drawn:
            out.append(f'<text x="{x + bar / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle" fill="#1d1d1f">'
                       f'{escape(_number(totals[i]))}</text>')
        out.append(f'<text x="{left + slot * i + slot / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                   f'fill="#5f6368">{escape(_shorten(category, 14))}</text>')
    if len(series) > 1 or not percent:
        x = left
        for s, (name, _) in enumerate(series):
            out.append(f'<rect x="{x}" y="{height - 16}" width="10" height="10" fill="{PALETTE[s % len(PALETTE)]}"/>')
            out.append(f'<text x="{x + 14}" y="{height - 7}" fill="#1d1d1f">{escape(name)}</text>')
            x += 24 + 7 * len(name)
    out.append("</svg>")
    return Markup("".join(out))


def bars(title: str, labels: Sequence[str], values: Sequence[float], *, chart_id: str = "chart",
         colour: str = PALETTE[4], label_chars: int = 48) -> Markup:
    """Horizontal bars, one per label, with the value at the end of each."""
    row = 26
    left, right, top = 300, 56, 36
    width = 720
    height = top + row * max(1, len(labels)) + 12
    top_value = _nice_max(max(values, default=0))
    plot_w = width - left - right
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
           f'aria-labelledby="{chart_id}-title" class="chart" id="{escape(chart_id)}" {FONT} font-size="12">',
           f'<title id="{chart_id}-title">{escape(title)}</title>',
           f'<text x="8" y="18" font-size="14" font-weight="600" fill="#1d1d1f">{escape(title)}</text>']
    for i, (label, value) in enumerate(zip(labels, values)):
        y = top + row * i
        w = plot_w * value / top_value if top_value else 0
        out.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" fill="#1d1d1f">'
                   f'<title>{escape(label)}</title>{escape(_shorten(label, label_chars))}</text>')
        out.append(f'<rect class="bar" x="{left}" y="{y + 4}" width="{max(w, 1.5):.1f}" height="{row - 8}" '
                   f'fill="{colour}"/>')
        out.append(f'<text x="{left + w + 6:.1f}" y="{y + 16}" fill="#1d1d1f">{escape(_number(value))}</text>')
    out.append("</svg>")
    return Markup("".join(out))
