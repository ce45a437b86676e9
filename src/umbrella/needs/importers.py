"""Imports of requirements, through the core pipeline (their export: exports.py).

An import adds requirements to draft requirement lists: the one named with the `list` option (its id, or
its series, meaning that series' draft revision), else, row by row, the draft revision of the row's
`list_series`. An export carries `list_series`, so it imports back into that series' next draft."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.catalog.importers import item_type_by_code
from umbrella.core import imports
from umbrella.core.access import Marking, OrganizationKind
from umbrella.core.errors import Invalid, UnreadableFile
from umbrella.core.imports import Column, ImportContext
from umbrella.needs import services
from umbrella.needs.models import ListState, Requirement, RequirementList
from umbrella.places.importers import place_reference


def find_draft_list(actor, reference: str) -> RequirementList | None:
    lists = RequirementList.objects.visible_to(actor)
    if reference.isdigit():
        return lists.filter(pk=int(reference)).first()
    return lists.filter(series=reference, state=ListState.DRAFT).first()


@imports.register
class RequirementImporter(imports.Importer):
    organization_kinds = frozenset({OrganizationKind.RECIPIENT})
    example = {
        "item_type": "AMM-155-M795",
        "quantity": "2000",
        "priority": "1",
        "needed_by": "2026-12-31",
        "destination": "Kharkiv",
        "accept_substitutes": "yes",
        "marking": "coordination",
        "list_series": "UA-WINTER",
    }
    kind = "requirements"
    label = gettext_lazy("Requirements")
    columns = (
        Column("item_type", item_type_by_code),
        Column("quantity", imports.integer(minimum=1)),
        Column("priority", imports.integer(minimum=1, maximum=5)),
        Column("needed_by", imports.date),
        Column("destination", place_reference),
        Column("accept_substitutes", imports.boolean, required=False, default=True),
        Column("notes", imports.text(5000), required=False),
        Column("marking", imports.choice(Marking), required=False),
        Column("list_series", imports.text(40), required=False),
    )

    def prepare(self, context: ImportContext) -> None:
        reference = str(context.options.get("list") or "").strip()
        if not reference:
            return
        found = find_draft_list(context.actor, reference)
        if found is None:
            raise UnreadableFile(_("No draft requirement list %(reference)s that you can see.") % {"reference": repr(reference)})
        context.options["list_id"] = found.pk

    def _list_id(self, series: str | None, context: ImportContext) -> int:
        if "list_id" in context.options:
            return context.options["list_id"]
        if not series:
            raise Invalid({"list_series": [_("Name a draft list: give list_series here, or choose a list for the whole file.")]})
        key = ("draft-list", series)
        if key not in context.cache:
            found = find_draft_list(context.actor, series)
            context.cache[key] = found.pk if found is not None else None
        if context.cache[key] is None:
            raise Invalid(
                {"list_series": [_("No draft revision of series %(series)s that you can see.") % {"series": repr(series)}]}
            )
        return context.cache[key]

    def write(self, values: dict[str, Any], context: ImportContext) -> Requirement:
        list_id = self._list_id(values.pop("list_series", None), context)
        return services.create_requirement(actor=context.actor, list_id=list_id, fields=values)
