"""The inspector's view of the ledger: the entries a reader may read in full, filtered by record, organization,
person, action and time, each with what it changed; and a signed checkpoint to keep outside Umbrella.

Entries the reader may not read (`ChangeRecord.objects.visible_to`) are not listed, only counted: their leaf
hashes are in every checkpoint's root and in the API's entry list, so verification covers them all the same.
A person's name is shown only where the reader may know it (`core.ledger.may_know_actor`); filtering by
person looks only at those entries, matches the user name in any case, and refuses a name that is no one the
reader may know of (the same answer for an account that does not exist and one it may not know).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from typing import Any

from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from umbrella.core.access import Actor
from umbrella.core.errors import Invalid
from umbrella.core.ledger import PRIVATE_KEYS, current_checkpoint, may_know_actor, with_known_actor
from umbrella.core.models import ChangeRecord, reads_every_account
from umbrella.orgs.models import Organization
from umbrella.ui.pages import ACTION_LABELS, entity_label, field_label
from umbrella.web.ledger_values import Names, model_of, referenced_names, secret_change, secret_fields, shown

ENTRIES_PER_PAGE = 50
RECORD_ID = re.compile(r"[0-9]+")
UNCHANGING = ("version", "updated_at", "updated_by_id")  # every update moves these; a reader wants the rest


class UtcDateField(forms.DateField):
    widget = forms.DateInput(attrs={"type": "date"})
    default_error_messages = {
        "invalid": gettext_lazy("“%(value)s” is not a date. Give it as year-month-day, such as 2026-03-01."),
    }

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(self.error_messages["invalid"], code="invalid", params={"value": value}) from None


class LedgerFilters(forms.Form):
    """The ledger's filters. A value the page cannot read is refused next to its filter, naming the value and
    what is expected, and nothing is listed until it is corrected: a filter half understood would list entries
    it was meant to leave out. A query parameter that is no filter at all (a misspelled name) is refused too."""

    entity = forms.ChoiceField(
        label=gettext_lazy("Kind of record"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("“%(value)s” is not a kind of record. Pick one from the list.")},
    )
    entity_id = forms.CharField(label=gettext_lazy("Record id"), required=False, max_length=64)
    organization = forms.ChoiceField(
        label=gettext_lazy("Organization that acted"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("“%(value)s” is not an organization. Pick one from the list.")},
    )
    person = forms.CharField(label=gettext_lazy("Person (user name)"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=gettext_lazy("Action"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("“%(value)s” is not an action. Pick one from the list.")},
    )
    since = UtcDateField(label=gettext_lazy("From (UTC date)"), required=False)
    until = UtcDateField(label=gettext_lazy("To (UTC date, inclusive)"), required=False)

    def __init__(self, data: Any, *, readable: QuerySet[ChangeRecord], actor: Actor):
        super().__init__(data)
        self.readable, self.actor = readable, actor
        self._offer("entity", _distinct(readable, "entity"), known=_ledgered_kinds, label=entity_label)
        self._offer("organization", _distinct(readable, "actor_organization"), known=_organization_names, label=str)
        self._offer("action", _distinct(readable, "action"), known=lambda: set(ACTION_LABELS), label=_action_label)

    def _offer(self, name: str, values: list[str], *, known: Callable[[], Collection[str]], label: Callable[[str], Any]) -> None:
        """Offers the values of the entries the reader may read. A value asked for that names something (a kind
        of record, an organization, an action) of which the reader has no entry is offered too, so it lists
        nothing rather than being refused as unknown, as on every list page."""
        asked = self.data.get(name, "") if self.is_bound else ""
        if asked and asked not in values and asked in known():
            values = [*values, asked]
        self.fields[name].choices = [("", _("all")), *sorted(((value, label(value)) for value in values), key=_by_label)]

    def clean_entity_id(self) -> str:
        value = self.cleaned_data["entity_id"]
        if value and not RECORD_ID.fullmatch(value):
            raise ValidationError(
                _("“%(value)s” is not a record id. A record id is a whole number, such as 42."), params={"value": value}
            )
        return str(int(value)) if value else value

    def clean_person(self) -> str:
        person = self.cleaned_data["person"].strip()
        if person and not _known_person(person, self.readable, self.actor):
            raise ValidationError(
                _("“%(value)s” is not the user name of anyone whose changes you may see."), params={"value": person}
            )
        return person

    def _post_clean(self) -> None:
        """Ties each refused filter's message to its field for a screen reader, as the page shows it under it."""
        super()._post_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs.update({"aria-describedby": f"{self[name].auto_id}_error"})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("since") and cleaned.get("until") and cleaned["since"] > cleaned["until"]:
            self.add_error("until", _("The end of the time range is before its start."))
        for name in sorted(set(self.data) - set(self.fields) - {"page"}):
            self.add_error(
                None,
                _("This page has no filter called “%(name)s”. Its filters are: %(filters)s.")
                % {"name": name, "filters": ", ".join(self.fields)},
            )
        return cleaned


def _by_label(choice: tuple[str, Any]) -> str:
    return str(choice[1]).lower()


def _action_label(action: str) -> Any:
    return ACTION_LABELS.get(action, action)


def _ledgered_kinds() -> set[str]:
    return {model._meta.label_lower for model in apps.get_models() if getattr(model, "ledgered", False)}


def _organization_names() -> set[str]:
    return set(Organization.objects.values_list("name", flat=True))


def _known_person(name: str, readable: QuerySet[ChangeRecord], actor: Actor) -> bool:
    """Whether `name` (in any case) is someone the reader may know of: the maker of an entry it may know the maker
    of, or an account it may know (coordination staff: any; anyone else: those of its own organization)."""
    if with_known_actor(readable, actor).filter(actor_user__iexact=name).exists():
        return True
    accounts = get_user_model().objects.filter(username__iexact=name)
    if reads_every_account(actor):
        return accounts.exists()
    return actor.organization is not None and accounts.filter(memberships__organization=actor.organization).exists()


def _distinct(entries: QuerySet[ChangeRecord], name: str) -> list[str]:
    return list(entries.order_by().values_list(name, flat=True).distinct())


def filter_entries(entries: QuerySet[ChangeRecord], filters: dict[str, Any], actor: Actor) -> QuerySet[ChangeRecord]:
    exact = {"entity": "entity", "entity_id": "entity_id", "organization": "actor_organization", "action": "action"}
    entries = entries.filter(**{lookup: filters[name].strip() for name, lookup in exact.items() if filters.get(name)})
    if filters.get("person"):
        entries = with_known_actor(entries, actor).filter(actor_user__iexact=filters["person"])
    if filters.get("since"):
        entries = entries.filter(at__date__gte=filters["since"])
    if filters.get("until"):
        entries = entries.filter(at__date__lte=filters["until"])
    return entries


def entry_changes(entry: ChangeRecord, names: Names) -> list[dict[str, str | None]]:
    """What the entry changed, field by field, each field and value as the reader reads it (a creation lists
    what was set, a deletion what was removed); private keys are never shown, secrets only as set or changed."""
    model = model_of(entry.entity)
    before, after = entry.before or {}, entry.after or {}
    fields = sorted(
        name
        for name in set(before) | set(after)
        if name not in UNCHANGING
        and name not in PRIVATE_KEYS
        and before.get(name) != after.get(name)
        and (before.get(name) not in (None, "") or after.get(name) not in (None, ""))
    )
    created = entry.before is None  # a creation has no "before" to show
    secret = secret_fields(model)
    changes = []
    for name in fields:
        if name in secret:
            shown_before, shown_after = secret_change(before.get(name), after.get(name), created=created)
        else:
            shown_before = None if created else shown(model, name, before.get(name), names)
            shown_after = shown(model, name, after.get(name), names)
        changes.append({"field": field_label(model, name) if model else name, "before": shown_before, "after": shown_after})
    return changes


def entry_row(entry: ChangeRecord, actor: Actor, names: Names) -> dict[str, Any]:
    return {
        "sequence": entry.sequence,
        "at": entry.at,
        "action": ACTION_LABELS.get(entry.action, entry.action),
        "what": entity_label(entry.entity),
        "entity_id": entry.entity_id,
        "record_filter": urlencode({"entity": entry.entity, "entity_id": entry.entity_id}),
        "user": entry.actor_user if may_know_actor(entry, actor) else None,
        "organization": entry.actor_organization,
        "changes": entry_changes(entry, names),
        "leaf_hash": entry.leaf_hash,
    }


@login_required
def ledger_entries(request: HttpRequest) -> HttpResponse:
    readable = ChangeRecord.objects.visible_to(request.actor)
    form = LedgerFilters(request.GET or None, readable=readable, actor=request.actor)
    if form.is_bound and not form.is_valid():
        entries, status = readable.none(), 400
    else:
        entries, status = filter_entries(readable, form.cleaned_data if form.is_bound else {}, request.actor), 200
    page = Paginator(entries.order_by("-sequence"), ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    shown_entries = list(page.object_list)
    names = referenced_names(shown_entries, request.actor)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "title": _("Ledger"),
        "form": form,
        "page": page,
        "rows": [entry_row(entry, request.actor, names) for entry in shown_entries],
        "total_entries": ChangeRecord.objects.count(),
        "readable_entries": readable.count(),
        "querystring": query.urlencode(),
    }
    context["unreadable_entries"] = context["total_entries"] - context["readable_entries"]
    return render(request, "web/ledger.html", {"page": context}, status=status)


@require_POST
@login_required
def ledger_checkpoint(request: HttpRequest) -> HttpResponse:
    """A checkpoint signed now, exactly as `umbrella ledger checkpoint --json` writes it, kept like the
    command keeps it."""
    with transaction.atomic():
        if not ChangeRecord.objects.exists():
            raise Invalid({"ledger": [_("The ledger is empty.")]})
        signed = current_checkpoint()
    response = HttpResponse(json.dumps(signed, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="umbrella-checkpoint-{signed["tree_size"]}.json"'
    return response
