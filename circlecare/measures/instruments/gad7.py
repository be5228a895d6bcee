"""GAD-7: the seven-item Generalized Anxiety Disorder scale.

Wording, answer labels and bands follow the official form and Spitzer et al. (2006).
The text below must not be edited: a reworded GAD-7 is no longer the GAD-7.
"""

from __future__ import annotations

from circlecare.measures.instruments.base import (
    PFIZER_NOTICE,
    Instrument,
    Item,
    UnscoredItem,
    severity_bands,
)
from circlecare.measures.instruments.phq9 import (
    DIFFICULTY_OPTIONS,
    DIFFICULTY_QUESTION,
    FREQUENCY_OPTIONS,
)

CITATION = "Spitzer et al., Arch Intern Med 2006;166:1092–1097"

ITEMS: tuple[Item, ...] = (
    Item(1, "Feeling nervous, anxious, or on edge"),
    Item(2, "Not being able to stop or control worrying"),
    Item(3, "Worrying too much about different things"),
    Item(4, "Trouble relaxing"),
    Item(5, "Being so restless that it is hard to sit still"),
    Item(6, "Becoming easily annoyed or irritable"),
    Item(7, "Feeling afraid, as if something awful might happen"),
)


GAD7 = Instrument(
    code="GAD7",
    name="GAD-7",
    title="Generalized Anxiety Disorder 7-item scale (GAD-7)",
    topic="worry and anxiety",
    instructions=(
        "Over the last 2 weeks, how often have you been bothered by the following problems?"
    ),
    items=ITEMS,
    options=FREQUENCY_OPTIONS,
    citation=CITATION,
    attribution=f"{CITATION}. {PFIZER_NOTICE}",
    validated=True,
    min_total=0,
    max_total=21,
    higher_is_worse=True,
    bands=severity_bands(
        [
            (0, 4, "minimal", "Minimal"),
            (5, 9, "mild", "Mild"),
            (10, 14, "moderate", "Moderate"),
            (15, 21, "severe", "Severe"),
        ]
    ),
    caseness_threshold=8,
    reliable_change=4,
    reliable_change_basis=(
        "NHS Talking Therapies threshold (matches Jacobson & Truax 1991 with the published SD "
        "and reliability)"
    ),
    # The printed GAD-7 ends with the same optional, unscored question as the PHQ-9.
    unscored_items=(UnscoredItem(8, DIFFICULTY_QUESTION, DIFFICULTY_OPTIONS),),
)
