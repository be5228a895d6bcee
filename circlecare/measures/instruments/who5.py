"""WHO-5: the WHO-Five Well-Being Index (1998 version).

Higher is better. The raw total (0–25) is multiplied by 4 to give the percentage (0–100) on
which the published cut-offs are stated (Topp et al., 2015), so bands are decided on the
percentage, never on the raw total.
"""

from __future__ import annotations

from typing import ClassVar

from circlecare.measures.instruments.base import (
    LIKELY_DEPRESSION,
    LOW_ITEM,
    Instrument,
    Item,
    severity_bands,
)

CITATION = "Topp et al., Psychother Psychosom 2015;84:167–176"

PERCENTAGE_FACTOR = 4
LIKELY_DEPRESSION_AT_OR_BELOW = 28
POOR_WELLBEING_AT_OR_BELOW = 50
# An answer of 0 ("At no time") or 1 ("Some of the time") to any item warrants a look.
LOW_ITEM_AT_OR_BELOW = 1

OPTIONS: tuple[tuple[int, str], ...] = (
    (5, "All of the time"),
    (4, "Most of the time"),
    (3, "More than half of the time"),
    (2, "Less than half of the time"),
    (1, "Some of the time"),
    (0, "At no time"),
)

ITEMS: tuple[Item, ...] = (
    Item(1, "I have felt cheerful and in good spirits"),
    Item(2, "I have felt calm and relaxed"),
    Item(3, "I have felt active and vigorous"),
    Item(4, "I woke up feeling fresh and rested"),
    Item(5, "My daily life has been filled with things that interest me"),
)


class WHO5Instrument(Instrument):
    percentage_factor: ClassVar[int | None] = PERCENTAGE_FACTOR

    def flags_for(
        self, answers: tuple[int, ...], total: int, percentage: int | None
    ) -> tuple[str, ...]:
        flags: list[str] = []
        if any(answer <= LOW_ITEM_AT_OR_BELOW for answer in answers):
            flags.append(LOW_ITEM)
        if percentage is not None and percentage <= LIKELY_DEPRESSION_AT_OR_BELOW:
            flags.append(LIKELY_DEPRESSION)
        return tuple(flags)


WHO5 = WHO5Instrument(
    code="WHO5",
    name="WHO-5",
    title="WHO-Five Well-Being Index (WHO-5)",
    topic="your well-being",
    instructions=(
        "Please indicate for each of the five statements which is closest to how you have been "
        "feeling over the last two weeks. Notice that higher numbers mean better well-being."
    ),
    items=ITEMS,
    options=OPTIONS,
    show_values=True,
    citation=CITATION,
    attribution=CITATION,
    validated=True,
    min_total=0,
    max_total=25,
    higher_is_worse=False,
    bands=severity_bands(
        [
            (
                0,
                LIKELY_DEPRESSION_AT_OR_BELOW,
                "likely_depression",
                "Very low well-being: likely depression (28% or less)",
            ),
            (
                LIKELY_DEPRESSION_AT_OR_BELOW + 1,
                POOR_WELLBEING_AT_OR_BELOW,
                "poor_wellbeing",
                "Poor well-being (50% or less)",
            ),
            (POOR_WELLBEING_AT_OR_BELOW + 1, 100, "adequate", "Adequate well-being"),
        ]
    ),
    bands_on="percentage",
    reliable_change=10,
    reliable_change_on="percentage",
    reliable_change_rule_of_thumb=True,
    reliable_change_basis=(
        "Rule of thumb from the WHO-5's developers (10 percentage points), not a statistically "
        "derived threshold"
    ),
)
