"""UCLA-3: the three-item loneliness scale of Hughes et al. (2004).

There is no official cut-off. Scores of 6–9 are commonly read as lonely, so the band says
"commonly used cut-off" and never "clinical"; the score itself is what should be shown.
"""

from __future__ import annotations

from circlecare.measures.instruments.base import Instrument, Item, severity_bands

CITATION = "Hughes et al., Res Aging 2004;26:655–672"

COMMONLY_USED_LONELY_FROM = 6

OPTIONS: tuple[tuple[int, str], ...] = (
    (1, "Hardly ever"),
    (2, "Some of the time"),
    (3, "Often"),
)

ITEMS: tuple[Item, ...] = (
    Item(1, "How often do you feel that you lack companionship?"),
    Item(2, "How often do you feel left out?"),
    Item(3, "How often do you feel isolated from others?"),
)

UCLA3 = Instrument(
    code="UCLA3",
    name="UCLA-3",
    title="Three-Item Loneliness Scale (UCLA-3)",
    topic="feeling connected to others",
    instructions=(
        "The next questions are about how you feel about different aspects of your life. "
        "For each one, please say how often you feel that way."
    ),
    items=ITEMS,
    options=OPTIONS,
    citation=CITATION,
    attribution=CITATION,
    validated=True,
    min_total=3,
    max_total=9,
    higher_is_worse=True,
    bands=severity_bands(
        [
            (
                3,
                COMMONLY_USED_LONELY_FROM - 1,
                "not_lonely_common_cutoff",
                "Not lonely by a commonly used cut-off (3–5); this is not a clinical cut-off",
            ),
            (
                COMMONLY_USED_LONELY_FROM,
                9,
                "lonely_common_cutoff",
                "Lonely by a commonly used cut-off (6–9); this is not a clinical cut-off",
            ),
        ]
    ),
    # No published reliable-change threshold exists: change is shown, never classified.
    reliable_change=None,
    reliable_change_basis="No published threshold; the change is shown without a verdict",
)
