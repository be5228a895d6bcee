"""Words that may mean someone is thinking of ending their life or of harming themselves, in what
a member writes between meetings (their journal, a care-board post, a goodbye to their group).

When a member saves such words, the page they go on to shows the crisis resources first, with a
plain word on who, if anyone, will read what they wrote and when: a journal is private, a shared
entry is read when a facilitator next looks, the board is not crisis support. Nothing more
happens: the check runs on the text being saved, nothing about it is stored, and nobody is told.
The validated channel for telling the clinician is the PHQ-9's ninth question (``measures``).

The list is short and errs towards showing support: "I'm not suicidal" shows it too, which costs
a reader a moment; missing "I want to end it all" could cost far more.
"""

from __future__ import annotations

import re
from typing import Final

from django.contrib import messages
from django.http import HttpRequest

#: Phrases, in lower case, matched as whole words (an apostrophe may be straight or curly, and a
#: space may be several spaces or a line break).
PHRASES: Final = (
    "suicide",
    "suicidal",
    "kill myself",
    "killing myself",
    "end my life",
    "ending my life",
    "end it all",
    "take my own life",
    "taking my own life",
    "want to die",
    "wanna die",
    "wish i was dead",
    "wish i were dead",
    "better off dead",
    "better off without me",
    "no reason to live",
    "not worth living",
    "hurt myself",
    "hurting myself",
    "harm myself",
    "harming myself",
    "self-harm",
    "self harm",
    "self-harming",
    "cut myself",
    "cutting myself",
    "selfharm",
    "overdose",
    "overdosed",
    "overdosing",
    "can't go on",
    "don't want to be here anymore",
    "don't want to be here any more",
    "don't want to wake up",
)

_PATTERN: Final = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(re.escape(p).replace(r"\ ", r"\s+").replace("'", "['’]") for p in PHRASES)
    + r")(?![\w-])",
    re.IGNORECASE,
)

#: Who reads what was written, as ``offer_support`` says it.
PRIVATE_JOURNAL: Final = (
    "Your journal is private: nobody else reads this entry, and nobody has been told."
)
#: ``{leaders}``: what the member calls whoever leads the group (Program.leader_word, plural).
SHARED_JOURNAL: Final = (
    "Your group's {leaders} can read this entry when they next look, which may not be for "
    "some days."
)
BOARD: Final = "Members answer posts when they can, and the care board is not crisis support."
GOODBYE: Final = "Your group can read your goodbye, but nobody is told of it straight away."

#: The message tag that has the page show the crisis resources under the message
#: (``templates/base.html``).
SUPPORT_TAG: Final = "support"


def sounds_in_crisis(*texts: str) -> bool:
    """Whether any of ``texts`` holds one of ``PHRASES``."""
    return any(text and _PATTERN.search(text) for text in texts)


def offer_support(request: HttpRequest, who_reads: str) -> None:
    """Have the next page open with the crisis resources, under a word on what was written and
    ``who_reads`` it (a sentence)."""
    messages.info(
        request,
        f"What you wrote sounds as though things may be very hard right now. {who_reads} If you "
        "need to talk to someone now, the people below are there for you at any hour.",
        extra_tags=SUPPORT_TAG,
    )
