"""What an error report may carry.

Django's error reports (the page shown with ``DEBUG`` on, and the e-mail to ``ADMINS``) list the
submitted form fields and the values of every variable in the failing code. Any of them may be
clinical text (an answer, a note, a journal entry), which never leaves the database in a log, an
e-mail or an error report (SECURITY D5). Outside ``DEBUG`` this filter keeps the names and hides
every value.
"""

from __future__ import annotations

from collections.abc import ItemsView
from typing import Any

from django.http import HttpRequest, QueryDict
from django.views.debug import SafeExceptionReporterFilter


class NoSubmittedTextFilter(SafeExceptionReporterFilter):
    def get_post_parameters(self, request: HttpRequest | None) -> QueryDict | dict[str, Any]:
        if request is None:
            return {}
        if not self.is_active(request):
            return request.POST
        cleansed = request.POST.copy()
        for name in cleansed:
            cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: Any
    ) -> ItemsView[str, Any]:
        if not self.is_active(request):
            return super().get_traceback_frame_variables(request, tb_frame)
        return {name: self.cleansed_substitute for name in tb_frame.f_locals}.items()
