"""Inline SVG charts: no JavaScript, readable offline and in print."""

from __future__ import annotations

from html import escape

from .data import Day, DriftPoint, RuleFailures

COLOURS = {"passed": "#2e7d32", "warned": "#f9a825", "pending": "#1565c0", "failed": "#c62828"}


def outcomes_over_time(days: list[Day], width: int = 720, height: int = 220) -> str:
    """Stacked bars: decisions per day by outcome."""
    if not days:
        return '<p class="empty">No decisions in this period.</p>'
    top = max(d.passed + d.warned + d.pending + d.failed for d in days) or 1
    plot_h, left, bottom = height - 40, 40, height - 24
    step = (width - left - 10) / len(days)
    bar = min(max(step * 0.7, 1.0), 48.0)
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Decisions per day by outcome" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{bottom - plot_h + 10}" font-size="11" text-anchor="end">{top}</text>',
        f'<text x="{left - 6}" y="{bottom}" font-size="11" text-anchor="end">0</text>',
    ]
    for i, d in enumerate(days):
        x, y = left + i * step + (step - bar) / 2, float(bottom)
        for outcome in ("passed", "warned", "pending", "failed"):
            n = getattr(d, outcome)
            if n:
                h = n / top * plot_h
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                    f'fill="{COLOURS[outcome]}"><title>{escape(d.day)}: {n} {outcome}</title></rect>'
                )
        if len(days) <= 16 or i % max(len(days) // 8, 1) == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 8}" font-size="10" '
                f'text-anchor="middle">{escape(d.day[5:])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def failures_by_rule(rules: list[RuleFailures], width: int = 720) -> str:
    """Horizontal bars: failures (and errors) per rule, most first."""
    if not rules:
        return '<p class="empty">No rule failed in this period.</p>'
    row, label = 24, 260
    height = row * len(rules) + 8
    top = max(r.failures for r in rules)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Failures by rule" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for i, r in enumerate(rules):
        y = 4 + i * row
        w = r.failures / top * (width - label - 60)
        name = escape(f"{r.policy}/{r.rule}")
        parts.append(f'<text x="{label - 8}" y="{y + 15}" font-size="12" text-anchor="end">{name}</text>')
        parts.append(
            f'<rect x="{label}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{COLOURS["failed"]}"><title>{name}: {r.failures}</title></rect>'
        )
        parts.append(f'<text x="{label + w + 6:.1f}" y="{y + 15}" font-size="12">{r.failures}</text>')
    parts.append("</svg>")
    return "".join(parts)


def drift_over_time(points: list[DriftPoint], width: int = 720, height: int = 140) -> str:
    """A line: the share of drifted columns at each re-check (0 to 100%)."""
    known = [(i, p) for i, p in enumerate(points) if p.share is not None]
    if not known:
        return '<p class="empty">No drift measured by these re-checks.</p>'
    left, bottom, top_y = 40, height - 20, 10
    step = (width - left - 10) / max(len(points) - 1, 1)
    xy = [(left + i * step, bottom - (p.share or 0.0) * (bottom - top_y)) for i, p in known]
    path = " ".join(f"{'M' if n == 0 else 'L'}{x:.1f},{y:.1f}" for n, (x, y) in enumerate(xy))
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Share of drifted columns per re-check" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{top_y + 4}" font-size="11" text-anchor="end">100%</text>',
        f'<text x="{left - 6}" y="{bottom}" font-size="11" text-anchor="end">0</text>',
        f'<path d="{path}" fill="none" stroke="{COLOURS["failed"]}" stroke-width="2"/>',
    ]
    for (x, y), (_, p) in zip(xy, known):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLOURS["failed"]}">'
            f"<title>{escape(p.time)}: {p.share:.0%} of columns drifted</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
