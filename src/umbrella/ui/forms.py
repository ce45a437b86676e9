"""Forms for pages: choices limited to what the actor may see; service errors shown on the fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _

from umbrella.core.access import Actor
from umbrella.core.errors import DomainError, Forbidden, Invalid, NotFound


class ShowsRefusals:
    """A form that never saves: a view passes its data to a service, and the service's refusal comes back here."""

    def show(self, error: DomainError) -> None:
        """Put a service's refusal on the form; NotFound and Forbidden go on to become a 404 or 403."""
        if isinstance(error, (NotFound, Forbidden)):
            raise error
        if isinstance(error, Invalid):
            for field_name, messages in error.field_errors.items():
                target = field_name if field_name in self.fields else None
                for message in messages:
                    self.add_error(target, message)
        else:
            self.add_error(None, error.message)


class ActorForm(ShowsRefusals, forms.ModelForm):
    """A ModelForm that never saves: views pass `cleaned_data` to a service."""

    def __init__(self, *args, actor: Actor, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        for field in self.fields.values():
            queryset = getattr(field, "queryset", None)
            if queryset is not None and hasattr(queryset, "visible_to"):
                field.queryset = queryset.visible_to(actor)

    def _post_clean(self) -> None:
        """Model validation runs in the service (with the owner set); the form checks fields only."""

    def changed_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data if name in self.cleaned_data}


class ServiceForm(ShowsRefusals, forms.Form):
    """A form of plain fields (no model) for a service call: a confirmation, a reason."""


class VersionForm(forms.Form):
    """The version a person saw, sent back with every change so a stale write is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


def posted_version(request) -> int:
    form = VersionForm(request.POST)
    if not form.is_valid():
        raise Invalid({"version": [_("The form is missing the version of the record; reload the page.")]})
    return form.cleaned_data["version"]
