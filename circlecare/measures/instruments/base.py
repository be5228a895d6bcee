"""What every instrument shares: items, answer options, validation, bands and the score.

Instruments are plain, immutable Python objects defined in code (one module each), so the
wording a member reads and the rules that score it live side by side and cannot drift apart
through an admin edit. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from circlecare.errors import DomainError

ChangeScale = Literal["total", "percentage"]

# Flag codes. They are stored with assessments and drive alerts, so they never change meaning.
RISK = "risk"
LOW_ITEM = "low_item"
LIKELY_DEPRESSION = "likely_depression"
LOW = "low"

# Shared by the PHQ and GAD screeners, which ask to keep it with any copy of the form.
PFIZER_NOTICE = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)


class InvalidAnswers(DomainError, ValueError):
    """The answers cannot be scored; the message says which item and what is allowed.

    It is a ``ValueError`` for plain callers and a ``DomainError`` so that forms and the API
    show the message the same way as every other refusal.
    """

    code = "invalid_answers"
    default_message = "Those answers can't be scored."
    status = 400

    def __init__(self, message: str, *, item: int | None = None, detail: Any = None) -> None:
        super().__init__(message, detail=detail)
        self.item = item


class UnknownInstrument(DomainError, KeyError):
    """No instrument has that code."""

    code = "unknown_instrument"
    default_message = "There is no questionnaire with that code."
    status = 404

    def __str__(self) -> str:
        # KeyError would print the message in quotes, which reads badly in a form or log.
        return self.message


@dataclass(frozen=True)
class Item:
    """One question of an instrument, numbered from 1 as on the printed form."""

    number: int
    text: str


@dataclass(frozen=True)
class UnscoredItem:
    """A question that belongs to the form but is never added to the total."""

    number: int
    text: str
    options: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class Band:
    """A named range, inclusive at both ends, on the total or on the percentage."""

    low: int
    high: int
    code: str
    label: str

    def contains(self, value: int) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Score:
    """The scored result of one set of answers."""

    instrument: str
    total: int
    band: str
    band_label: str
    flags: tuple[str, ...] = ()
    percentage: int | None = None
    answers: tuple[int, ...] = ()
    unscored: tuple[int, ...] = ()

    @property
    def difficulty(self) -> int | None:
        """The answer to the unscored "how difficult" question, when it was asked."""
        return self.unscored[0] if self.unscored else None

    @property
    def has_risk(self) -> bool:
        return RISK in self.flags


def _is_whole_number(value: object) -> bool:
    # bool is an int subclass; True must never be read as the answer 1.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, kw_only=True)
class Instrument:
    """A questionnaire: its exact wording, its answer scale and its scoring rules.

    Subclasses override the hooks (``percentage_of``, ``band_for``, ``flags_for``) where an
    instrument's rules differ; ``score`` is the same for all of them.
    """

    code: str
    name: str
    title: str
    instructions: str
    items: tuple[Item, ...]
    options: tuple[tuple[int, str], ...]
    citation: str
    attribution: str
    validated: bool
    min_total: int
    max_total: int
    higher_is_worse: bool
    bands: tuple[Band, ...]
    bands_on: ChangeScale = "total"
    caseness_threshold: int | None = None
    reliable_change: int | None = None
    reliable_change_on: ChangeScale = "total"
    reliable_change_basis: str = ""
    #: The reliable-change amount is a developers' rule of thumb, not derived from the
    #: instrument's reliability (the WHO-5), and is labelled so wherever it is explained.
    reliable_change_rule_of_thumb: bool = False
    unscored_items: tuple[UnscoredItem, ...] = ()
    notice: str = ""
    #: What it asks about, in a member's words, for lists of what is waiting ("your mood").
    topic: str = ""
    #: Whether each answer shows its number, as the instrument's own form does when its
    #: instructions speak of the numbers (the WHO-5: "higher numbers mean better well-being").
    show_values: bool = False

    percentage_factor: ClassVar[int | None] = None

    def __post_init__(self) -> None:
        # A gap or overlap in the bands would leave some totals unlabelled or labelled twice;
        # failing at import is far better than failing on a member's answers.
        values = [value for value, _ in self.options]
        if values != sorted(values) and values != sorted(values, reverse=True):
            raise ValueError(f"{self.code}: answer options must be in order")
        lowest, highest = min(values), max(values)
        if self.min_total != lowest * len(self.items) or self.max_total != highest * len(
            self.items
        ):
            raise ValueError(f"{self.code}: min_total/max_total do not match the items")
        if self.bands:
            start, end = self.scale_bounds(self.bands_on)
            expected = start
            for band in self.bands:
                if band.low != expected or band.high < band.low:
                    raise ValueError(f"{self.code}: bands must cover {start}–{end} without gaps")
                expected = band.high + 1
            if expected != end + 1:
                raise ValueError(f"{self.code}: bands must cover {start}–{end} without gaps")

    @property
    def min_answer(self) -> int:
        return min(value for value, _ in self.options)

    @property
    def max_answer(self) -> int:
        return max(value for value, _ in self.options)

    @property
    def answer_values(self) -> frozenset[int]:
        return frozenset(value for value, _ in self.options)

    def scale_bounds(self, scale: ChangeScale) -> tuple[int, int]:
        if scale == "percentage":
            factor = self._require_percentage_factor()
            return self.min_total * factor, self.max_total * factor
        return self.min_total, self.max_total

    def _require_percentage_factor(self) -> int:
        if self.percentage_factor is None:
            raise ValueError(f"{self.name} has no percentage score")
        return self.percentage_factor

    def percentage_of(self, total: int) -> int | None:
        """The percentage score for a raw total, for instruments that define one."""
        if self.percentage_factor is None:
            return None
        return total * self.percentage_factor

    def change_value(self, total: int) -> int:
        """The number on which reliable change is measured for this total."""
        if self.reliable_change_on == "percentage":
            return total * self._require_percentage_factor()
        return total

    def band_for(self, answers: tuple[int, ...], total: int, percentage: int | None) -> Band:
        value = percentage if self.bands_on == "percentage" and percentage is not None else total
        for band in self.bands:
            if band.contains(value):
                return band
        raise ValueError(f"{self.name}: no band contains {value}")

    def flags_for(
        self, answers: tuple[int, ...], total: int, percentage: int | None
    ) -> tuple[str, ...]:
        return ()

    def _count_message(self) -> str:
        expected = len(self.items)
        if self.unscored_items:
            with_extra = expected + len(self.unscored_items)
            return (
                f"{self.name} needs {expected} answers "
                f"(or {with_extra} with the question about difficulty)"
            )
        return f"{self.name} needs {expected} answers"

    def validate(self, answers: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Check the answers and split them into scored and unscored ones.

        Raises ``InvalidAnswers`` naming the first item at fault and the values it allows.
        """
        if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
            raise InvalidAnswers(
                f"{self.name}: answers must be a list of whole numbers, one per question."
            )
        scored_count = len(self.items)
        allowed_counts = {scored_count, scored_count + len(self.unscored_items)}
        if len(answers) not in allowed_counts:
            raise InvalidAnswers(f"{self._count_message()}; got {len(answers)}.")

        for index, value in enumerate(answers[:scored_count]):
            item = self.items[index]
            self._check_value(
                value,
                item_number=item.number,
                item_text=item.text,
                allowed=self.answer_values,
            )
        for offset, value in enumerate(answers[scored_count:]):
            extra = self.unscored_items[offset]
            self._check_value(
                value,
                item_number=extra.number,
                item_text=extra.text,
                allowed=frozenset(v for v, _ in extra.options),
            )
        return tuple(answers[:scored_count]), tuple(answers[scored_count:])

    def _check_value(
        self, value: object, *, item_number: int, item_text: str, allowed: frozenset[int]
    ) -> None:
        low, high = min(allowed), max(allowed)
        if not _is_whole_number(value) or value not in allowed:
            raise InvalidAnswers(
                f"{self.name} item {item_number} (“{item_text}”): the answer must be a whole "
                f"number from {low} to {high}; got {value!r}.",
                item=item_number,
                detail={"item": item_number, "min": low, "max": high},
            )

    def score(self, answers: Sequence[int]) -> Score:
        """Score one completed form. Unscored answers are kept but never added to the total."""
        scored, unscored = self.validate(answers)
        total = sum(scored)
        percentage = self.percentage_of(total)
        band = self.band_for(scored, total, percentage)
        return Score(
            instrument=self.code,
            total=total,
            band=band.code,
            band_label=band.label,
            flags=self.flags_for(scored, total, percentage),
            percentage=percentage,
            answers=scored,
            unscored=unscored,
        )


def severity_bands(
    edges: Sequence[tuple[int, int, str, str]],
) -> tuple[Band, ...]:
    """Build bands from ``(low, high, code, label)`` rows."""
    return tuple(
        Band(low=low, high=high, code=code, label=label) for low, high, code, label in edges
    )
