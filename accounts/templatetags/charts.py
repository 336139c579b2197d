"""Chart tags: `{% load charts %}` then `{% sparkline values label %}`, `{% line_chart %}`,
`{% bar_chart %}`, `{% stacked_band_bar %}`. Geometry comes from `accounts.web.charts`;
every chart has a <title>, a <desc>, role="img" and a data table as its text alternative.
"""

import itertools

from django import template

from accounts.web import charts

register = template.Library()

_ids = itertools.count(1)


# Data, not drawing: kept as they are for the text alternative and for tests in templates.
RAW = frozenset({"value", "total", "percent"})


def _svg(geometry):
    """Numbers of the drawing as plain strings ("47.5", "45"): a template would otherwise
    localise each coordinate, which costs more than drawing the chart. Data values
    (`value`) keep their type for the text alternative."""
    if isinstance(geometry, dict):
        return {k: v if k in RAW else _svg(v) for k, v in geometry.items()}
    if isinstance(geometry, list | tuple):
        return type(geometry)(_svg(v) for v in geometry)
    if isinstance(geometry, bool) or geometry is None:
        return geometry
    if isinstance(geometry, int | float):
        return f"{geometry:g}" if isinstance(geometry, float) else str(geometry)
    return geometry


def _chart_id(prefix: str) -> str:
    # Unique within a page, so aria-labelledby never points at another chart's title.
    return f"{prefix}-{next(_ids)}"


@register.inclusion_tag("components/sparkline.html")
def sparkline(values, label, width=120, height=28):
    """A tiny trend line. `label` says what it is ("Health, last 30 days")."""
    values = list(values)
    present = [v for v in values if v is not None]
    summary = (
        f"{label}: from {charts.compact_number(present[0])} to "
        f"{charts.compact_number(present[-1])}, low {charts.compact_number(min(present))}, "
        f"high {charts.compact_number(max(present))}"
        if present
        else f"{label}: no data"
    )
    return {"g": _svg(charts.sparkline(values, width=width, height=height)), "summary": summary}


@register.inclusion_tag("components/line_chart.html")
def line_chart(points, title, desc="", width=900, height=220):
    """`points`: [(label, value or None), ...] in order."""
    points = list(points)
    return {
        "g": _svg(charts.line_chart(points, width=width, height=height)),
        "title": title,
        "desc": desc,
        "id": _chart_id("line"),
    }


@register.inclusion_tag("components/bar_chart.html")
def bar_chart(items, title, desc="", width=900, height=160):
    """`items`: [(label, value), ...]."""
    items = list(items)
    return {
        # A few bars stay slim instead of filling the width.
        "g": _svg(charts.bar_chart(items, width=width, height=height, max_bar=56)),
        "title": title,
        "desc": desc,
        "id": _chart_id("bar"),
    }


@register.inclusion_tag("components/stacked_band_bar.html")
def stacked_band_bar(segments, title, width=240, height=14, legend=True):
    """`segments`: [(label, value, css class), ...]; the legend names every segment
    with its count and share, so colour is never the only carrier of meaning. Turn the
    legend off only where the same figures stand beside the bar (a table row)."""
    g = charts.stacked_bar(list(segments), width=width, height=height)
    parts = ", ".join(f"{s['label']} {s['value']} ({s['percent']}%)" for s in g["segments"])
    g = _svg(g)
    summary = f"{title}: {parts}" if parts else title
    return {"g": g, "title": title, "summary": summary, "legend": legend}
