"""The run report's charts are SVG drawn on the server: scaled to their data, with a title and description for
screen readers, every text escaped, and no inline style or script (the console's CSP forbids both)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from dunning.console.charts import Bar, Segment, StackedBar, bar_chart, funnel_chart, stacked_bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def test_a_bar_chart_draws_one_bar_per_row_scaled_to_the_largest_value():
    svg = parse(bar_chart("c", "Contacts", "by action", [Bar(label="Letter", value=20), Bar(label="Email", value=5)]))
    widths = [float(r.get("width", 0)) for r in svg.iter(f"{SVG}rect")]
    assert len(widths) == 2
    assert abs(widths[0] / widths[1] - 4) < 0.01
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts == ["Letter", "20", "Email", "5"]


def test_every_chart_has_a_title_and_a_description_it_is_labelled_by():
    svg = parse(funnel_chart("f", "Accounts through the run", "49 scanned", [Bar(label="Scanned", value=49)]))
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "f-title f-desc"
    assert svg.find(f"{SVG}title").text == "Accounts through the run"
    assert svg.find(f"{SVG}desc").text == "49 scanned"


def test_labels_are_escaped_so_data_cannot_inject_markup():
    markup = str(bar_chart("x", "<script>", "a & b", [Bar(label='<img src=x onerror="1">', value=1)]))
    assert "<script>" not in markup and "<img" not in markup
    assert "&lt;script&gt;" in markup and "&amp;" in markup
    parse(markup)  # still well-formed


def test_charts_carry_no_inline_style_or_script():
    markup = str(stacked_bar_chart("t", "Batch timings", "ms", [StackedBar(label="Batch 0", segments=[
        Segment(name="Evaluate", value=10, css="seg-evaluate"), Segment(name="Create", value=30, css="seg-contacts")])],
        [Segment(name="Evaluate", value=0, css="seg-evaluate")]))
    assert not re.search(r"\sstyle=|<style|<script|\son\w+=", markup)


def test_a_funnel_centres_each_stage_on_one_axis():
    svg = parse(funnel_chart("f", "t", "d", [Bar(label="A", value=100), Bar(label="B", value=50, indent=True)]))
    rects = list(svg.iter(f"{SVG}rect"))
    centres = {round(float(r.get("x")) + float(r.get("width")) / 2, 1) for r in rects}
    assert len(centres) == 1
    assert "sub" in next(t for t in svg.iter(f"{SVG}text") if t.text == "B").get("class")


def test_a_stacked_bar_is_as_long_as_its_segments_together():
    row = StackedBar(label="Batch 1", segments=[Segment(name="a", value=30, css="x"),
                                                Segment(name="b", value=10, css="y")])
    longest = StackedBar(label="Batch 2", segments=[Segment(name="a", value=80, css="x")])
    svg = parse(stacked_bar_chart("s", "t", "d", [row, longest], []))
    widths = [float(r.get("width")) for r in svg.iter(f"{SVG}rect")]
    assert abs((widths[0] + widths[1]) / widths[2] - 0.5) < 0.01


def test_an_empty_chart_still_renders_with_its_title():
    svg = parse(bar_chart("e", "Nothing", "no data", []))
    assert svg.find(f"{SVG}title").text == "Nothing"
    assert list(svg.iter(f"{SVG}rect")) == []
