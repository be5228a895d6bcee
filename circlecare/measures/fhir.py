"""FHIR export of a member's questionnaire results: a Bundle of QuestionnaireResponse and score
Observation resources.

The resources follow FHIR R4 and are validated with the ``fhir.resources`` models of **R4B**
(``fhir.resources.R4B``), the 4.3 release of R4 that current versions of that library ship; R4B
changed nothing in QuestionnaireResponse, Observation or Bundle that this export uses.

LOINC codes (MEASURES.md): PHQ-9 panel 44249-1, total 44261-6, item 9 44260-8; GAD-7 panel
69737-5, total 70274-6; answers 0–3 LA6568-5, LA6569-3, LA6570-1, LA6571-9. WHO-5 and UCLA-3
use a local code system, as no LOINC code is confirmed for them here. The after-meeting
check-in is not a validated questionnaire and is not exported.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from circlecare.measures.instruments import get
from circlecare.measures.models import Assessment, AssessmentStatus

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

PANELS = {"PHQ9": "44249-1", "GAD7": "69737-5"}
TOTALS = {"PHQ9": "44261-6", "GAD7": "70274-6"}
PHQ9_ITEM9 = "44260-8"
FREQUENCY_ANSWERS = {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"}
#: Instruments whose scored answers use the LOINC frequency answer list.
_LOINC_ANSWERS = {"PHQ9", "GAD7"}


def local_system(what: str) -> str:
    return f"{settings.SITE_URL}/fhir/CodeSystem/{what}"


#: HL7's mark for test data, carried by every resource made from the demo's made-up scores so
#: that they are never read as a person's real results once they leave the site.
SYNTHETIC_META = {
    "security": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": "HTEST",
            "display": "test health data",
        }
    ]
}


def _marked(resource: dict[str, Any], row: Assessment) -> dict[str, Any]:
    if row.synthetic:
        return {**resource, "meta": SYNTHETIC_META}
    return resource


def _uuid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def _answer(code: str, value: int, label: str, *, scored: bool) -> dict[str, Any]:
    if scored and code in _LOINC_ANSWERS:
        return {"valueCoding": _coding(LOINC, FREQUENCY_ANSWERS[value], label)}
    system = local_system(f"{code.lower()}-answers" if scored else f"{code.lower()}-difficulty")
    return {"valueCoding": _coding(system, str(value), label)}


def _questionnaire_ref(code: str) -> str:
    if code in PANELS:
        return f"http://loinc.org/q/{PANELS[code]}"
    return local_system(f"Questionnaire/{code.lower()}")


def questionnaire_response(row: Assessment, subject: dict[str, Any]) -> dict[str, Any]:
    instrument = get(row.instrument)
    answers = row.answer_list
    labels = dict(instrument.options)
    items = []
    for item, value in zip(instrument.items, answers, strict=False):
        items.append(
            {
                "linkId": str(item.number),
                "text": item.text,
                "answer": [_answer(row.instrument, value, labels[value], scored=True)],
            }
        )
    for extra, value in zip(
        instrument.unscored_items, answers[len(instrument.items) :], strict=False
    ):
        items.append(
            {
                "linkId": str(extra.number),
                "text": extra.text,
                "answer": [
                    _answer(row.instrument, value, dict(extra.options)[value], scored=False)
                ],
            }
        )
    assert row.completed_at is not None
    return _marked(
        {
            "resourceType": "QuestionnaireResponse",
            "questionnaire": _questionnaire_ref(row.instrument),
            "status": "completed",
            "subject": subject,
            "authored": row.completed_at.isoformat(),
            "item": items,
        },
        row,
    )


def _observation(
    *, code: dict[str, Any], subject: dict[str, Any], row: Assessment, value: int, derived: str
) -> dict[str, Any]:
    assert row.completed_at is not None
    return _marked(
        {
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [_coding(CATEGORY, "survey", "Survey")]}],
            "code": code,
            "subject": subject,
            "effectiveDateTime": row.completed_at.isoformat(),
            "valueQuantity": {
                "value": value,
                "unit": "{score}",
                "system": UCUM,
                "code": "{score}",
            },
            "derivedFrom": [{"reference": derived}],
        },
        row,
    )


def total_code(code: str) -> dict[str, Any]:
    instrument = get(code)
    if code in TOTALS:
        return {"coding": [_coding(LOINC, TOTALS[code], f"{instrument.name} total score")]}
    return {
        "coding": [
            _coding(local_system("scores"), f"{code.lower()}-total", f"{instrument.name} total")
        ],
        "text": f"{instrument.name} total",
    }


def member_bundle(member: Any, rows: Iterable[Assessment]) -> dict[str, Any]:
    """A ``collection`` Bundle of the member's completed, validated questionnaires."""
    subject = {"reference": f"Patient/{member.pk}", "display": member.display_name or "Member"}
    entries: list[dict[str, Any]] = []
    for row in rows:
        if row.status != AssessmentStatus.COMPLETED or not get(row.instrument).validated:
            continue
        response_url = _uuid()
        entries.append({"fullUrl": response_url, "resource": questionnaire_response(row, subject)})
        assert row.total is not None
        entries.append(
            {
                "fullUrl": _uuid(),
                "resource": _observation(
                    code=total_code(row.instrument),
                    subject=subject,
                    row=row,
                    value=row.total,
                    derived=response_url,
                ),
            }
        )
        if row.instrument == "WHO5" and row.percentage is not None:
            entries.append(
                {
                    "fullUrl": _uuid(),
                    "resource": _observation(
                        code={
                            "coding": [
                                _coding(
                                    local_system("scores"),
                                    "who5-percentage",
                                    "WHO-5 percentage score",
                                )
                            ]
                        },
                        subject=subject,
                        row=row,
                        value=row.percentage,
                        derived=response_url,
                    ),
                }
            )
        if row.instrument == "PHQ9":
            answers = row.answer_list
            entries.append(
                {
                    "fullUrl": _uuid(),
                    "resource": _observation(
                        code={
                            "coding": [
                                _coding(
                                    LOINC,
                                    PHQ9_ITEM9,
                                    "Thoughts that you would be better off dead, or of hurting "
                                    "yourself in some way",
                                )
                            ]
                        },
                        subject=subject,
                        row=row,
                        value=answers[8],
                        derived=response_url,
                    ),
                }
            )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def member_bundle_json(member: Any, rows: Iterable[Assessment]) -> str:
    return json.dumps(member_bundle(member, rows), indent=2, ensure_ascii=False)
