"""Chart geometry against coordinates worked out by hand, and the rendered SVG's
accessibility (title, desc, role, text alternative)."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from accounts.web import charts


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 1), (-3, 1), (7, 10), (12, 20), (21, 25), (100, 100), (0.3, 0.5), (45_000, 50_000)],
)
def test_nice_ceiling(value, expected):
    assert charts.nice_ceiling(value) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [(12, "12"), (1500, "1.5k"), (1000, "1k"), (2_500_000, "2.5M"), (Decimal("0.5"), "0.5")],
)
def test_compact_number(value, text):
    assert charts.compact_number(value) == text


def test_sparkline_maps_lowest_to_bottom_and_highest_to_top():
    g = charts.sparkline([0, 5, 10], width=100, height=20, pad=0)
    # x: 0, 100/2, 100; y: 20 - 20 * (v - 0) / 10.
    assert g["segments"] == ["0.0,20.0 50.0,10.0 100.0,0.0"]
    assert g["last"] == (100.0, 0.0)


def test_sparkline_with_padding_and_a_flat_series():
    g = charts.sparkline([Decimal(3), Decimal(3), Decimal(3)], width=104, height=24, pad=2)
    # x from 2 to 102 in steps of 50; a flat series sits at half height.
    assert g["segments"] == ["2.0,12.0 52.0,12.0 102.0,12.0"]


def test_sparkline_breaks_at_missing_values():
    g = charts.sparkline([1, None, 3], width=100, height=20, pad=0)
    assert g["segments"] == ["0.0,20.0", "100.0,0.0"]
    assert g["dots"] == [(0.0, 20.0), (100.0, 0.0)]


def test_sparkline_of_nothing_draws_nothing():
    assert charts.sparkline([None, None])["segments"] == []


def test_line_chart_geometry():
    g = charts.line_chart(
        [("a", 0), ("b", 50), ("c", Decimal(100))], width=200, height=100, margin=(10, 10, 20, 40)
    )
    # Plot area 150 x 70 from (40, 10); ceiling 100.
    assert [(p["x"], p["y"]) for p in g["points"]] == [(40.0, 80.0), (115.0, 45.0), (190.0, 10.0)]
    assert g["polyline"] == "40.0,80.0 115.0,45.0 190.0,10.0"
    assert [(line["y"], line["label"]) for line in g["grid"]] == [
        (80.0, "0"),
        (62.5, "25"),
        (45.0, "50"),
        (27.5, "75"),
        (10.0, "100"),
    ]
    assert g["label_y"] == 96


def test_line_chart_thins_x_labels_and_keeps_the_last():
    points = [(str(i), i) for i in range(13)]
    g = charts.line_chart(points, max_x_labels=7)
    # Every second label, counted back from the last one.
    assert [p["label"] for p in g["x_labels"]] == ["0", "2", "4", "6", "8", "10", "12"]


def test_bar_chart_geometry():
    g = charts.bar_chart(
        [("a", 10), ("b", 20)], width=200, height=100, margin=(10, 10, 20, 40), gap=0.2
    )
    # Slots of 75 px from x=40; bars 60 px wide, centred; ceiling 20 over a 70 px plot.
    a, b = g["bars"]
    assert (a["x"], a["y"], a["width"], a["height"]) == (47.5, 45.0, 60.0, 35.0)
    assert (b["x"], b["y"], b["width"], b["height"]) == (122.5, 10.0, 60.0, 70.0)
    assert (a["center"], b["center"]) == (77.5, 152.5)


def test_bar_chart_caps_the_bar_width():
    g = charts.bar_chart(
        [("a", 10)], width=200, height=100, margin=(10, 10, 20, 40), gap=0.2, max_bar=30
    )
    # One 150 px slot: the bar is 30 px wide, centred at 40 + 75.
    (a,) = g["bars"]
    assert (a["x"], a["width"], a["center"]) == (100.0, 30.0, 115.0)


def test_stacked_bar_geometry():
    g = charts.stacked_bar([("Green", 1, "green"), ("Red", 3, "red")], width=200)
    assert [(s["x"], s["width"], s["percent"]) for s in g["segments"]] == [
        (0.0, 50.0, 25),
        (50.0, 150.0, 75),
    ]


def test_stacked_bar_of_zero_total():
    g = charts.stacked_bar([("Green", 0, "green")], width=200)
    assert g["total"] == 0
    assert g["segments"][0]["width"] == 0


def render(source, **context):
    return Template("{% load charts %}" + source).render(Context(context))


def test_line_chart_renders_accessible_svg_with_a_data_table():
    html = render(
        '{% line_chart points title="ARR trend" desc="ARR at month ends" %}',
        points=[("Jan", 10), ("Feb", 20)],
    )
    assert 'role="img"' in html
    assert "<title id=" in html and "ARR trend</title>" in html
    assert "ARR at month ends</desc>" in html
    assert "aria-labelledby=" in html
    assert '<td>Feb</td><td class="num">20</td>' in html


def test_bar_chart_and_sparkline_and_stacked_bar_render():
    html = render('{% bar_chart items title="Weekly" %}', items=[("w1", 3)])
    assert '<rect class="bar"' in html and "Weekly</title>" in html
    html = render('{% sparkline values "Health" %}', values=[40, 55, 70])
    assert 'aria-label="Health: from 40 to 70, low 40, high 70"' in html
    html = render(
        '{% stacked_band_bar segments title="Bands" %}',
        segments=[("Green", 2, "green"), ("Red", 2, "red")],
    )
    # The legend names each band in words: colour never carries meaning alone.
    assert "Green <strong>2</strong>" in html and "50%" in html
    assert 'aria-label="Bands: Green 2 (50%), Red 2 (50%)"' in html
