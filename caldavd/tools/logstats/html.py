"""The HTML report of ``caldavd-logstats --html``: one self-contained page.

Inline CSS and SVG charts drawn here, the same tables as the text report, and
nothing else: no script, no web font, no image, no link.  The page has to open
the same from a mail attachment or on an admin machine without network, and a
request line or user-agent in the log (which anyone can send) is only ever
text, escaped, never markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from caldavd.tools.logstats.tally import STATUS_CLASSES, Stats, Tally, by_count
from caldavd.tools.logstats.text import (
    Table,
    bucket_methods,
    bucket_time,
    summary_lines,
    tables,
    time_text,
)

WIDTH = 960
HEIGHT = 300
LEFT = 64
RIGHT = 16
TOP = 36
BOTTOM = 44
LEGEND_ITEM = 130
TOP_OPS = 12
MAX_CHART_BUCKETS = 2000
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")
STATUS_COLOURS = {"1xx": "#bab0ac", "2xx": "#59a14f", "3xx": "#4e79a7", "4xx": "#f28e2b",
                  "5xx": "#e15759"}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em;
       color: #222; background: #fff; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
p.summary { margin: .2em 0; }
figure { margin: 1.5em 0; } figcaption { font-weight: 600; margin-bottom: .3em; }
svg { max-width: 100%; height: auto; font-size: 11px; }
svg text { fill: #333; } svg .grid { stroke: #e4e4e4; } svg .axis { stroke: #888; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .9em; }
th, td { padding: .2em .7em; border-bottom: 1px solid #e4e4e4; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap { word-break: break-all; max-width: 40em; }
"""


@dataclass(frozen=True, slots=True)
class Series:
    """One named line or stack of a chart; ``None`` where it has no value."""

    name: str
    values: Sequence[float | None]
    colour: str


def render_html(stats: Stats) -> str:
    """The whole page."""
    body = ["<h1>caldavd access logs</h1>"]
    body += [f'<p class="summary">{escape(line)}</p>' for line in summary_lines(stats)]
    body += [requests_chart(stats), p95_chart(stats), status_chart(stats), ops_chart(stats)]
    body += [table_html(table) for table in tables(stats)]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>caldavd access logs</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n" + "\n".join(body)
            + "\n</body>\n</html>\n")


# -- the charts ----------------------------------------------------------------

def _chart_starts(stats: Stats) -> tuple[list[int], list[str]]:
    """Every bucket from the first to the last, empty ones too, so that the x axis
    is time; a span of too many buckets to draw shows only the ones with requests."""
    present = sorted(stats.buckets)
    step = stats.bucket_seconds
    starts = present
    if present and (present[-1] - present[0]) // step < MAX_CHART_BUCKETS:
        starts = list(range(present[0], present[-1] + 1, step))
    return starts, [time_text(bucket_time(s), step) for s in starts]


def _chart_buckets(stats: Stats) -> tuple[list[Tally], list[str]]:
    starts, labels = _chart_starts(stats)
    return [stats.buckets.get(s, Tally()) for s in starts], labels


def requests_chart(stats: Stats) -> str:
    buckets, labels = _chart_buckets(stats)
    methods = bucket_methods(stats)
    series = [Series(method, [tally.methods.get(method, 0) for tally in buckets],
                     PALETTE[i % len(PALETTE)]) for i, method in enumerate(methods)]
    other = [tally.requests - sum(tally.methods.get(m, 0) for m in methods)
             for tally in buckets]
    if any(other):
        series.append(Series("other", other, PALETTE[-1]))
    return figure(f"Requests per {stats.bucket} bucket, by method",
                  stacked_bars(labels, series, "requests"))


def p95_chart(stats: Stats) -> str:
    starts, labels = _chart_starts(stats)
    series = []
    for i, host in enumerate(stats.host_names()):
        values = []
        for start in starts:
            tally = stats.bucket_hosts.get((start, host))
            values.append(None if tally is None else tally.latency.percentile(0.95))
        series.append(Series(host, values, PALETTE[i % len(PALETTE)]))
    return figure(f"p95 latency per {stats.bucket} bucket, by host (ms)",
                  line_chart(labels, series, "ms"))


def status_chart(stats: Stats) -> str:
    buckets, labels = _chart_buckets(stats)
    classes = [tally.status_classes() for tally in buckets]
    series = [Series(name, [counts.get(name, 0) for counts in classes], STATUS_COLOURS[name])
              for name in STATUS_CLASSES if any(counts.get(name) for counts in classes)]
    return figure(f"Status classes per {stats.bucket} bucket",
                  stacked_bars(labels, series, "requests"))


def ops_chart(stats: Stats) -> str:
    ops = by_count(stats.overall.ops)[:TOP_OPS]
    return figure(f"Top {len(ops)} operations by requests",
                  bar_list([(op, float(count)) for op, count in ops], "requests"))


def figure(caption: str, svg: str) -> str:
    return f"<figure>\n<figcaption>{escape(caption)}</figcaption>\n{svg}\n</figure>"


# -- SVG drawing ---------------------------------------------------------------

def nice_ceiling(value: float) -> float:
    """The axis maximum: 1, 2, 4 or 8 times a power of ten, at least ``value``, so
    that its quarters (the grid lines) are round too."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 4.0, 8.0, 10.0):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10.0 * power


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{round(value, 2):g}"


def _svg(height: int, label: str, parts: list[str]) -> str:
    return (f'<svg viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
            f'role="img" aria-label="{escape(label)}">\n' + "\n".join(parts) + "\n</svg>")


def _legend(series: Sequence[Series]) -> list[str]:
    per_row = max((WIDTH - LEFT - RIGHT) // LEGEND_ITEM, 1)
    parts = []
    for i, item in enumerate(series):
        x = LEFT + (i % per_row) * LEGEND_ITEM
        y = 8 + (i // per_row) * 16
        parts.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{item.colour}"/>'
                     f'<text x="{x + 14}" y="{y + 9}">{escape(item.name[:18])}</text>')
    return parts


def _legend_height(series: Sequence[Series]) -> int:
    per_row = max((WIDTH - LEFT - RIGHT) // LEGEND_ITEM, 1)
    return max(math.ceil(len(series) / per_row), 1) * 16


def _frame(top: int, height: int, labels: Sequence[str], maximum: float,
           unit: str) -> list[str]:
    """Grid lines with their values, and every so many bucket labels below."""
    bottom = top + height
    parts = []
    for i in range(5):
        y = bottom - height * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
                     f'y2="{y:.1f}"/><text x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_number(maximum * i / 4)}</text>')
    parts.append(f'<text x="12" y="{top + height / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 12 {top + height / 2:.1f})">{escape(unit)}</text>')
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    step = max(math.ceil(len(labels) / 8), 1)
    for i in range(0, len(labels), step):
        x = LEFT + slot * (i + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">'
                     f'{escape(labels[i])}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" '
                 f'y2="{bottom}"/>')
    return parts


def stacked_bars(labels: Sequence[str], series: Sequence[Series], unit: str) -> str:
    """One bar per label, the series stacked in order from the bottom."""
    top = TOP + _legend_height(series) - 16
    height = HEIGHT - top - BOTTOM
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    maximum = nice_ceiling(max([*totals, 4]))  # counts: whole numbers on the grid
    parts = _legend(series) + _frame(top, height, labels, maximum, unit)
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    width = max(slot * 0.8, 1.0)
    for i, label in enumerate(labels):
        base = 0.0
        x = LEFT + slot * i + (slot - width) / 2
        for item in series:
            value = item.values[i] or 0
            if not value:
                continue
            y = top + height - (base + value) / maximum * height
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                         f'height="{value / maximum * height:.1f}" fill="{item.colour}">'
                         f'<title>{escape(label)} {escape(item.name)}: {_number(value)}'
                         f'</title></rect>')
            base += value
    return _svg(HEIGHT, unit, parts)


def line_chart(labels: Sequence[str], series: Sequence[Series], unit: str) -> str:
    """A line per series through the labels it has a value for (gaps stay gaps)."""
    top = TOP + _legend_height(series) - 16
    height = HEIGHT - top - BOTTOM
    maximum = nice_ceiling(max((v for s in series for v in s.values if v is not None),
                               default=0))
    parts = _legend(series) + _frame(top, height, labels, maximum, unit)
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    radius = 2.5 if len(labels) <= 96 else 1.2
    for item in series:
        points: list[str] = []
        for i, value in enumerate(item.values):
            if value is None:
                parts.append(_polyline(points, item.colour))
                points = []
                continue
            x, y = LEFT + slot * (i + 0.5), top + height - value / maximum * height
            points.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{item.colour}">'
                         f'<title>{escape(item.name)} {escape(labels[i])}: {value:,.1f} '
                         f'{escape(unit)}</title></circle>')
        parts.append(_polyline(points, item.colour))
    return _svg(HEIGHT, unit, [part for part in parts if part])


def _polyline(points: list[str], colour: str) -> str:
    if len(points) < 2:
        return ""
    return (f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
            f'stroke-width="1.5"/>')


def bar_list(items: Sequence[tuple[str, float]], unit: str) -> str:
    """Horizontal bars, one per named item, largest first as given."""
    row = 20
    label_width = 220
    height = TOP + row * max(len(items), 1) + 8
    maximum = max((value for _, value in items), default=0) or 1.0
    span = WIDTH - label_width - RIGHT - 70
    parts = []
    for i, (name, value) in enumerate(items):
        y = TOP - 20 + i * row
        length = value / maximum * span
        parts.append(f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">'
                     f'{escape(name[:36])}</text>'
                     f'<rect x="{label_width}" y="{y + 3}" width="{max(length, 1):.1f}" '
                     f'height="{row - 6}" fill="{PALETTE[0]}"><title>{escape(name)}: '
                     f'{_number(value)} {escape(unit)}</title></rect>'
                     f'<text x="{label_width + length + 6:.1f}" y="{y + 13}">'
                     f'{_number(value)}</text>')
    return _svg(height, unit, parts)


# -- the tables ----------------------------------------------------------------

def table_html(table: Table) -> str:
    """A report table; numeric columns right-aligned, long text allowed to wrap."""
    head = "".join(f'<th{_class(table, i)}>{escape(name)}</th>'
                   for i, name in enumerate(table.columns))
    rows = ["<tr>" + "".join(f"<td{_class(table, i, cell)}>{escape(cell)}</td>"
                             for i, cell in enumerate(row)) + "</tr>" for row in table.rows]
    if not rows:
        rows = [f'<tr><td colspan="{len(table.columns)}">(none)</td></tr>']
    return (f"<h2>{escape(table.title)}</h2>\n<table>\n<thead><tr>{head}</tr></thead>\n"
            "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>")


def _class(table: Table, column: int, cell: str = "") -> str:
    if column in table.numeric:
        return ' class="n"'
    if len(cell) > 40:
        return ' class="wrap"'
    return ""
