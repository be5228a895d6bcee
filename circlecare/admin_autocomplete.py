"""The admin's choice fields, safe against a value that is no key.

Django's ``AutocompleteSelect`` re-shows a refused form by looking the submitted value up as it
stands, and ``ModelMultipleChoiceField`` looks the chosen keys up together before it checks each;
a value the key's field can't take (a hand-made request: ``lead=abc``, or a number past the
column's range) fails there with a 500. Here such a value is refused as "Select a valid choice"
and re-shown as nothing chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db.models import Field
from django.http import HttpRequest


def is_key(field: Field, value: Any) -> bool:
    """Whether ``value`` is something the key column can hold: of its type and in its range
    (the model field's validators carry the database's integer range)."""
    try:
        field.run_validators(field.to_python(value))
    except ValidationError:
        return False
    return True


class KeyedAutocompleteSelect(AutocompleteSelect):
    def optgroups(self, name: str, value: Sequence[str], attr: Any = None) -> Any:
        key = self.field.target_field
        return super().optgroups(name, [item for item in value if is_key(key, item)], attr)


class KeyedMultipleChoiceField(forms.ModelMultipleChoiceField):
    def clean(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)) and self.queryset is not None:
            opts = self.queryset.model._meta
            key = opts.get_field(self.to_field_name) if self.to_field_name else opts.pk
            assert key is not None
            for item in value:
                if not is_key(key, item):
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": item},
                    )
        return super().clean(value)


class KeyedAutocompleteAdmin(BaseModelAdmin):
    """Mixed into admins and inlines with ``autocomplete_fields`` or many-to-many fields."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = KeyedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("form_class", KeyedMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)
