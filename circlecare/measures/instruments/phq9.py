"""PHQ-9: the nine-item depression scale of the Patient Health Questionnaire.

Wording, answer labels and bands follow the official form and Kroenke, Spitzer & Williams
(2001). Reworded, it would no longer be the PHQ-9, so the text below must not be edited.
"""

from __future__ import annotations

from circlecare.measures.instruments.base import (
    PFIZER_NOTICE,
    RISK,
    Instrument,
    Item,
    UnscoredItem,
    severity_bands,
)

CITATION = "Kroenke, Spitzer, Williams, J Gen Intern Med 2001;16:606–613"

# Item 9 asks about thoughts of death or self-harm; any answer above 0 needs a person at once.
RISK_ITEM = 9

FREQUENCY_OPTIONS: tuple[tuple[int, str], ...] = (
    (0, "Not at all"),
    (1, "Several days"),
    (2, "More than half the days"),
    (3, "Nearly every day"),
)

DIFFICULTY_QUESTION = (
    "If you checked off any problems, how difficult have these problems made it for you to do "
    "your work, take care of things at home, or get along with other people?"
)

DIFFICULTY_OPTIONS: tuple[tuple[int, str], ...] = (
    (0, "Not difficult at all"),
    (1, "Somewhat difficult"),
    (2, "Very difficult"),
    (3, "Extremely difficult"),
)

ITEMS: tuple[Item, ...] = (
    Item(1, "Little interest or pleasure in doing things"),
    Item(2, "Feeling down, depressed, or hopeless"),
    Item(3, "Trouble falling or staying asleep, or sleeping too much"),
    Item(4, "Feeling tired or having little energy"),
    Item(5, "Poor appetite or overeating"),
    Item(
        6,
        "Feeling bad about yourself — or that you are a failure or have let yourself or your "
        "family down",
    ),
    Item(
        7,
        "Trouble concentrating on things, such as reading the newspaper or watching television",
    ),
    Item(
        8,
        "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
        "being so fidgety or restless that you have been moving around a lot more than usual",
    ),
    Item(9, "Thoughts that you would be better off dead, or of hurting yourself in some way"),
)


class PHQ9Instrument(Instrument):
    def flags_for(
        self, answers: tuple[int, ...], total: int, percentage: int | None
    ) -> tuple[str, ...]:
        # The risk flag depends on item 9 alone: a total of 1 can still mean danger.
        if answers[RISK_ITEM - 1] > 0:
            return (RISK,)
        return ()


PHQ9 = PHQ9Instrument(
    code="PHQ9",
    name="PHQ-9",
    title="Patient Health Questionnaire (PHQ-9)",
    topic="your mood",
    instructions=(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    ),
    items=ITEMS,
    options=FREQUENCY_OPTIONS,
    citation=CITATION,
    attribution=f"{CITATION}. {PFIZER_NOTICE}",
    validated=True,
    min_total=0,
    max_total=27,
    higher_is_worse=True,
    bands=severity_bands(
        [
            (0, 4, "minimal", "Minimal"),
            (5, 9, "mild", "Mild"),
            (10, 14, "moderate", "Moderate"),
            (15, 19, "moderately_severe", "Moderately severe"),
            (20, 27, "severe", "Severe"),
        ]
    ),
    caseness_threshold=10,
    reliable_change=6,
    reliable_change_basis=(
        "NHS Talking Therapies threshold (matches Jacobson & Truax 1991 with the published SD "
        "and reliability)"
    ),
    unscored_items=(UnscoredItem(10, DIFFICULTY_QUESTION, DIFFICULTY_OPTIONS),),
)
