"""The tracker's heavy-weapons list beside Umbrella's own pledges, item type by item type (read side only).

The tracker names systems as it writes them ("M777 howitzer (183)"); the catalog's aliases (scheme kiel) say
which item type each name stands for. Umbrella's side counts only the pledges the reader may see, and says so
wherever a pledge behind a figure is hidden from the reader: a partial sum is never shown as the whole.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from umbrella.catalog.models import ItemType, ItemTypeAlias
from umbrella.catalog.queries import name_index, resolve_name
from umbrella.core.access import Actor
from umbrella.pledges.models import Pledge, PledgeState
from umbrella.tracker.models import TrackerRelease, WeaponsByCategory

# A withdrawn or expired pledge promises nothing; what a withdrawn pledge delivered before it closed short still
# counts as delivered, so those are kept for the delivered and handed-over columns.
NOT_PLEDGED = frozenset({PledgeState.WITHDRAWN, PledgeState.EXPIRED})


@dataclass
class WeaponsRow:
    code: str
    name: str
    tracker: int = 0
    tracker_names: set[str] = field(default_factory=set)
    pledged: int = 0
    delivered: int = 0
    handed_over: int = 0
    complete: bool = True  # False: pledges of this item type are hidden from the reader

    @property
    def gap(self) -> int:
        """How many more the tracker lists than Umbrella has pledged (negative: Umbrella holds more)."""
        return self.tracker - self.pledged

    def as_json(self) -> dict:
        return {
            "item_type": self.code,
            "name": self.name,
            "tracker": self.tracker,
            "tracker_names": sorted(self.tracker_names),
            "pledged": self.pledged,
            "delivered": self.delivered,
            "handed_over": self.handed_over,
            "gap": self.gap if self.complete else None,
            "complete": self.complete,
        }


@dataclass
class WeaponsComparison:
    release: TrackerRelease
    donor: str | None
    rows: list[WeaponsRow]
    unmapped: dict[str, int]  # tracker names no item type stands for, with their counts
    complete: bool
    # False: some of the catalog's item types or names are not released to the reader, so a name listed as
    # unmapped may well stand for an item type the reader may not see.
    names_complete: bool = True

    def as_json(self) -> dict:
        return {
            "release": str(self.release),
            "donor": self.donor,
            "complete": self.complete,
            "names_complete": self.names_complete,
            "rows": [row.as_json() for row in self.rows],
            "unmapped": [{"name": name, "tracker": count} for name, count in sorted(self.unmapped.items())],
        }


def handed_over(pledge: Pledge) -> int:
    """What reached the recipient's units: the consignments' handover count, or all that was delivered where the
    pledge was handed over by its lifecycle step alone (which records no quantity)."""
    if pledge.state == PledgeState.HANDED_OVER:
        return max(pledge.quantity_handed_over, pledge.quantity_delivered)
    return pledge.quantity_handed_over


def _same_pledges(pledges, item_type_ids, donor: str | None):
    chosen = pledges.filter(item_type_id__in=item_type_ids)
    return chosen if donor is None else chosen.filter(owner__code=donor)


def compare_weapons(actor: Actor, release: TrackerRelease, donor: str | None = None) -> WeaponsComparison:
    """The release's weapons list (one donor's where `donor` is an organization code) beside the pledges the actor
    may see for the same item types, largest tracker figure first."""
    listed = WeaponsByCategory.objects.visible_to(actor).filter(release=release).order_by("id")
    if donor is not None:
        listed = listed.filter(organization__code=donor)
    index = name_index(actor)
    rows: dict[int, WeaponsRow] = {}
    unmapped: dict[str, int] = defaultdict(int)
    for category in listed:
        for name, count in category.items:
            item = resolve_name(index, name)
            if item is None:
                unmapped[name] += count
                continue
            row = rows.setdefault(item.pk, WeaponsRow(item.code, item.name))
            row.tracker += count
            row.tracker_names.add(name)
    for pledge in _same_pledges(Pledge.objects.visible_to(actor), rows, donor).order_by("id"):
        row = rows[pledge.item_type_id]
        row.pledged += 0 if pledge.state in NOT_PLEDGED else pledge.quantity_due
        row.delivered += pledge.quantity_delivered
        row.handed_over += handed_over(pledge)
    hidden = _same_pledges(Pledge.objects.hidden_from(actor), rows, donor)
    if hidden.exists():
        for item_type_id, row in rows.items():
            row.complete = not hidden.filter(item_type_id=item_type_id).exists()
    ordered = sorted(rows.values(), key=lambda r: (-r.tracker, r.code))
    names_complete = not (ItemType.objects.hidden_from(actor).exists() or ItemTypeAlias.objects.hidden_from(actor).exists())
    return WeaponsComparison(
        release, donor, ordered, dict(unmapped), names_complete and all(row.complete for row in ordered), names_complete
    )
