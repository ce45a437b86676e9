"""The timeline chart's geometry: a line at today when it falls on the axis, and a flagged bar drawn after (so on
top of) the bars it overlaps."""

import datetime as dt

from umbrella.ui.charts import Span, TimelineRow, timeline

DAY = dt.date(2026, 3, 10)


def test_today_is_drawn_only_when_it_falls_on_the_axis_and_after_the_first_month_started():
    rows = [TimelineRow("A", [Span(dt.date(2026, 2, 1), dt.date(2026, 4, 20), "course")], [])]
    chart = timeline("t", rows, today=DAY)
    assert len(chart.ticks) == 3  # February, March and April
    _february, first_of_march, first_of_april = chart.ticks
    assert first_of_march < chart.today_x < first_of_april
    assert timeline("t", rows, today=dt.date(2027, 1, 1)).today_x is None
    assert timeline("t", rows).today_x is None


def test_a_flagged_bar_is_drawn_after_the_bars_of_its_row():
    late = Span(dt.date(2026, 2, 1), dt.date(2026, 3, 1), "late course", "crews late by 9 days")
    plain = Span(dt.date(2026, 2, 5), dt.date(2026, 3, 5), "other course")
    (row,) = timeline("t", [TimelineRow("A", [late, plain], [])]).rows
    assert [span.text for span in row.spans] == ["other course", "late course"]
