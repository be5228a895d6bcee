"""The admin's autocomplete fields, safe against a value that is no key.

Django's ``AutocompleteSelect`` re-shows a refused form by looking the submitted value up as it
stands; a value the key's field can't take (a hand-made request: ``lead=abc``) fails there with a
500, after the form has already said "Select a valid choice". Here such a value is re-shown as
nothing chosen, beside that message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.http import HttpRequest


class KeyedAutocompleteSelect(AutocompleteSelect):
    def optgroups(self, name: str, value: Sequence[str], attr: Any = None) -> Any:
        key = self.field.target_field
        kept = []
        for item in value:
            try:
                key.to_python(item)
            except ValidationError:
                continue
            kept.append(item)
        return super().optgroups(name, kept, attr)


class KeyedAutocompleteAdmin(BaseModelAdmin):
    """Mixed into admins and inlines with ``autocomplete_fields``."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = KeyedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
