"""Charts drawn on the server as inline SVG: no script, no CDN, readable without the internet.

Each chart comes with its data as a table on the same page (the text alternative); each bar can take the
keyboard focus and names its label and value.
"""

from __future__ import annotations

from dataclasses import dataclass

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
