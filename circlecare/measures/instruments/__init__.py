"""The questionnaires circlecare can administer, looked up by code.

``get("PHQ9").score([...])`` returns a ``Score`` with ``total``, ``band`` and ``flags``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from circlecare.measures.instruments.base import (
    Band,
    Instrument,
    InvalidAnswers,
    Item,
    Score,
    UnknownInstrument,
    UnscoredItem,
)
from circlecare.measures.instruments.checkin import CHECKIN
from circlecare.measures.instruments.gad7 import GAD7
from circlecare.measures.instruments.phq9 import PHQ9
from circlecare.measures.instruments.ucla3 import UCLA3
from circlecare.measures.instruments.who5 import WHO5

__all__ = [
    "CHECKIN",
    "GAD7",
    "PHQ9",
    "REGISTRY",
    "UCLA3",
    "WHO5",
    "Band",
    "Instrument",
    "InvalidAnswers",
    "Item",
    "Score",
    "UnknownInstrument",
    "UnscoredItem",
    "all_instruments",
    "get",
    "validated_instruments",
]

REGISTRY: Mapping[str, Instrument] = MappingProxyType(
    {instrument.code: instrument for instrument in (PHQ9, GAD7, WHO5, UCLA3, CHECKIN)}
)


def get(code: str) -> Instrument:
    """The instrument with this code; ``UnknownInstrument`` (a ``KeyError``) if there is none."""
    try:
        return REGISTRY[code]
    except (KeyError, TypeError):
        known = ", ".join(REGISTRY)
        raise UnknownInstrument(
            f"There is no questionnaire with the code {code!r}. Known codes: {known}."
        ) from None


def all_instruments() -> tuple[Instrument, ...]:
    """Every instrument, in the order forms list them."""
    return tuple(REGISTRY.values())


def validated_instruments() -> tuple[Instrument, ...]:
    """The instruments whose scores may appear in outcome figures."""
    return tuple(instrument for instrument in REGISTRY.values() if instrument.validated)
