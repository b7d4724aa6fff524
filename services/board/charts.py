"""The statistics page's bar charts, drawn on the server as SVG from the report's shown numbers.

Pure: a report in (`statistics.statistics`), markup out. A chart is only a drawing of the numbers
the tables beside it show — the cell-key method's published values (docs/statistics.md), never
a true count, which this module never sees. A bar that stands for a small number (shown as 5,
the smallest value ever shown: the true count may be anything from 1 to 7) is drawn hatched and
labelled with its shown value, so that neither its length nor its colour says more than the table.

Why SVG on the server, not a chart library in the browser: the page works without JavaScript
(progressive enhancement, a strict Content-Security-Policy with no inline script or style), the
chart is in the HTML the server sent (printable, cacheable nowhere: no-store), every bar can carry
its own text, and a pure function is what a Hypothesis property can hold to the suppression rule.
"""

from dataclasses import dataclass

from markupsafe import Markup, escape

from services.board.statistics import SMALLEST_SHOWN, TOTAL, possible_counts

BAR_COLOUR = "#0b4f9c"  # 8.6:1 on white; the hatching and the labels carry the meaning too
TEXT_COLOUR = "#1b1f24"
SMALL_RANGE = possible_counts(SMALLEST_SHOWN)
SMALL_NOTE = (
    f"Randig stapel: litet antal, visat som {SMALLEST_SHOWN} "
    f"(det verkliga antalet kan vara {SMALL_RANGE[0]}–{SMALL_RANGE[-1]}), eller en summa av bara sådana."
)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int  # the shown value (a sum of shown values for a per-type total)
    small: bool  # the value is a small number shown as SMALLEST_SHOWN, or a sum of such numbers only


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    table: str  # the id of the table that holds the same numbers (the chart's text alternative)
    bars: tuple[Bar, ...]
    columns: bool  # one column per bar (months), else one row per bar (groups)

    @property
    def has_small(self) -> bool:
        return any(bar.small for bar in self.bars)

    @property
    def description(self) -> str:
        values = "; ".join(f"{bar.label}: {bar.value}" for bar in self.bars)
        return f"Samma tal som tabellen nedanför. {values}." + (f" {SMALL_NOTE}" if self.has_small else "")


def charts(stats: dict) -> dict[str, Chart]:
    """The page's four charts, by the table they stand beside."""

    def group_bars(rows: list[dict]) -> tuple[Bar, ...]:
        return tuple(_bar(r["group"], [r["count"]]) for r in rows if r["group"] != TOTAL)

    per_type: dict[str, list[int]] = {}
    for row in stats["events_per_type_per_month"]:
        per_type.setdefault(row["label"], []).append(row["events"])
    months = tuple(_bar(m["month"], [m["persons"]]) for m in stats["persons_per_month"])
    return {
        "personer": Chart("diagram-personer", "Personer i modellen per månad", "personer-per-manad", months, True),
        "alder": Chart(
            "diagram-alder", "Personer per åldersgrupp", "aldersgrupper", group_bars(stats["age_bands"]), False
        ),
        "remittent": Chart(
            "diagram-remittent", "Personer per remittent", "remittenter", group_bars(stats["referral_sources"]), False
        ),
        "handelser": Chart(
            "diagram-handelser",
            "Händelser per typ under perioden (summa av månadernas visade antal)",
            "handelser-per-typ",
            tuple(sorted((_bar(label, counts) for label, counts in per_type.items()), key=lambda b: -b.value)),
            False,
        ),
    }


def _bar(label: str, shown: list[int]) -> Bar:
    """A bar of one shown value, or of the sum of a type's months: small when made of small numbers only."""
    counted = [value for value in shown if value]
    return Bar(label, sum(counted), bool(counted) and all(value == SMALLEST_SHOWN for value in counted))


def svg(chart: Chart) -> Markup:
    """The chart as an inline SVG image, titled and described for a screen reader."""
    if not any(bar.value for bar in chart.bars):
        return Markup("")
    body = _columns(chart) if chart.columns else _rows(chart)
    width, height, marks = body
    hatch = f"{chart.id}-randig"
    # every text in it is escaped here, every number is an int: markup made of values, not of input
    return Markup(  # noqa: S704
        f'<svg class="diagram" id="{chart.id}" role="img" aria-labelledby="{chart.id}-titel {chart.id}-beskrivning" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart.id}-titel">{escape(chart.title)}</title>'
        f'<desc id="{chart.id}-beskrivning">{escape(chart.description)}</desc>'
        f'<defs><pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<rect width="3" height="6" fill="{BAR_COLOUR}"/></pattern></defs>'
        f"{marks}</svg>"
    )


def _fill(chart: Chart, bar: Bar) -> str:
    return f"url(#{chart.id}-randig)" if bar.small else BAR_COLOUR


def _rect(chart: Chart, bar: Bar, x: float, y: float, w: float, h: float) -> str:
    kind = "stapel stapel-liten" if bar.small else "stapel"
    note = f" ({SMALL_NOTE})" if bar.small else ""
    return (
        f'<rect class="{kind}" x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="{_fill(chart, bar)}" '
        f'stroke="{BAR_COLOUR}" data-value="{bar.value}">'
        f"<title>{escape(bar.label)}: {bar.value}{escape(note)}</title></rect>"
    )


def _text(x: float, y: float, text: str, anchor: str = "middle", css: str = "etikett") -> str:
    return (
        f'<text class="{css}" x="{x:g}" y="{y:g}" font-size="12" text-anchor="{anchor}" '
        f'fill="{TEXT_COLOUR}">{escape(text)}</text>'
    )


COLUMN, PLOT_HEIGHT = 48, 140


def _columns(chart: Chart) -> tuple[int, int, str]:
    most = max(bar.value for bar in chart.bars)
    marks = []
    for i, bar in enumerate(chart.bars):
        h = round(PLOT_HEIGHT * bar.value / most, 1)
        x, top = i * COLUMN + 8, 20 + PLOT_HEIGHT - h
        if bar.value:
            marks.append(_rect(chart, bar, x, top, COLUMN - 16, h))
        marks.append(_text(x + (COLUMN - 16) / 2, top - 4, str(bar.value), css="varde"))
        marks.append(_text(x + (COLUMN - 16) / 2, 20 + PLOT_HEIGHT + 16, _month_name(bar.label)))
    return len(chart.bars) * COLUMN, 20 + PLOT_HEIGHT + 24, "".join(marks)


MONTHS = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]


def _month_name(month: str) -> str:
    """'mar 26' from '2026-03'."""
    return f"{MONTHS[int(month[5:7]) - 1]} {month[2:4]}"


ROW, LABEL_WIDTH, PLOT_WIDTH = 26, 260, 320


def _rows(chart: Chart) -> tuple[int, int, str]:
    most = max(bar.value for bar in chart.bars)
    marks = []
    for i, bar in enumerate(chart.bars):
        w = round(PLOT_WIDTH * bar.value / most, 1)
        y = i * ROW + 4
        marks.append(_text(LABEL_WIDTH - 8, y + 15, bar.label, anchor="end"))
        if bar.value:
            marks.append(_rect(chart, bar, LABEL_WIDTH, y, w, ROW - 8))
        marks.append(_text(LABEL_WIDTH + w + 6, y + 15, str(bar.value), anchor="start", css="varde"))
    return LABEL_WIDTH + PLOT_WIDTH + 50, len(chart.bars) * ROW + 8, "".join(marks)
