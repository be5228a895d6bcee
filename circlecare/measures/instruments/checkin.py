"""The after-meeting check-in: our own short form, not a validated questionnaire.

Licensed group-process measures (Group Questionnaire, Session Rating Scale / Group SRS,
Relational Health Indices, MPDQ) must not be embedded, so this form is written in our own
words. It gives the facilitator quick feedback and is never used in outcome figures.

Our rule for a low check-in (decided here, not published anywhere): any line at 4 or below,
or a total under 28 of 40 (an average below 7). A single low line matters even when the
others are high, because one unmet need is what the facilitator should ask about.
"""

from __future__ import annotations

from circlecare.measures.instruments.base import (
    LOW,
    Band,
    Instrument,
    Item,
)

LOW_ITEM_AT_OR_BELOW = 4
LOW_TOTAL_BELOW = 28
# Our own rule too: a fall of this many points from the member's previous check-in.
SHARP_DROP_POINTS = 8

NOTICE = (
    "Our own short check-in — not a validated questionnaire; it helps your group's clinician "
    "or facilitator, it is never used in outcome figures."
)

OPTIONS: tuple[tuple[int, str], ...] = (
    (0, "0 — not at all"),
    *((value, str(value)) for value in range(1, 10)),
    (10, "10 — completely"),
)

ITEMS: tuple[Item, ...] = (
    Item(1, "I felt heard and respected"),
    Item(2, "We worked on what mattered to me"),
    Item(3, "The way we worked fit me"),
    Item(4, "Overall, this meeting was right for me"),
)

LOW_BAND = Band(
    low=0,
    high=40,
    code="low",
    label="Low: worth a word with the member (a line at 4 or below, or a total under 28)",
)
OK_BAND = Band(low=0, high=40, code="ok", label="No concern raised")


class CheckInInstrument(Instrument):
    def _is_low(self, answers: tuple[int, ...], total: int) -> bool:
        return total < LOW_TOTAL_BELOW or any(a <= LOW_ITEM_AT_OR_BELOW for a in answers)

    def band_for(self, answers: tuple[int, ...], total: int, percentage: int | None) -> Band:
        return LOW_BAND if self._is_low(answers, total) else OK_BAND

    def flags_for(
        self, answers: tuple[int, ...], total: int, percentage: int | None
    ) -> tuple[str, ...]:
        return (LOW,) if self._is_low(answers, total) else ()


def fell_sharply(previous_total: int, current_total: int) -> bool:
    """Whether a check-in total fell by ``SHARP_DROP_POINTS`` or more since the last one."""
    return previous_total - current_total >= SHARP_DROP_POINTS


CHECKIN = CheckInInstrument(
    code="CHECKIN",
    name="Check-in",
    title="After-meeting check-in",
    topic="how the meeting went for you",
    instructions=(
        "Thinking about that meeting, choose the number that fits for you on each line: "
        "0 means not at all, 10 means completely."
    ),
    items=ITEMS,
    options=OPTIONS,
    citation="",
    attribution=NOTICE,
    validated=False,
    min_total=0,
    max_total=40,
    higher_is_worse=False,
    # Not a range table: a single low line makes the check-in low whatever the total.
    bands=(),
    notice=NOTICE,
)
