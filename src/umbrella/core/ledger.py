"""The ledger seam: every service writes one entry per change, inside the change's own transaction.

The hash-linked, signed form of this ledger arrives with the trust layer; its writers stay this one function.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from umbrella.core.access import Actor, Marking
from umbrella.core.models import ChangeRecord


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The stored values of a row, as canonical JSON-ready data (foreign keys by id)."""
    values = {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder, sort_keys=True))


def entity_name(obj: models.Model) -> str:
    return obj._meta.label_lower


def marking_of(obj: models.Model) -> str:
    marking = getattr(obj, "marking", None)
    if marking is None:
        parent = getattr(obj, "ledger_parent", None)
        marking = getattr(parent, "marking", None) if parent is not None else None
    return marking or Marking.PUBLIC


def record_change(
    *, actor: Actor, action: str, obj: models.Model, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> ChangeRecord:
    user = actor.user.get_username() if actor.user is not None else actor.label()
    organization = actor.organization.name if actor.organization is not None else actor.label()
    return ChangeRecord.objects.create(
        actor_user=user,
        actor_organization=organization,
        request_id=actor.request_id,
        action=action,
        entity=entity_name(obj),
        entity_id=str(obj.pk),
        before=before,
        after=after,
        marking=marking_of(obj),
    )


def history(obj: models.Model) -> models.QuerySet[ChangeRecord]:
    return ChangeRecord.objects.filter(entity=entity_name(obj), entity_id=str(obj.pk)).order_by("-sequence")
