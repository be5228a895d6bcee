"""A care post's title and details and the thanks a member sends are their own words about their
struggles: they are stored encrypted (SECURITY.md D1), the limits on their length still hold, and
the rows written before in the clear are encrypted by the migration."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from circlecare.care import services
from circlecare.care.models import DETAILS_MAX, THANKS_MAX, TITLE_MAX, CareMatch, CarePost
from circlecare.crypto import is_encrypted
from circlecare.errors import InvalidTransition
from tests.care.factories import make_circle
from tests.clinic.test_encryption_migrations import raw, write_clear
from tests.migrations import run_python, writes

MIGRATION = ("care", "0009_encrypt_post_words_and_thanks")
BEFORE = ("care", "0008_reflection_read_by")

TITLE = "Someone to sit with me before my scan"
DETAILS = "I have been too anxious to sleep since the letter came."
THANKS = "You made the waiting room bearable. Thank you."


def matched_and_thanked() -> tuple[CarePost, CareMatch]:
    circle = make_circle(2)
    asker, helper = circle.members
    post = services.create_post(
        cohort=circle.cohort,
        draft=services.PostDraft(kind="request", support="other", title=TITLE, details=DETAILS),
        actor=asker,
    )
    match = services.respond(post=post, actor=helper)
    services.mark_done(match=match, actor=helper)
    services.mark_done(match=match, actor=asker)
    services.send_thanks(match=match, text=THANKS, actor=asker)
    return post, match


@pytest.mark.django_db
def test_the_words_are_not_in_the_clear_in_the_database() -> None:
    post, match = matched_and_thanked()
    for obj, field, text in ((post, "title", TITLE), (post, "details", DETAILS)):
        stored = raw(obj, field)
        assert text not in stored and is_encrypted(stored)
    stored = raw(match, "thanks")
    assert THANKS not in stored and is_encrypted(stored)

    post.refresh_from_db()
    match.refresh_from_db()
    assert (post.title, post.details, match.thanks) == (TITLE, DETAILS, THANKS)


@pytest.mark.django_db
def test_the_length_limits_still_hold_without_the_database_holding_them() -> None:
    circle = make_circle(2)
    asker, helper = circle.members
    for title, details, message in (
        ("x" * (TITLE_MAX + 1), "", "keep the title to"),
        ("A walk", "x" * (DETAILS_MAX + 1), "keep the details to"),
        (" \n ", "A title of only spaces says nothing", "say in a few words"),
    ):
        draft = services.PostDraft(kind="request", support="walk", title=title, details=details)
        with pytest.raises(InvalidTransition, match=message):
            services.create_post(cohort=circle.cohort, draft=draft, actor=asker)
    assert not CarePost.objects.exists()

    at_limit = services.PostDraft(
        kind="request", support="walk", title="x" * TITLE_MAX, details="y" * DETAILS_MAX
    )
    post = services.create_post(cohort=circle.cohort, draft=at_limit, actor=asker)
    match = services.respond(post=post, actor=helper)
    services.mark_done(match=match, actor=helper)
    services.mark_done(match=match, actor=asker)
    with pytest.raises(InvalidTransition, match="keep your thanks to"):
        services.send_thanks(match=match, text="x" * (THANKS_MAX + 1), actor=asker)
    match.refresh_from_db()
    assert (match.thanks, match.thanked_at) == ("", None)


@pytest.mark.django_db
def test_the_migration_encrypts_rows_written_in_the_clear_once_and_decrypts_them_back() -> None:
    post, match = matched_and_thanked()
    rows = [(post, "title", TITLE), (post, "details", DETAILS), (match, "thanks", THANKS)]
    for obj, field, text in rows:
        write_clear(obj, field, text)

    run_python(*MIGRATION, "encrypt")
    for obj, field, text in rows:
        stored = raw(obj, field)
        assert text not in stored and is_encrypted(stored)
        obj.refresh_from_db()
        assert getattr(obj, field) == text
    # Run again (a migration re-run after a failure part way): nothing is encrypted twice.
    assert writes(run_python(*MIGRATION, "encrypt")) == []

    run_python(*MIGRATION, "decrypt")
    for obj, field, text in rows:
        assert raw(obj, field) == text


@pytest.mark.django_db(transaction=True)
def test_migrating_forward_encrypts_a_post_written_before_and_back_restores_it() -> None:
    """The whole migration, schema and data, from the columns as they were: a full-length title
    that fitted its column before is still read back whole once encrypted, and on the way back."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    try:
        old = executor.loader.project_state([BEFORE]).apps
        circle = make_circle(1)
        title = "t" * (TITLE_MAX - len(TITLE)) + TITLE
        old_post = old.get_model("care", "CarePost").objects.create(
            cohort_id=circle.cohort.pk,
            author_id=circle.members[0].pk,
            kind="request",
            support="other",
            title=title,
            details=DETAILS,
        )
        assert raw(old_post, "title") == title

        executor = MigrationExecutor(connection)
        executor.migrate([MIGRATION])
        post = CarePost.objects.get(pk=old_post.pk)
        assert (post.title, post.details) == (title, DETAILS)
        assert TITLE not in raw(post, "title") and DETAILS not in raw(post, "details")

        executor = MigrationExecutor(connection)
        executor.migrate([BEFORE])
        assert raw(post, "title") == title
        assert raw(post, "details") == DETAILS
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
