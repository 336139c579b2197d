"""Geometry of the server-rendered SVG charts (sparkline, line, bar, stacked band bar).

Pure functions from data to coordinates, so the charts are tested by numbers worked out
by hand; the templates in `templates/components/` only draw what these return. Values
may be Decimal or int; coordinates are floats rounded to 0.1 px (geometry, not money).
"""

import math
from collections.abc import Callable, Sequence
from decimal import Decimal

Number = int | float | Decimal


def _round(value: float) -> float:
    return round(value + 0.0, 1)


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^n at or above `value` (1 for nothing to show)."""
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent + 1e-9 * exponent:
            return float(step * exponent)
    return float(10 * exponent)  # pragma: no cover - the loop always returns


def compact_number(value: Number) -> str:
    """12 -> "12", 1500 -> "1.5k", 2500000 -> "2.5M": axis labels, not figures."""
    value = float(value)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            text = f"{value / threshold:.1f}".rstrip("0").rstrip(".")
            return text + suffix
    if value == int(value):
        return str(int(value))
    return f"{value:.1f}"


def sparkline(values: Sequence[Number | None], *, width=120, height=28, pad=2) -> dict:
    """Polyline segments of a sparkline; a missing value (None) breaks the line.

    x spreads the values evenly between `pad` and `width - pad`; y maps the lowest
    value to `height - pad` and the highest to `pad` (a flat series sits in the middle).
    """
    present = [float(v) for v in values if v is not None]
    segments: list[list[tuple[float, float]]] = []
    if not present:
        return {"width": width, "height": height, "segments": [], "last": None}
    low, high = min(present), max(present)
    n = len(values)
    span_x = width - 2 * pad
    span_y = height - 2 * pad
    current: list[tuple[float, float]] = []
    last = None
    for i, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        x = width / 2 if n == 1 else pad + i * span_x / (n - 1)
        y = height / 2 if high == low else pad + span_y * (1 - (float(value) - low) / (high - low))
        last = (_round(x), _round(y))
        current.append(last)
    if current:
        segments.append(current)
    return {
        "width": width,
        "height": height,
        "segments": [" ".join(f"{x},{y}" for x, y in seg) for seg in segments],
        "dots": [seg[0] for seg in segments if len(seg) == 1],
        "last": last,
    }


def _axis(max_value: float, *, top: float, plot_height: float, fmt, ticks=4):
    ceiling = nice_ceiling(max_value)
    lines = []
    for i in range(ticks + 1):
        value = ceiling * i / ticks
        y = top + plot_height * (1 - i / ticks)
        lines.append({"y": _round(y), "label": fmt(value)})
    return ceiling, lines


def line_chart(
    points: Sequence[tuple[str, Number | None]],
    *,
    width=900,
    height=220,
    margin=(12, 28, 28, 52),
    fmt: Callable[[Number], str] = compact_number,
    max_x_labels=7,
) -> dict:
    """A line over labelled points, y from 0 to a nice ceiling, 4 grid lines.

    `margin` is (top, right, bottom, left). Point i of n sits at
    x = left + i * plot_width / (n - 1); y = top + plot_height * (1 - value / ceiling).
    At most `max_x_labels` x labels are shown, evenly picked, always the last.
    """
    top, right, bottom, left = margin
    plot_w = width - left - right
    plot_h = height - top - bottom
    values = [float(v) for _, v in points if v is not None]
    ceiling, grid = _axis(max(values, default=0), top=top, plot_height=plot_h, fmt=fmt)
    n = len(points)
    coords = []
    for i, (label, value) in enumerate(points):
        x = left + (plot_w / 2 if n == 1 else i * plot_w / (n - 1))
        y = None if value is None else top + plot_h * (1 - float(value) / ceiling)
        coords.append(
            {
                "x": _round(x),
                "y": None if y is None else _round(y),
                "label": label,
                "value": value,
            }
        )
    every = max(1, math.ceil(n / max_x_labels))
    x_labels = [c for i, c in enumerate(coords) if (n - 1 - i) % every == 0]
    drawn = [c for c in coords if c["y"] is not None]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - bottom,
        "grid": grid,
        "points": coords,
        "polyline": " ".join(f"{c['x']},{c['y']}" for c in drawn),
        "x_labels": x_labels,
        "label_y": height - bottom + 16,
    }


def bar_chart(
    items: Sequence[tuple[str, Number]],
    *,
    width=900,
    height=160,
    margin=(12, 28, 28, 52),
    fmt: Callable[[Number], str] = compact_number,
    gap=0.3,
    max_x_labels=12,
    max_bar=None,
) -> dict:
    """Vertical bars: each of n items gets a slot of plot_width / n; the bar fills
    (1 - gap) of it (at most `max_bar` px), centred; its height is
    plot_height * value / ceiling."""
    top, right, bottom, left = margin
    plot_w = width - left - right
    plot_h = height - top - bottom
    ceiling, grid = _axis(
        max((float(v) for _, v in items), default=0), top=top, plot_height=plot_h, fmt=fmt
    )
    n = len(items)
    slot = plot_w / n if n else plot_w
    bar_w = slot * (1 - gap)
    if max_bar is not None:
        bar_w = min(bar_w, max_bar)
    every = max(1, math.ceil(n / max_x_labels))
    bars = []
    for i, (label, value) in enumerate(items):
        h = plot_h * float(value) / ceiling
        bars.append(
            {
                "x": _round(left + i * slot + (slot - bar_w) / 2),
                "y": _round(top + plot_h - h),
                "width": _round(bar_w),
                "height": _round(h),
                "center": _round(left + i * slot + slot / 2),
                "label": label,
                "value": value,
                "show_label": (n - 1 - i) % every == 0,
            }
        )
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - bottom,
        "grid": grid,
        "bars": bars,
        "label_y": height - bottom + 16,
    }


def stacked_bar(segments: Sequence[tuple[str, Number, str]], *, width=240, height=14) -> dict:
    """One bar split into segments (label, value, css class) in proportion to value.

    Segment i starts where i - 1 ended; its width is width * value / total. Shares are
    percentages rounded to whole numbers for the legend. A total of 0 draws no segment.
    """
    total = sum(float(v) for _, v, _ in segments)
    parts = []
    x = 0.0
    for label, value, css in segments:
        share = float(value) / total if total else 0.0
        w = width * share
        parts.append(
            {
                "x": _round(x),
                "width": _round(w),
                "label": label,
                "value": value,
                "css": css,
                "percent": round(share * 100),
            }
        )
        x += w
    return {"width": width, "height": height, "segments": parts, "total": total}
