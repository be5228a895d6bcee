"""Demo care-board posts, matches and a journal entry. Safe to run more than once."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.care.models import (
    CareMatch,
    CarePost,
    MatchStatus,
    PostKind,
    Reflection,
    Support,
)
from circlecare.programs.models import Cohort, ProgramWeek

DOMAIN = "demo.circlecare.example"

POSTS = [
    # (author, kind, support, title, details, when, where, days ago)
    (
        "casey",
        PostKind.REQUEST,
        Support.WALK,
        "Company for a slow walk on Saturday morning",
        "I've been staying in a lot. A gentle loop round the park would help me get out.",
        "Saturday, around 10",
        "Riverside park",
        12,
    ),
    (
        "jamie",
        PostKind.OFFER,
        Support.MEAL,
        "I made too much soup",
        "Lentil soup, no nuts. Happy to drop a jar off or share a bowl.",
        "This week, evenings",
        "Near the library",
        5,
    ),
    (
        "quinn",
        PostKind.REQUEST,
        Support.CONVERSATION,
        "Someone to talk with before a new job starts",
        "Nothing heavy, just a phone call to think out loud.",
        "Any weekday after 6",
        "Phone or video",
        2,
    ),
    (
        "avery",
        PostKind.OFFER,
        Support.GAME_NIGHT,
        "Board games on Friday",
        "Easy games, tea and biscuits. Three more people would be perfect.",
        "Friday 7 pm",
        "Online",
        1,
    ),
]


def _member(local: str) -> User | None:
    return User.objects.filter(email=f"{local}@{DOMAIN}").first()


@transaction.atomic
def seed_demo() -> str:
    cohort = Cohort.objects.filter(
        program__slug="circle-of-connection", name="Monday evenings"
    ).first()
    if cohort is None:
        return ""
    now = timezone.now()
    created = 0
    posts: dict[str, CarePost] = {}
    for author_local, kind, support, title, details, when, where, days in POSTS:
        author = _member(author_local)
        if author is None:
            continue
        # Titles are encrypted, so the post seeded before is found by reading the author's own.
        post = next(
            (p for p in CarePost.objects.filter(cohort=cohort, author=author) if p.title == title),
            None,
        )
        if post is None:
            post = CarePost.objects.create(
                cohort=cohort,
                author=author,
                kind=kind,
                support=support,
                title=title,
                details=details,
                when_text=when,
                where=where,
            )
            CarePost.objects.filter(pk=post.pk).update(created_at=now - timedelta(days=days))
            created += 1
        posts[author_local] = post

    morgan, casey, riley = _member("morgan"), _member("casey"), _member("riley")
    walk, soup = posts.get("casey"), posts.get("jamie")
    if walk and morgan and casey and not CareMatch.objects.filter(post=walk).exists():
        done = now - timedelta(days=9)
        match = CareMatch.objects.create(
            post=walk,
            cohort=cohort,
            responder=morgan,
            giver=morgan,
            receiver=casey,
            status=MatchStatus.DONE,
            giver_done_at=done,
            receiver_done_at=done,
            done_at=done,
            thanks="Thank you for walking with me. I slept better that night.",
            thanked_at=done + timedelta(hours=3),
        )
        CareMatch.objects.filter(pk=match.pk).update(created_at=now - timedelta(days=11))
    if soup and riley and not CareMatch.objects.filter(post=soup).exists():
        CareMatch.objects.create(
            post=soup, cohort=cohort, responder=riley, giver=soup.author, receiver=riley
        )

    week_one = ProgramWeek.objects.filter(program_id=cohort.program_id, number=1).first()
    if morgan and not Reflection.objects.filter(member=morgan).exists():
        Reflection.objects.create(
            member=morgan,
            cohort=cohort,
            week_number=1,
            prompt=week_one.reflection_prompt if week_one else "",
            body=(
                "Walking with Casey on Saturday. We didn't talk much, and that was fine. "
                "I noticed I was less tense on the way home."
            ),
        )
    return f"Care: {created} new care posts on the Monday evenings circle's board."
