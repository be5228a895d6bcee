"""SECURITY.md Z2 for the site's pages: someone else's object answers exactly as a missing one."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.test import Client


def compare_with_missing(
    user: Any, method: str, theirs: str, missing: list[str], filled_in: dict[str, str]
) -> int:
    """As ``user``, by GET and by POST (with ``filled_in``): the answer for ``theirs`` (someone
    else's object, which must be a 404) equals, status and body, the answer for each address in
    ``missing``. A method the route does not take (405) is refused for every id alike, before
    any object is looked up, so it is passed over. Returns how many answers were compared."""
    client = Client()
    client.force_login(user)
    compared = 0
    for sent in ("get", "post"):
        send = client.get if sent == "get" else partial(client.post, data=filled_in)
        answer = send(theirs)
        if sent != method and answer.status_code == 405:
            continue
        assert answer.status_code == 404, f"{sent.upper()} {theirs}"
        for address in missing:
            other = send(address)
            assert (answer.status_code, answer.content) == (other.status_code, other.content), (
                f"{sent.upper()} {theirs} against {address}"
            )
            compared += 1
    return compared
