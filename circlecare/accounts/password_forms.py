"""allauth's sign-in and password-change forms, without the reset link inside the password field.

allauth puts "Forgot your password?" in the current-password field's help text, which places a link
between the label and the box (Tab reaches it before the field) and has it read out as the field's
description. Our account/login.html and account/password_change.html show that link after the
submit button instead, so the field's description is only its own help and errors.

A module of its own: allauth.account.forms imports ACCOUNT_SIGNUP_FORM_CLASS from
circlecare.accounts.forms while it loads, so that module cannot import allauth's forms.
"""

from __future__ import annotations

from typing import Any

from allauth.account import forms as allauth_forms


class LoginForm(allauth_forms.LoginForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = ""


class ChangePasswordForm(allauth_forms.ChangePasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["oldpassword"].help_text = ""
