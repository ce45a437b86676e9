"""Base models shared by every capability, and the change ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from umbrella.core.access import Marking, VisibleQuerySet


def marking_field(default: str = Marking.COORDINATION) -> models.CharField:
    """The marking column; a model whose records are shared more widely by default redeclares it."""
    return models.CharField(_("marking"), max_length=16, choices=Marking.choices, default=default)


class OwnedModel(models.Model):
    """A record that belongs to one organization, carries a marking, and is versioned for stale-write checks."""

    owner = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("owner"))
    marking = marking_field()
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    objects = VisibleQuerySet.as_manager()

    # Fields the services own: never taken from a form, an import row or an API body.
    PROTECTED_FIELDS = frozenset({"id", "owner", "owner_id", "version", "created_at", "updated_at", "created_by", "updated_by"})

    class Meta:
        abstract = True


class ChangeRecord(models.Model):
    """One entry of the append-only ledger: who changed what, when, from what to what.

    Written only by `umbrella.core.ledger.record_change`, in the same transaction as the change itself.
    """

    sequence = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(auto_now_add=True)
    actor_user = models.CharField(max_length=150)
    actor_organization = models.CharField(max_length=200)
    request_id = models.CharField(max_length=100)
    action = models.CharField(max_length=40)
    entity = models.CharField(max_length=100)
    entity_id = models.CharField(max_length=64)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    marking = models.CharField(max_length=16, choices=Marking.choices)

    class Meta:
        ordering = ["sequence"]
        indexes = [models.Index(fields=["entity", "entity_id"])]

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise RuntimeError("ledger entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("ledger entries are never deleted")
