from decimal import Decimal

import pytest
from django.template import Context, Template

from rapport.core.charts import Chart, Series


def _chart(**kw):
    return Chart(
        key="by-stage",
        title="Pipeline by stage",
        labels=["Qualification", "<b>Proposal</b>"],
        series=[Series("Amount", [Decimal("1200.50"), None]), Series("Deals", [3, 0])],
        unit="EUR",
        **kw,
    )


def test_a_series_must_have_one_value_per_label():
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        Chart(key="x", title="x", labels=["a", "b", "c"], series=[Series("n", [1, 2])])


def test_the_table_beside_the_chart_has_the_exact_figures_and_the_drawing_gets_floats():
    chart = _chart()
    assert chart.rows() == [
        ("Qualification", [Decimal("1200.50"), 3]),
        ("<b>Proposal</b>", [None, 0]),
    ]
    assert chart.spec()["series"][0]["values"] == [1200.5, None]
    headers, rows = chart.csv_rows()
    assert headers == ["Pipeline by stage", "Amount", "Deals"]
    assert rows[0] == ["Qualification", Decimal("1200.50"), 3]


def test_the_chart_renders_a_canvas_its_data_as_inert_json_and_an_escaped_table():
    html = Template("{% load charts %}{% chart c %}").render(Context({"c": _chart()}))
    assert '<canvas role="img"' in html
    assert '<script id="chart-data-by-stage" type="application/json">' in html
    assert "<b>Proposal</b>" not in html  # escaped in the table and in the JSON
    assert "&lt;b&gt;Proposal&lt;/b&gt;" in html
    assert "\\u003Cb\\u003EProposal" in html
    assert "1200.50" in html


def test_an_empty_chart_says_so_and_draws_nothing():
    chart = Chart(key="e", title="Lost reasons", labels=[], series=[Series("Deals", [])])
    html = Template("{% load charts %}{% chart c %}").render(Context({"c": chart}))
    assert "Nothing to show yet." in html
    assert "<canvas" not in html


def test_a_series_with_a_tone_carries_it_to_the_drawing_and_others_take_the_palette():
    chart = Chart(
        key="goals",
        title="Goals",
        labels=["Desk"],
        series=[Series("Met", [3], tone="good"), Series("Breached", [1], tone="bad"), Series("n", [2])],
    )
    assert [s["tone"] for s in chart.spec()["series"]] == ["good", "bad", None]
