"""A withdrawal scenario, computed from live data and writing none of it.

Choose donors, a date and the role in which they stop (`WithdrawalRole`): as payers, the undelivered pledges
(accepted, allocated, shipped or partly delivered) they pay any share of and their funding not yet disbursed; as
suppliers, the undelivered pledges they deliver; as origin, the undelivered pledges made in their country; or all
of these. The matching is solved twice, on everything and on what remains (the pledges lost are withdrawn by id:
matching knows nothing of roles), both planning again every allocation not yet shipped, so the difference is the
donors' doing and not an artefact of earlier choices. The money lost each year is the withdrawing donors' own:
their funding (as payers) and their payer share of the pledges lost, in the instruments the year's counting rule
set counts; it is what the remaining participants of that year's floor would have to add, each at its GDP share
among them. Both kinds are treated alike in time: what was due before the start date and has not come — funding
of an earlier year still pledged or committed, a pledge available before the date and not yet delivered — is lost
too, counted in the start year (under that year's rules); what falls due later is lost in its own year.
docs/funding.md sets the rules out.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from umbrella.catalog.models import Compatibility, CompatibilityKind
from umbrella.core.access import Actor
from umbrella.core.errors import Invalid
from umbrella.core.numbers import share as share_text
from umbrella.funding import fairshare
from umbrella.funding.models import Funding, FundingState
from umbrella.funding.queries import gdp_in_common_unit, missing_for_report, participants_of, rules_for
from umbrella.matching import reasons as why
from umbrella.matching.inputs import UNDELIVERED_STATES
from umbrella.matching.market import Policy
from umbrella.matching.queries import reason_text, requirement_label
from umbrella.matching.solving import Computed, compute, latest_approved_list
from umbrella.orgs.models import Organization
from umbrella.pledges.models import OPEN_STATES, Pledge
from umbrella.scenarios.models import WithdrawalRole

EPSILON = 1e-9
NOT_DISBURSED = (FundingState.PLEDGED, FundingState.COMMITTED)
CENT = Decimal("0.01")
R = WithdrawalRole


@dataclass
class Lost:
    """A pledge the scenario withdraws, why (each role that loses it) and the withdrawing donors' share of its
    payment."""

    pledge: Pledge
    why: list[dict] = field(default_factory=list)
    donors_share: Decimal = Decimal(0)

    @property
    def label(self) -> str:
        return f"#{self.pledge.pk} {self.pledge}"


def _supplier_code(pledge: Pledge) -> str:
    return pledge.supplier.code if pledge.supplier_id else pledge.owner.code


def _why_text(reason: dict) -> str:
    if reason["role"] == R.PAYER:
        paid = Decimal(reason["share"])
        return _("paid by %(donor)s %(share)s") % {
            "donor": reason["donor"],
            "share": share_text(paid, 0 if (paid * 100) == (paid * 100).to_integral_value() else 2),
        }
    if reason["role"] == R.SUPPLIER:
        return _("supplied by %(donor)s") % {"donor": reason["donor"]}
    return _("made in %(country)s") % {"country": reason["country"]}


def why_text(why: list[dict]) -> str:
    """Why a pledge is lost, in the active language, from the parts kept (`Lost.why`)."""
    return "; ".join(_why_text(reason) for reason in why)


def uncovered_reason_text(item: dict, lost_rows: dict[int, dict]) -> str:
    """Why a requirement is now short, in the active language, from the parts kept: the matching's reason code,
    how late and the requirements named (`reason`, `late_days`, `named`), and the lost pledges that covered it
    before (`lost_pledges`, read from `lost_rows` by id), named first."""
    now = reason_text(item["reason"], item["late_days"], item["named"])
    gone = [lost_rows[pk] for pk in item["lost_pledges"] if pk in lost_rows]
    if gone:
        named = _("Covered before by pledges now lost: %(pledges)s.") % {
            "pledges": "; ".join(f"{row['label']} ({why_text(row['why'])})" for row in gone)
        }
        now = f"{named} {now}".strip()
    return now


def in_reader_language(results: dict, every_lost_pledge: list[dict] | None = None) -> dict:
    """A saved scenario's results with its sentences (`why_text`, `reason_text`, the flags' `text`) rendered
    again in the active language from the parts kept, so that each reader reads them in their own; results saved
    before the parts were kept keep the sentences stored. A page of the results (some of its lost pledges and
    uncovered requirements) names the lost pledges behind a requirement from `every_lost_pledge`."""
    lost_rows = [{**row, "why_text": why_text(row["why"])} if "why" in row else row for row in results.get("lost_pledges", [])]
    by_pk = {row["pledge"]: row for row in (lost_rows if every_lost_pledge is None else every_lost_pledge)}
    return {
        **results,
        **({"lost_pledges": lost_rows} if "lost_pledges" in results else {}),
        "no_other_supplier": [{**flag, "text": _("no other supplier")} for flag in results.get("no_other_supplier", [])],
        "uncovered": [
            {**item, "reason_text": uncovered_reason_text(item, by_pk)} if "named" in item else item
            for item in results["uncovered"]
        ],
    }


def _countries(donors: list[str], role: str) -> dict[str, str]:
    """Each withdrawing donor's country code → the donor's code; as origin, every donor must have one."""
    iso3 = dict(Organization.objects.filter(code__in=donors).values_list("code", "iso3"))
    if role == R.ORIGIN and (without := sorted(code for code in donors if not iso3.get(code))):
        raise Invalid(
            {
                "role": [
                    _("%(codes)s has no country code, so nothing is made there: choose another role.")
                    % {"codes": ", ".join(without)}
                ]
            }
        )
    return {country: code for code, country in iso3.items() if country}


def _lost_pledges(actor: Actor, donors: list[str], role: str, countries: dict[str, str]) -> dict[int, Lost]:
    """The undelivered pledges the role loses, by id, each with every reason it is lost."""
    paid = Q(payers__organization__code__in=donors) | Q(payers__isnull=True, owner__code__in=donors)
    supplied = Q(supplier__code__in=donors) | Q(supplier__isnull=True, owner__code__in=donors)
    made = Q(origin__in=list(countries))
    chosen = {R.PAYER: paid, R.SUPPLIER: supplied, R.ORIGIN: made, R.ALL: paid | supplied | made}[role]
    ids = Pledge.objects.visible_to(actor).filter(chosen, state__in=UNDELIVERED_STATES).values("pk")
    lost = {}
    for pledge in (
        Pledge.objects.visible_to(actor)
        .filter(pk__in=ids)
        .select_related("owner", "supplier", "item_type")
        .prefetch_related("payers__organization")
        .order_by("id")
    ):
        item = Lost(pledge)
        for code, part in pledge.payer_shares():
            if code in donors:
                item.donors_share += part
                if role in (R.PAYER, R.ALL):
                    item.why.append({"role": R.PAYER.value, "donor": code, "share": str(part)})
        if role in (R.SUPPLIER, R.ALL) and _supplier_code(pledge) in donors:
            item.why.append({"role": R.SUPPLIER.value, "donor": _supplier_code(pledge)})
        if role in (R.ORIGIN, R.ALL) and pledge.origin in countries:
            item.why.append({"role": R.ORIGIN.value, "donor": countries[pledge.origin], "country": pledge.origin})
        lost[pledge.pk] = item
    return lost


def _other_suppliers(actor: Actor, lost: dict[int, Lost], donors: list[str], countries: dict[str, str]) -> dict[int, list[str]]:
    """Who else supplies each item type among the lost pledges: the codes of those delivering an open pledge of
    the type, or of an item that substitutes for it, other than the withdrawing donors and made outside their
    countries. An empty list is "no other supplier". A pledge lost only because a withdrawing donor pays a share
    of it still shows that someone else supplies the item (the money can be found again; the industry cannot),
    so its supplier counts."""
    lost_types = {item.pledge.item_type_id for item in lost.values()}
    alternatives = {item_type: {item_type} for item_type in lost_types}
    for target, source in (
        Compatibility.objects.visible_to(actor)
        .filter(kind=CompatibilityKind.SUBSTITUTES_FOR, target_id__in=lost_types)
        .values_list("target_id", "source_id")
    ):
        alternatives[target].add(source)
    offered: dict[int, set[str]] = defaultdict(set)
    for item_type, supplier, owner in (
        Pledge.objects.visible_to(actor)
        .filter(state__in=OPEN_STATES, item_type_id__in=set().union(*alternatives.values()))
        .exclude(supplier__code__in=donors)
        .exclude(supplier__isnull=True, owner__code__in=donors)
        .exclude(origin__in=list(countries))
        .values_list("item_type_id", "supplier__code", "owner__code")
    ):
        offered[item_type].add(supplier or owner)
    return {item_type: sorted(set().union(*(offered[other] for other in others))) for item_type, others in alternatives.items()}


class RulesByYear(dict):
    """Each year's counting rule set (`funding.queries.rules_for`), read once per year."""

    def __init__(self, actor: Actor):
        super().__init__()
        self.actor = actor

    def __missing__(self, year: int):
        self[year] = rules_for(self.actor, year)
        return self[year]


def _lost_year(pledge: Pledge, as_of: dt.date) -> int:
    return max(pledge.available_from.year, as_of.year)


def _undelivered_value(pledge: Pledge) -> Decimal:
    """The value of what has not arrived (all of it when the quantity is undisclosed)."""
    if not pledge.quantity:
        return pledge.value_eur
    return pledge.value_eur * (pledge.quantity - pledge.quantity_delivered) / pledge.quantity


def _money_lost(rules: RulesByYear, lost: Lost, as_of: dt.date) -> Decimal:
    """The withdrawing donors' share of what the pledge has not delivered, if its instrument counts."""
    if lost.pledge.instrument not in rules[_lost_year(lost.pledge, as_of)].goods_instruments:
        return Decimal(0)
    return (_undelivered_value(lost.pledge) * lost.donors_share).quantize(CENT)


def _lost_pledge_rows(rules: RulesByYear, lost: dict[int, Lost], others: dict[int, list[str]], as_of: dt.date) -> list[dict]:
    return [
        {
            "pledge": pk,
            "label": item.label,
            "reference": item.pledge.reference,
            "owner": item.pledge.owner.code,
            "supplier": _supplier_code(item.pledge),
            "origin": item.pledge.origin,
            "item_type": item.pledge.item_type.code,
            "item_name": item.pledge.item_type.name,
            "state": item.pledge.state,
            "quantity": item.pledge.quantity,
            "quantity_delivered": item.pledge.quantity_delivered,
            "value_eur": str(item.pledge.value_eur),
            "instrument": item.pledge.instrument,
            "money_lost_eur": str(_money_lost(rules, item, as_of)),
            "why": item.why,
            "why_text": why_text(item.why),
            "other_suppliers": others[item.pledge.item_type_id],
            "no_other_supplier": not others[item.pledge.item_type_id],
        }
        for pk, item in sorted(lost.items())
    ]


def _lost_by_year(
    actor: Actor, rules: RulesByYear, donors: list[str], as_of: dt.date, role: str, lost: dict[int, Lost]
) -> dict[int, dict[str, str]]:
    """Money the withdrawing donors no longer give, by year: their funding not yet disbursed (as payers) in the
    instruments the year's rule set counts, and their payer share of the lost pledges' undelivered value. What
    was due before the start date and has not come (funding of an earlier year not yet disbursed, a pledge
    available before it and not yet delivered) is lost in the start year, under that year's rules."""
    parts: dict[int, dict[str, Decimal]] = defaultdict(lambda: {"funding_eur": Decimal(0), "in_kind_eur": Decimal(0)})
    if role in (R.PAYER, R.ALL):
        funding = (
            Funding.objects.visible_to(actor)
            .filter(owner__code__in=donors, state__in=NOT_DISBURSED)
            .values("year", "instrument")
            .annotate(total=Sum("value_eur"))
        )
        for row in funding:
            year = max(row["year"], as_of.year)
            if row["instrument"] in rules[year].money_instruments:
                parts[year]["funding_eur"] += Decimal(row["total"])
    for item in lost.values():
        money = _money_lost(rules, item, as_of)
        if money:
            parts[_lost_year(item.pledge, as_of)]["in_kind_eur"] += money
    return {
        year: {
            **{k: str(v.quantize(CENT)) for k, v in money.items()},
            "total_eur": str((money["funding_eur"] + money["in_kind_eur"]).quantize(CENT)),
        }
        for year, money in sorted(parts.items())
        if money["funding_eur"] or money["in_kind_eur"]
    }


def _covered(computed: Computed) -> dict[int, float]:
    return {r.pk: o.covered for r, o in zip(computed.rows.requirements, computed.explanation.requirements, strict=True)}


def _covering(computed: Computed) -> dict[int, set[int]]:
    """The pledges that cover each requirement in a solution: its kept allocations and the flows proposed."""
    rows, candidates = computed.rows, computed.candidates
    found: dict[int, set[int]] = defaultdict(set)
    for allocation in rows.kept:
        found[allocation.requirement_id].add(allocation.pledge_id)
    for position in (computed.solution.flow > why.EPSILON).nonzero()[0].tolist():
        arc = candidates.usable[position]
        found[rows.requirements[int(candidates.requirement[arc])].pk].add(rows.pledges[int(candidates.offer[arc])].pk)
    return found


def _uncovered(before: Computed, after: Computed, lost_rows: dict[int, dict]) -> list[dict]:
    """Each requirement covered less after than before, with the reason it is now short; when pledges now lost
    covered it before, the reason names them first. The reason's parts are kept with the sentence, so a page
    can say it again in its reader's language (`in_reader_language`)."""
    was, covering = _covered(before), _covering(before)
    out = []
    for requirement, outcome in zip(after.rows.requirements, after.explanation.requirements, strict=True):
        if outcome.covered < was.get(requirement.pk, 0.0) - EPSILON:
            item = {
                "requirement": requirement.pk,
                "label": requirement_label(requirement),
                "priority": requirement.priority,
                "area": requirement.item_type.capability_area.name,
                "quantity": requirement.quantity,
                "covered_before": was[requirement.pk],
                "covered_after": outcome.covered,
                "status_after": outcome.status,
                "reason": outcome.reason,
                "late_days": int(outcome.late_days),
                "named": [requirement_label(after.rows.requirements[i]) for i in outcome.named],
                "lost_pledges": sorted(covering.get(requirement.pk, set()) & set(lost_rows)),
            }
            out.append({**item, "reason_text": uncovered_reason_text(item, lost_rows)})
    return sorted(out, key=lambda u: (u["priority"], u["requirement"]))


def _top_ups(actor: Actor, lost: dict[int, dict[str, str]], donors: list[str]) -> dict[int, list[dict]]:
    """Each year's top-ups among the remaining participants of its floor, for the years whose fair shares can be
    worked out (the results' `top_ups_missing` says what each other year lacks, as `umbrella fair-share` does)."""
    top_ups = {}
    for year, parts in lost.items():
        if missing_for_report(actor, year):
            continue
        _floor, organizations, _exemptions, _configured = participants_of(actor, year)
        remaining = [o for o in organizations if o.code not in donors]
        gdp, _unit, _missing = gdp_in_common_unit(year, remaining)
        participants = [fairshare.Participant(o.code, o.name, gdp[o.code]) for o in remaining if o.code in gdp]
        if not participants or Decimal(parts["total_eur"]) <= 0:
            continue
        split = fairshare.targets(Decimal(parts["total_eur"]), participants)
        total_gdp = sum(p.gdp_eur for p in participants)
        top_ups[year] = sorted(
            (
                {"code": p.code, "name": p.name, "gdp_share": float(p.gdp_eur / total_gdp), "top_up_eur": str(split[p.code])}
                for p in participants
            ),
            key=lambda t: -Decimal(t["top_up_eur"]),
        )
    return top_ups


def analyse(*, actor: Actor, donors: list[str], as_of: dt.date, role: str = WithdrawalRole.PAYER) -> dict:
    """What goes if `donors` stop from `as_of` in `role` (a `WithdrawalRole`; as payers by default, which is
    what "a donor stops" meant before payers, suppliers and origins were recorded: the pledges it paid for)."""
    known = set(Organization.objects.filter(code__in=donors).values_list("code", flat=True))
    unknown = sorted(set(donors) - known)
    if not donors or unknown:
        message = (
            _("No organization with the code %(codes)s.") % {"codes": ", ".join(unknown)}
            if unknown
            else _("Choose at least one donor.")
        )
        raise Invalid({"donors": [message]})
    if role not in WithdrawalRole.values:
        choices = ", ".join(WithdrawalRole.values)
        raise Invalid({"role": [_("Stop as one of: %(choices)s, not %(given)s.") % {"choices": choices, "given": role}]})
    role = WithdrawalRole(role)
    countries = _countries(donors, role)
    requirement_list = latest_approved_list(actor)
    lost = _lost_pledges(actor, donors, role, countries)
    others = _other_suppliers(actor, lost, donors, countries)
    rules = RulesByYear(actor)
    policy = Policy()
    before = compute(actor=actor, requirement_list=requirement_list, keep_approved=False, policy=policy)
    after = compute(
        actor=actor, requirement_list=requirement_list, keep_approved=False, policy=policy, withdrawn_pledges=frozenset(lost)
    )
    lost_rows = _lost_pledge_rows(rules, lost, others, as_of)
    uncovered = _uncovered(before, after, {row["pledge"]: row for row in lost_rows})
    by_area: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in uncovered:
        by_area[item["area"]][str(item["priority"])] += 1
    money = _lost_by_year(actor, rules, donors, as_of, role, lost)
    return {
        "donors": sorted(donors),
        "as_of": as_of.isoformat(),
        "role": role.value,
        "requirement_list": requirement_list.pk,
        "requirement_list_label": str(requirement_list),
        "coverage_points_before": round(before.coverage_points, 3),
        "coverage_points_after": round(after.coverage_points, 3),
        "points_available": round(float(before.points.sum()), 3),
        "pledges_dropped": before.rows.market.offers - after.rows.market.offers,
        "allocations_dropped": len(before.rows.kept)
        + len(before.rows.replanned)
        - len(after.rows.kept)
        - len(after.rows.replanned),
        "lost_pledges": lost_rows,
        "pledges_with_origin": Pledge.objects.visible_to(actor).filter(state__in=UNDELIVERED_STATES).exclude(origin="").count(),
        "no_other_supplier": _flags(lost_rows),
        "uncovered": uncovered,
        "uncovered_by_area_priority": {area: dict(counts) for area, counts in sorted(by_area.items())},
        "lost_by_year": {str(year): parts for year, parts in money.items()},
        "top_ups": {str(year): rows for year, rows in _top_ups(actor, money, donors).items()},
        "top_ups_missing": {str(year): missing for year in money if (missing := missing_for_report(actor, year))},
    }


def _flags(lost_rows: list[dict]) -> list[dict]:
    """The item types flagged "no other supplier", each with the lost pledges of it."""
    flags: dict[str, dict] = {}
    for row in lost_rows:
        if row["no_other_supplier"]:
            flag = flags.setdefault(
                row["item_type"],
                {"item_type": row["item_type"], "item_name": row["item_name"], "text": _("no other supplier"), "pledges": []},
            )
            flag["pledges"].append(row["pledge"])
    return sorted(flags.values(), key=lambda flag: flag["item_type"])
