"""Base models shared by every capability, and the change ledger."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from umbrella.core.access import Actor, Marking, OrganizationKind, VisibleQuerySet, visible_markings


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

    ledgered = True  # every change goes through the services and the ledger (checked by `umbrella ledger verify`)
    # Fields the services own: never taken from a form, an import row or an API body.
    PROTECTED_FIELDS = frozenset({"id", "owner", "owner_id", "version", "created_at", "updated_at", "created_by", "updated_by"})

    class Meta:
        abstract = True


def account_entity() -> str:
    return settings.AUTH_USER_MODEL.lower()


def reads_every_account(actor: Actor) -> bool:
    """Coordination staff read every account's entries; anyone else only those of its own organization's people."""
    return actor.is_system or actor.kind == OrganizationKind.COORDINATOR


class ChangeRecordQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> ChangeRecordQuerySet:
        """The entries an actor reads in full: those about records of its own organization or of a marking it
        sees (the marking the record had when the entry was written), and about a person's account only if
        the reader is coordination staff or of an organization that person belongs to. Others are known only
        by their hash."""
        if actor.is_system:
            return self
        condition = models.Q(marking__in=visible_markings(actor))
        if actor.organization is not None:
            condition |= models.Q(owner=actor.organization.code)
        if reads_every_account(actor):
            return self.filter(condition)
        accounts = models.Q(entity=account_entity())
        if actor.organization is None:
            return self.filter(condition & ~accounts)
        own_people = (
            get_user_model()
            .objects.filter(memberships__organization=actor.organization)
            .values_list(Cast("pk", models.CharField()), flat=True)
        )
        return self.filter((condition & ~accounts) | (accounts & models.Q(entity_id__in=own_people)))


class ChangeRecord(models.Model):
    """One entry of the append-only ledger: who changed what, when, from what to what.

    Written only by `umbrella.core.ledger.record_changes`, in the same transaction as the change itself.
    Each entry carries the hash of the one before it and its own RFC 6962 leaf hash over its canonical
    JSON (with a random salt, so someone who sees only the hash cannot guess the content).
    """

    sequence = models.PositiveBigIntegerField(primary_key=True)
    at = models.DateTimeField()
    actor_user = models.CharField(max_length=150)
    actor_organization = models.CharField(max_length=200)
    request_id = models.CharField(max_length=100)
    action = models.CharField(max_length=40)
    entity = models.CharField(max_length=100)
    entity_id = models.CharField(max_length=64)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    marking = models.CharField(max_length=16, choices=Marking.choices)
    owner = models.CharField(max_length=16, blank=True, help_text="Code of the organization owning the record.")
    salt = models.CharField(max_length=32)
    previous_hash = models.CharField(max_length=64)
    leaf_hash = models.CharField(max_length=64)

    objects = ChangeRecordQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        # (entity, action, at): the steps of one kind in a period (the fair share's one-step handovers of a year)
        # are found without reading every entry of that kind of record.
        indexes = [models.Index(fields=["entity", "entity_id"]), models.Index(fields=["entity", "action", "at"])]

    def save(self, *args, **kwargs):
        if not kwargs.get("force_insert"):
            raise RuntimeError("ledger entries are only ever inserted")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("ledger entries are never deleted")


class LedgerHead(models.Model):
    """The size, last hash and frontier of the ledger: the one row every writer locks, so entries get gapless
    sequence numbers in commit order. A cache of the ledger's end; `umbrella ledger verify` checks it."""

    size = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    frontier = models.JSONField(
        default=list,
        help_text="Roots (hex) of the perfect subtrees that make up the Merkle tree of `size` entries, largest first.",
    )


class LedgerNode(models.Model):
    """The root of one perfect subtree of the ledger's Merkle tree, over leaves [index * 2**level, (index + 1) *
    2**level), for levels of 256 leaves and up: written by the append that completes it, so that a checkpoint
    or a proof reads a few of these and at most a few hundred leaf hashes instead of every leaf.

    Derived from the leaf hashes, not ledgered: `umbrella ledger verify` recomputes each one and reports any
    that disagrees, and `verify --since` trusts them only once they reproduce a signed root."""

    level = models.PositiveSmallIntegerField()
    index = models.PositiveBigIntegerField()
    root_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["level", "index"], name="one_ledger_node_per_subtree")]


class LedgerCheckpoint(models.Model):
    """A signed statement of the ledger's size and root at a moment, for nations to keep outside Umbrella."""

    tree_size = models.PositiveBigIntegerField()
    root_hash = models.CharField(max_length=64)
    timestamp = models.CharField(max_length=40)
    public_key = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["-tree_size", "-id"]


class IdempotencyRecord(models.Model):
    """The first response to a create sent with an Idempotency-Key, replayed when the same key comes again.

    Scoped to the organization and the user, so one organization's keys never collide with another's."""

    scope = models.CharField(max_length=100)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="one_response_per_idempotency_key")]
