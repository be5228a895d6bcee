"""The outcome report against MEASURES.md's rules worked out again here, member by member, in
plain Python: random small programmes with members who left, were removed, came back, finished,
waited only, or were in a cancelled group; scores in any week (after the last one too, two in one
week), and attendance of every kind. Every count and denominator must match."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.enrollment.models import GROUP_CANCELLED, Enrollment
from circlecare.measures import summaries
from circlecare.measures.models import Occasion
from circlecare.measures.outcomes import program_report
from circlecare.meetings.models import Attendance, Meeting
from circlecare.programs.models import ProgramKind
from tests.factories import CohortFactory, ProgramFactory
from tests.measures.factories import completed

pytestmark = pytest.mark.django_db

THR = {"PHQ9": 6, "GAD7": 4, "WHO5": 10, "UCLA3": None}
FACT = {"WHO5": 4}
WORSE_HIGH = {"PHQ9": True, "GAD7": True, "WHO5": False, "UCLA3": True}
CASE = {"PHQ9": 10, "GAD7": 8}
RANGE = {"PHQ9": (0, 24), "GAD7": (0, 21), "WHO5": (0, 25), "UCLA3": (3, 9)}


def ref(data: dict[Any, Any], weeks: int, codes: tuple[str, ...], kind: str) -> dict[str, Any]:
    out = {}
    per = {}  # (m,c) -> code -> dict
    for (m, c), info in data.items():
        if not info["seated"]:
            continue
        for code in codes:
            rows = sorted(info["scores"].get(code, []), key=lambda r: (r[0], r[1], r[2]))
            if not rows or rows[0][0] > weeks:
                continue
            base = rows[0]
            inprog = [r for r in rows if r[0] <= weeks]
            last = inprog[-1]
            fu = last[0] > base[0]
            d = dict(
                base=base[3],
                last=last[3],
                fu=fu,
                left=info["left"],
                comp=fu and info["present"] >= 2,
            )
            t = THR[code]
            if t is not None:
                f = FACT.get(code, 1)
                better = (base[3] - last[3]) if WORSE_HIGH[code] else (last[3] - base[3])
                d["imp"] = fu and better * f >= t
                d["det"] = fu and -better * f >= t
            if code in CASE:
                d["case"] = base[3] >= CASE[code]
                d["rec"] = d["case"] and fu and last[3] < CASE[code]
                d["rrec"] = d["rec"] and d.get("imp", False)
            per.setdefault((m, c), {})[code] = d
    for code in codes:
        rows = [v[code] for v in per.values() if code in v]
        o = dict(
            started=len(rows), fu=sum(r["fu"] for r in rows), left=sum(r["left"] for r in rows)
        )
        comps = [r for r in rows if r["comp"]]
        if THR[code] is not None:
            o["imp"] = (
                sum(r["imp"] for r in rows),
                len(rows),
                sum(r["imp"] for r in comps),
                len(comps),
            )
            o["det"] = (
                sum(r["det"] for r in rows),
                len(rows),
                sum(r["det"] for r in comps),
                len(comps),
            )
        else:
            o["chg"] = (
                sum(r["fu"] and r["last"] < r["base"] for r in rows),
                sum(r["fu"] and r["last"] == r["base"] for r in rows),
                sum(r["fu"] and r["last"] > r["base"] for r in rows),
            )
        if code in CASE:
            cases = [r for r in rows if r["case"]]
            ccomp = [r for r in cases if r["comp"]]
            o["rec"] = (
                sum(r["rec"] for r in cases),
                len(cases),
                sum(r["rec"] for r in ccomp),
                len(ccomp),
            )
            o["rrec"] = (
                sum(r["rrec"] for r in cases),
                len(cases),
                sum(r["rrec"] for r in ccomp),
                len(ccomp),
            )
        out[code] = o
    if kind == ProgramKind.THERAPY and "PHQ9" in codes and "GAD7" in codes:
        both = [v for v in per.values() if "PHQ9" in v and "GAD7" in v]

        def good(v: dict[str, Any]) -> bool:
            return (v["PHQ9"]["imp"] or v["GAD7"]["imp"]) and not (
                v["PHQ9"]["det"] or v["GAD7"]["det"]
            )

        fu = [v for v in both if v["PHQ9"]["fu"] and v["GAD7"]["fu"]]
        comp = [v for v in fu if v["PHQ9"]["comp"]]
        out["both"] = (sum(good(v) for v in fu), len(both), sum(good(v) for v in comp), len(comp))
    return out


def pair(f: Any) -> tuple[int, int, int, int] | None:
    if f is None:
        return None
    return (
        f.itt.k if f.itt else 0,
        f.itt.n if f.itt else 0,
        f.completers.k if f.completers else 0,
        f.completers.n if f.completers else 0,
    )


@pytest.mark.parametrize("seed", range(25))
def test_the_report_matches_the_rules_worked_out_by_hand(seed: int) -> None:
    rnd = random.Random(seed)
    kind = rnd.choice([ProgramKind.THERAPY, ProgramKind.SKILLS])
    weeks = rnd.randint(2, 5)
    program = ProgramFactory(kind=kind, weeks=weeks)
    codes = ("PHQ9", "GAD7") if kind == ProgramKind.THERAPY else ("WHO5", "UCLA3")
    cohorts = [CohortFactory(program=program, capacity=30) for _ in range(rnd.randint(1, 3))]
    people = User.objects.bulk_create(
        User(email=f"u{seed}-{i}@e.org", display_name=f"u{i}") for i in range(10)
    )
    now = timezone.now()
    data = {}
    for c in cohorts:
        meetings = []
        for n in range(1, weeks + 1):
            s = now - timedelta(weeks=10 - n)
            meetings.append(
                Meeting.objects.create(
                    cohort=c,
                    number=n,
                    starts_at=s,
                    ends_at=s + timedelta(hours=1),
                    local_date=s.date(),
                    local_time=s.time(),
                )
            )
        for m in rnd.sample(people, rnd.randint(0, len(people))):
            # enrollment history
            hist = rnd.choice(
                [
                    ["confirmed"],
                    ["withdrawn"],
                    ["removed"],
                    ["withdrawn", "confirmed"],
                    ["removed", "waitlisted"],
                    ["completed"],
                    ["waitlisted"],
                    ["cancelled"],
                    ["withdrawn", "completed"],
                ]
            )
            seated = False
            left_any = False
            back = False
            for st in hist:
                conf = st != "waitlisted"
                status = {"cancelled": "removed"}.get(st, st)
                Enrollment.objects.create(
                    member=m,
                    cohort=c,
                    status=status,
                    queued_at=now,
                    confirmed_at=now if conf else None,
                    end_reason=GROUP_CANCELLED
                    if st == "cancelled"
                    else ("x" if status in ("withdrawn", "removed") else ""),
                )
                summaries.seats_changed(m.pk, c.pk)
                seated |= conf
                if conf and status in ("withdrawn", "removed") and st != "cancelled":
                    left_any = True
                if status in ("confirmed", "completed"):
                    back = True
            present = 0
            for mt in meetings:
                mark = rnd.choice(["attended", "late", "absent", "excused", None])
                if mark:
                    Attendance.objects.create(
                        meeting=mt, member=m, status=mark, recorded_by=m, at=now
                    )
                    present += mark in ("attended", "late")
            scores = {}
            for code in codes:
                lo, hi = RANGE[code]
                used = set()
                for _ in range(rnd.randint(0, 4)):
                    w = rnd.randint(0, weeks + 1)
                    occ = rnd.choice([Occasion.WEEKLY, Occasion.FINAL]) if w else Occasion.INTAKE
                    if (w, occ) in used:
                        continue
                    used.add((w, occ))
                    total = rnd.randint(lo, hi)
                    when = now - timedelta(days=rnd.randint(0, 60), seconds=rnd.randint(0, 1000))
                    a = completed(
                        member=m, cohort=c, code=code, total=total, week=w, when=when, occasion=occ
                    )
                    scores.setdefault(code, []).append((w, a.completed_at, a.pk, total))
            data[(m.pk, c.pk)] = dict(
                seated=seated, left=left_any and not back, present=present, scores=scores
            )
    report = program_report(program, date(2000, 1, 1), date(2100, 1, 1))
    expected = ref(data, weeks, codes, kind)
    for o in report.instruments:
        e = expected[o.code]
        assert (o.started, o.with_follow_up, o.left_early) == (e["started"], e["fu"], e["left"]), (
            o.code
        )
        if "imp" in e:
            assert pair(o.reliable_improvement) == e["imp"], o.code
            assert pair(o.reliable_deterioration) == e["det"], o.code
        else:
            assert (o.change.lower, o.change.same, o.change.higher) == e["chg"]
        if "rec" in e:
            assert pair(o.recovery) == e["rec"], o.code
            assert pair(o.reliable_recovery) == e["rrec"], o.code
    if "both" in expected:
        assert pair(report.combined) == expected["both"]


def test_the_period_takes_in_groups_whose_first_meeting_is_on_either_end() -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=4)
    day = date(2030, 3, 5)
    cohort = CohortFactory(program=program, first_meeting_date=day)
    member = User.objects.create(email="edge@e.org", display_name="Edge")
    Enrollment.objects.create(
        member=member, cohort=cohort, status="confirmed", queued_at=timezone.now(),
        confirmed_at=timezone.now(),
    )  # fmt: skip
    completed(member=member, cohort=cohort, code="PHQ9", total=15, week=0)
    one_day = timedelta(days=1)
    started = {
        (start, end): program_report(program, start, end).instruments[0].started
        for start, end in (
            (day, day),
            (day - one_day, day - one_day),
            (day + one_day, day + 30 * one_day),
            (day - 30 * one_day, day),
        )
    }
    assert list(started.values()) == [1, 0, 0, 1]
