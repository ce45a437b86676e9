"""Charts drawn on the server as inline SVG: no script, no CDN, readable without the internet.

Each chart comes with its data as a table on the same page (the text alternative); each bar can take the
keyboard focus and names its label and value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

BAR_HEIGHT = 22
GAP = 6
LABEL_WIDTH = 220
VALUE_WIDTH = 190
PLOT_WIDTH = 480


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown
    marker: float | None = None  # a second value drawn as a tick (a target)
    marker_text: str = ""
    flag: str = ""  # what the bar is flagged with ("over capacity"): written beside it and drawn hatched, not by colour alone


@dataclass(frozen=True)
class DrawnBar:
    label: str
    text: str
    y: int
    width: float
    marker_x: float | None
    marker_text: str
    negative: bool
    flag: str = ""


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[DrawnBar]
    height: int
    width: int = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    label_width: int = LABEL_WIDTH
    plot_width: int = PLOT_WIDTH


def bar_chart(title: str, bars: list[Bar]) -> BarChart:
    """Horizontal bars scaled to the largest value (or marker); negative values are drawn as empty bars."""
    largest = max([abs(b.value) for b in bars] + [b.marker for b in bars if b.marker is not None] + [1e-12])
    drawn = [
        DrawnBar(
            label=bar.label,
            text=bar.text,
            y=index * (BAR_HEIGHT + GAP),
            width=PLOT_WIDTH * max(bar.value, 0) / largest,
            marker_x=LABEL_WIDTH + PLOT_WIDTH * bar.marker / largest if bar.marker is not None else None,
            marker_text=bar.marker_text,
            negative=bar.value < 0,
            flag=bar.flag,
        )
        for index, bar in enumerate(bars)
    ]
    return BarChart(title=title, bars=drawn, height=max(len(bars) * (BAR_HEIGHT + GAP), BAR_HEIGHT))


TIMELINE_LABEL_WIDTH = 220
TIMELINE_PLOT_WIDTH = 640
TIMELINE_ROW_HEIGHT = 30
TIMELINE_AXIS_HEIGHT = 22
TIMELINE_LABEL_SPACING = 60


@dataclass(frozen=True)
class Span:
    """Something that lasts (a course): drawn as a bar from its first to its last day."""

    starts: dt.date
    ends: dt.date
    text: str
    flag: str = ""  # written beside it and drawn dashed, not by colour alone


@dataclass(frozen=True)
class Mark:
    """Something on one day (systems arriving): drawn as a diamond with its text."""

    on: dt.date
    text: str
    flag: str = ""


@dataclass(frozen=True)
class TimelineRow:
    label: str
    spans: list[Span]
    marks: list[Mark]


@dataclass(frozen=True)
class DrawnSpan:
    x: float
    width: float
    text: str
    flag: str


@dataclass(frozen=True)
class DrawnMark:
    x: float
    text: str
    flag: str


@dataclass(frozen=True)
class DrawnRow:
    label: str
    y: int
    spans: list[DrawnSpan]
    marks: list[DrawnMark]


@dataclass(frozen=True)
class Timeline:
    title: str
    months: list[tuple[float, str]]  # x of each labelled month's first day, and its name (YYYY-MM)
    rows: list[DrawnRow]
    height: int
    ticks: list[float] = field(default_factory=list)  # x of every month's first day (a short tick on each axis)
    bottom: int = 0  # y of the axis repeated below the last row
    width: int = TIMELINE_LABEL_WIDTH + TIMELINE_PLOT_WIDTH + 56  # room for the last month's label
    label_width: int = TIMELINE_LABEL_WIDTH
    axis_height: int = TIMELINE_AXIS_HEIGHT
    today_x: float | None = None  # x of today, when it falls on the axis


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


def timeline(title: str, rows: list[TimelineRow], today: dt.date | None = None) -> Timeline:
    """Rows of spans and marks on one axis of whole months, from the first month anything is in to the last; a
    line at `today` when it falls on the axis. Flagged spans are drawn last, so that no bar hides one."""
    days = [day for row in rows for span in row.spans for day in (span.starts, span.ends)] + [
        mark.on for row in rows for mark in row.marks
    ]
    if not days:
        return Timeline(title=title, months=[], rows=[], height=TIMELINE_AXIS_HEIGHT)
    months = _month_starts(min(days), max(days))
    # Label every month only when the labels cannot overlap; else every quarter, half year or year (a YYYY-MM label
    # needs about 60 px), always on a month whose number is a multiple of the step so the labels read as a calendar.
    month_width = TIMELINE_PLOT_WIDTH / len(months)
    step = next((step for step in (1, 3, 6, 12) if step * month_width >= TIMELINE_LABEL_SPACING), 12)
    start = months[0]
    end = (months[-1] + dt.timedelta(days=32)).replace(day=1)
    scale = TIMELINE_PLOT_WIDTH / (end - start).days

    def x(day: dt.date) -> float:
        return TIMELINE_LABEL_WIDTH + (day - start).days * scale

    drawn = [
        DrawnRow(
            label=row.label,
            y=TIMELINE_AXIS_HEIGHT + index * TIMELINE_ROW_HEIGHT,
            spans=[
                DrawnSpan(x(span.starts), max(2.0, (span.ends - span.starts).days * scale + scale), span.text, span.flag)
                for span in sorted(row.spans, key=lambda span: bool(span.flag))
            ],
            marks=[DrawnMark(x(mark.on), mark.text, mark.flag) for mark in row.marks],
        )
        for index, row in enumerate(rows)
    ]
    bottom = TIMELINE_AXIS_HEIGHT + len(rows) * TIMELINE_ROW_HEIGHT + 4
    return Timeline(
        title=title,
        months=[(x(month), f"{month:%Y-%m}") for month in months if (month.month - 1) % step == 0],
        rows=drawn,
        height=bottom + TIMELINE_AXIS_HEIGHT,
        ticks=[x(month) for month in months],
        bottom=bottom,
        today_x=x(today) if today is not None and start <= today < end else None,
    )
