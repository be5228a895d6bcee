"""Instrument wording, scoring, bands, flags and refusal of bad answers."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from circlecare.measures import instruments
from circlecare.measures.instruments import (
    CHECKIN,
    GAD7,
    PHQ9,
    UCLA3,
    WHO5,
    Instrument,
    InvalidAnswers,
    UnknownInstrument,
)
from circlecare.measures.instruments.checkin import fell_sharply

PFIZER = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)


def answers_for(instrument: Instrument, total: int) -> list[int]:
    """Some valid answers adding up to ``total``, filling from the first item."""
    low, high = instrument.min_answer, instrument.max_answer
    answers = [low] * len(instrument.items)
    remaining = total - low * len(answers)
    for index in range(len(answers)):
        step = min(high - low, remaining)
        answers[index] += step
        remaining -= step
    assert remaining == 0 and sum(answers) == total
    return answers


# Registry ---------------------------------------------------------------------------------


def test_get_returns_each_instrument_by_code() -> None:
    for code, expected in {
        "PHQ9": PHQ9,
        "GAD7": GAD7,
        "WHO5": WHO5,
        "UCLA3": UCLA3,
        "CHECKIN": CHECKIN,
    }.items():
        assert instruments.get(code) is expected
        assert expected.code == code


def test_all_instruments_lists_every_code_once() -> None:
    codes = [i.code for i in instruments.all_instruments()]
    assert codes == ["PHQ9", "GAD7", "WHO5", "UCLA3", "CHECKIN"]
    assert [i.code for i in instruments.validated_instruments()] == codes[:4]


@pytest.mark.parametrize("code", ["PHQ-9", "phq9", "", "XYZ"])
def test_unknown_code_raises_a_clear_lookup_error(code: str) -> None:
    with pytest.raises(UnknownInstrument) as caught:
        instruments.get(code)
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, LookupError)
    message = str(caught.value)
    assert repr(code) in message
    assert "PHQ9" in message and "CHECKIN" in message
    assert not message.startswith('"')


def test_instruments_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PHQ9.name = "PHQ-8"  # type: ignore[misc]
    score = PHQ9.score([0] * 9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        score.total = 5  # type: ignore[misc]


# Exact wording ----------------------------------------------------------------------------


def texts(instrument: Instrument) -> list[str]:
    assert [item.number for item in instrument.items] == list(range(1, len(instrument.items) + 1))
    return [item.text for item in instrument.items]


def test_phq9_wording_is_the_official_form() -> None:
    assert PHQ9.name == "PHQ-9"
    assert PHQ9.instructions == (
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    )
    assert texts(PHQ9) == [
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself — or that you are a failure or have let yourself or your "
        "family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
        "being so fidgety or restless that you have been moving around a lot more than usual",
        "Thoughts that you would be better off dead, or of hurting yourself in some way",
    ]
    assert PHQ9.options == (
        (0, "Not at all"),
        (1, "Several days"),
        (2, "More than half the days"),
        (3, "Nearly every day"),
    )
    (difficulty,) = PHQ9.unscored_items
    assert difficulty.number == 10
    assert difficulty.text == (
        "If you checked off any problems, how difficult have these problems made it for you to "
        "do your work, take care of things at home, or get along with other people?"
    )
    assert difficulty.options == (
        (0, "Not difficult at all"),
        (1, "Somewhat difficult"),
        (2, "Very difficult"),
        (3, "Extremely difficult"),
    )


def test_gad7_wording_is_the_official_form() -> None:
    assert GAD7.name == "GAD-7"
    assert GAD7.instructions == (
        "Over the last 2 weeks, how often have you been bothered by the following problems?"
    )
    assert texts(GAD7) == [
        "Feeling nervous, anxious, or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid, as if something awful might happen",
    ]
    assert GAD7.options == PHQ9.options


def test_who5_wording_is_the_1998_version() -> None:
    assert WHO5.name == "WHO-5"
    assert texts(WHO5) == [
        "I have felt cheerful and in good spirits",
        "I have felt calm and relaxed",
        "I have felt active and vigorous",
        "I woke up feeling fresh and rested",
        "My daily life has been filled with things that interest me",
    ]
    assert WHO5.options == (
        (5, "All of the time"),
        (4, "Most of the time"),
        (3, "More than half of the time"),
        (2, "Less than half of the time"),
        (1, "Some of the time"),
        (0, "At no time"),
    )
    assert "over the last two weeks" in WHO5.instructions


def test_ucla3_wording_follows_hughes_2004() -> None:
    assert UCLA3.name == "UCLA-3"
    assert texts(UCLA3) == [
        "How often do you feel that you lack companionship?",
        "How often do you feel left out?",
        "How often do you feel isolated from others?",
    ]
    assert UCLA3.options == ((1, "Hardly ever"), (2, "Some of the time"), (3, "Often"))


def test_checkin_is_labelled_as_our_own_unvalidated_form() -> None:
    assert texts(CHECKIN) == [
        "I felt heard and respected",
        "We worked on what mattered to me",
        "The way we worked fit me",
        "Overall, this meeting was right for me",
    ]
    assert [value for value, _ in CHECKIN.options] == list(range(11))
    assert CHECKIN.validated is False
    label = (
        "Our own short check-in — not a validated questionnaire; it helps your group's clinician "
        "or facilitator, it is never used in outcome figures."
    )
    assert CHECKIN.notice == label
    assert CHECKIN.attribution == label


def test_attributions_carry_the_citation_and_the_pfizer_notice() -> None:
    assert PHQ9.attribution == (
        "Kroenke, Spitzer, Williams, J Gen Intern Med 2001;16:606–613. " + PFIZER
    )
    assert GAD7.attribution == "Spitzer et al., Arch Intern Med 2006;166:1092–1097. " + PFIZER
    assert WHO5.attribution == "Topp et al., Psychother Psychosom 2015;84:167–176"
    assert UCLA3.attribution == "Hughes et al., Res Aging 2004;26:655–672"


@pytest.mark.parametrize(
    ("instrument", "validated", "low", "high", "worse", "caseness", "reliable", "on"),
    [
        (PHQ9, True, 0, 27, True, 10, 6, "total"),
        (GAD7, True, 0, 21, True, 8, 4, "total"),
        (WHO5, True, 0, 25, False, None, 10, "percentage"),
        (UCLA3, True, 3, 9, True, None, None, "total"),
        (CHECKIN, False, 0, 40, False, None, None, "total"),
    ],
)
def test_instrument_facts(
    instrument: Instrument,
    validated: bool,
    low: int,
    high: int,
    worse: bool,
    caseness: int | None,
    reliable: int | None,
    on: str,
) -> None:
    assert instrument.validated is validated
    assert (instrument.min_total, instrument.max_total) == (low, high)
    assert instrument.higher_is_worse is worse
    assert instrument.caseness_threshold == caseness
    assert instrument.reliable_change == reliable
    assert instrument.reliable_change_on == on


def test_who5_reliable_change_is_labelled_a_rule_of_thumb() -> None:
    assert "rule of thumb" in WHO5.reliable_change_basis.lower()
    assert "no published threshold" in UCLA3.reliable_change_basis.lower()


# Band edges -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band", "label"),
    [
        (0, "minimal", "Minimal"),
        (4, "minimal", "Minimal"),
        (5, "mild", "Mild"),
        (9, "mild", "Mild"),
        (10, "moderate", "Moderate"),
        (14, "moderate", "Moderate"),
        (15, "moderately_severe", "Moderately severe"),
        (19, "moderately_severe", "Moderately severe"),
        (20, "severe", "Severe"),
        (27, "severe", "Severe"),
    ],
)
def test_phq9_band_edges(total: int, band: str, label: str) -> None:
    score = PHQ9.score(answers_for(PHQ9, total))
    assert (score.total, score.band, score.band_label) == (total, band, label)
    assert score.percentage is None


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_band_edges(total: int, band: str) -> None:
    score = GAD7.score(answers_for(GAD7, total))
    assert (score.total, score.band) == (total, band)
    assert score.flags == ()


@pytest.mark.parametrize(
    ("raw", "percentage", "band"),
    [
        (0, 0, "likely_depression"),
        (7, 28, "likely_depression"),
        (8, 32, "poor_wellbeing"),
        (12, 48, "poor_wellbeing"),
        (13, 52, "adequate"),
        (25, 100, "adequate"),
    ],
)
def test_who5_bands_are_decided_on_the_percentage(raw: int, percentage: int, band: str) -> None:
    score = WHO5.score(answers_for(WHO5, raw))
    assert (score.total, score.percentage, score.band) == (raw, percentage, band)
    assert ("likely_depression" in score.flags) is (percentage <= 28)


def test_who5_percentage_is_raw_times_four() -> None:
    score = WHO5.score([3, 2, 4, 1, 5])
    assert score.total == 15
    assert score.percentage == 60


def test_who5_low_item_is_flagged_even_with_a_high_total() -> None:
    assert WHO5.score([5, 5, 5, 5, 1]).flags == ("low_item",)
    assert WHO5.score([5, 5, 5, 5, 0]).flags == ("low_item",)
    assert WHO5.score([5, 5, 5, 5, 2]).flags == ()
    assert WHO5.score([5, 5, 5, 5, 1]).band == "adequate"


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (3, "not_lonely_common_cutoff"),
        (5, "not_lonely_common_cutoff"),
        (6, "lonely_common_cutoff"),
        (9, "lonely_common_cutoff"),
    ],
)
def test_ucla3_band_edges_use_the_common_not_clinical_cutoff(total: int, band: str) -> None:
    score = UCLA3.score(answers_for(UCLA3, total))
    assert (score.total, score.band) == (total, band)
    assert "commonly used" in score.band_label
    assert "not a clinical" in score.band_label


@pytest.mark.parametrize(
    ("answers", "total", "low"),
    [
        ([7, 7, 7, 7], 28, False),
        ([7, 7, 7, 6], 27, True),
        ([10, 10, 10, 5], 35, False),
        ([10, 10, 10, 4], 34, True),
        ([4, 10, 10, 10], 34, True),
        ([0, 0, 0, 0], 0, True),
        ([10, 10, 10, 10], 40, False),
    ],
)
def test_checkin_low_when_any_line_at_4_or_below_or_total_under_28(
    answers: list[int], total: int, low: bool
) -> None:
    score = CHECKIN.score(answers)
    assert score.total == total
    assert (score.band == "low") is low
    assert score.flags == (("low",) if low else ())


def test_checkin_sharp_fall() -> None:
    assert fell_sharply(36, 28)
    assert not fell_sharply(36, 29)
    assert not fell_sharply(20, 36)


# Scoring against an independent reference ---------------------------------------------


def reference_phq9(answers: Sequence[int]) -> tuple[int, str, tuple[str, ...]]:
    total = sum(answers[:9])
    if total >= 20:
        band = "severe"
    elif total >= 15:
        band = "moderately_severe"
    elif total >= 10:
        band = "moderate"
    elif total >= 5:
        band = "mild"
    else:
        band = "minimal"
    return total, band, ("risk",) if answers[8] >= 1 else ()


def reference_gad7(answers: Sequence[int]) -> tuple[int, str, tuple[str, ...]]:
    total = sum(answers[:7])
    bands = ["minimal"] * 5 + ["mild"] * 5 + ["moderate"] * 5 + ["severe"] * 7
    return total, bands[total], ()


def reference_who5(answers: Sequence[int]) -> tuple[int, str, tuple[str, ...]]:
    total = sum(answers)
    percent = 4 * total
    if percent <= 28:
        band = "likely_depression"
    elif percent <= 50:
        band = "poor_wellbeing"
    else:
        band = "adequate"
    flags = []
    if min(answers) <= 1:
        flags.append("low_item")
    if percent <= 28:
        flags.append("likely_depression")
    return total, band, tuple(flags)


def reference_ucla3(answers: Sequence[int]) -> tuple[int, str, tuple[str, ...]]:
    total = sum(answers)
    return total, "lonely_common_cutoff" if total > 5 else "not_lonely_common_cutoff", ()


def reference_checkin(answers: Sequence[int]) -> tuple[int, str, tuple[str, ...]]:
    total = sum(answers)
    low = min(answers) < 5 or total <= 27
    return total, "low" if low else "ok", ("low",) if low else ()


@given(
    st.lists(st.integers(0, 3), min_size=9, max_size=9),
    st.one_of(st.none(), st.integers(0, 3)),
)
def test_phq9_matches_reference(answers: list[int], difficulty: int | None) -> None:
    given_answers = answers if difficulty is None else [*answers, difficulty]
    score = PHQ9.score(given_answers)
    assert (score.total, score.band, score.flags) == reference_phq9(answers)
    assert score.difficulty == difficulty
    assert score.answers == tuple(answers)


@given(st.lists(st.integers(0, 3), min_size=7, max_size=7))
def test_gad7_matches_reference(answers: list[int]) -> None:
    score = GAD7.score(answers)
    assert (score.total, score.band, score.flags) == reference_gad7(answers)


@given(st.lists(st.integers(0, 5), min_size=5, max_size=5))
def test_who5_matches_reference(answers: list[int]) -> None:
    score = WHO5.score(answers)
    assert (score.total, score.band, score.flags) == reference_who5(answers)
    assert score.percentage == sum(answers) * 4


@given(st.lists(st.integers(1, 3), min_size=3, max_size=3))
def test_ucla3_matches_reference(answers: list[int]) -> None:
    score = UCLA3.score(answers)
    assert (score.total, score.band, score.flags) == reference_ucla3(answers)


@given(st.lists(st.integers(0, 10), min_size=4, max_size=4))
def test_checkin_matches_reference(answers: list[int]) -> None:
    score = CHECKIN.score(answers)
    assert (score.total, score.band, score.flags) == reference_checkin(answers)


# PHQ-9 item 9 and the unscored question ----------------------------------------------------


@pytest.mark.parametrize("value", [1, 2, 3])
def test_item_9_is_a_risk_flag_whatever_the_total(value: int) -> None:
    score = PHQ9.score([0] * 8 + [value])
    assert score.total == value
    assert score.band == "minimal"
    assert score.flags == ("risk",)
    assert score.has_risk


def test_item_9_risk_with_total_1() -> None:
    score = PHQ9.score([0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert score.total == 1
    assert "risk" in score.flags


def test_high_total_without_item_9_raises_no_risk_flag() -> None:
    score = PHQ9.score([3, 3, 3, 3, 3, 3, 3, 3, 0])
    assert score.total == 24
    assert score.band == "severe"
    assert score.flags == ()
    assert not score.has_risk


def test_phq9_difficulty_answer_is_recorded_but_never_added() -> None:
    without = PHQ9.score([1] * 9)
    with_extra = PHQ9.score([1] * 9 + [3])
    assert without.total == with_extra.total == 9
    assert with_extra.band == without.band == "mild"
    assert with_extra.difficulty == 3
    assert with_extra.unscored == (3,)
    assert without.difficulty is None
    assert PHQ9.score([3] * 9 + [3]).total == 27
    assert PHQ9.score([0] * 9 + [3]).total == 0


def test_gad7_optional_difficulty_answer_is_not_added() -> None:
    score = GAD7.score([2] * 7 + [1])
    assert score.total == 14
    assert score.difficulty == 1


# Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "count"),
    [
        (PHQ9, 0),
        (PHQ9, 8),
        (PHQ9, 11),
        (GAD7, 6),
        (GAD7, 9),
        (WHO5, 4),
        (WHO5, 6),
        (UCLA3, 2),
        (UCLA3, 4),
        (CHECKIN, 3),
        (CHECKIN, 5),
    ],
)
def test_wrong_number_of_answers_is_refused(instrument: Instrument, count: int) -> None:
    with pytest.raises(InvalidAnswers) as caught:
        instrument.score([instrument.min_answer] * count)
    message = str(caught.value)
    assert instrument.name in message
    assert f"needs {len(instrument.items)} answers" in message
    assert f"got {count}" in message


@pytest.mark.parametrize(
    ("instrument", "position", "value", "allowed"),
    [
        (PHQ9, 0, -1, "0 to 3"),
        (PHQ9, 2, 4, "0 to 3"),
        (PHQ9, 8, 4, "0 to 3"),
        (PHQ9, 9, 4, "0 to 3"),
        (GAD7, 6, -1, "0 to 3"),
        (GAD7, 3, 4, "0 to 3"),
        (WHO5, 0, 6, "0 to 5"),
        (WHO5, 4, -1, "0 to 5"),
        (UCLA3, 0, 0, "1 to 3"),
        (UCLA3, 2, 4, "1 to 3"),
        (CHECKIN, 1, 11, "0 to 10"),
        (CHECKIN, 3, -1, "0 to 10"),
    ],
)
def test_out_of_range_answer_names_item_and_allowed_range(
    instrument: Instrument, position: int, value: int, allowed: str
) -> None:
    answers = [instrument.min_answer] * max(len(instrument.items), position + 1)
    answers[position] = value
    with pytest.raises(InvalidAnswers) as caught:
        instrument.score(answers)
    message = str(caught.value)
    assert f"item {position + 1}" in message
    assert allowed in message
    assert caught.value.item == position + 1


@pytest.mark.parametrize("bad", [True, False, "1", 1.0, None, [1]])
def test_non_integer_answers_are_refused(bad: object) -> None:
    answers: list[object] = [0] * 9
    answers[4] = bad
    with pytest.raises(InvalidAnswers, match="item 5"):
        PHQ9.score(answers)  # type: ignore[arg-type]


def test_bool_is_refused_even_where_its_int_value_is_allowed() -> None:
    with pytest.raises(InvalidAnswers):
        UCLA3.score([True, 1, 1])
    with pytest.raises(InvalidAnswers):
        WHO5.score([5, 5, 5, 5, False])


@pytest.mark.parametrize("bad", ["000000000", b"\x00" * 9, 9, None, iter([0] * 9)])
def test_answers_that_are_not_a_list_are_refused(bad: object) -> None:
    with pytest.raises(InvalidAnswers, match="list of whole numbers"):
        PHQ9.score(bad)  # type: ignore[arg-type]


def test_invalid_answers_is_a_value_error_with_a_code() -> None:
    with pytest.raises(ValueError) as caught:
        GAD7.score([0] * 6)
    assert isinstance(caught.value, InvalidAnswers)
    assert caught.value.as_dict()["code"] == "invalid_answers"


def test_tuples_are_accepted() -> None:
    assert GAD7.score((1, 1, 1, 1, 1, 1, 1)).total == 7
