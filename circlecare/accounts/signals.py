from __future__ import annotations

from typing import Any

from allauth.mfa.signals import authenticator_added
from django.dispatch import receiver

from circlecare.accounts.security import mark_mfa_used


@receiver(authenticator_added)
def _count_setup_as_mfa(
    sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    if request is not None and authenticator.type == "totp":
        mark_mfa_used(request, user)
