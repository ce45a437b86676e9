"""The demo scenario at full size, through the real services and the `umbrella stats --json` command."""

import dataclasses
import io
import json
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum

from tests.conftest import ensure_base_data
from umbrella.catalog.models import Compatibility, ItemType, PackageRule
from umbrella.core.access import Actor, Marking
from umbrella.core.ledger import seal
from umbrella.core.models import ChangeRecord
from umbrella.core.verify import verify
from umbrella.demo import scenario
from umbrella.demo.training import SHOWCASES, Showcase
from umbrella.eum.models import Inventory, LossReport, Serial, Transfer
from umbrella.eum.queries import delinquency
from umbrella.eum.reads import schedule_differences
from umbrella.funding import counting
from umbrella.funding import queries as funding_queries
from umbrella.funding.models import Funding
from umbrella.logistics.models import ConsignmentLine
from umbrella.matching import reasons as why
from umbrella.matching.models import Allocation, MatchRun, ProposedAllocation, RequirementOutcome, RunState
from umbrella.places.models import PlaceKind
from umbrella.pledges.models import AidPackage, Pledge, PledgeSource
from umbrella.training.models import Course, CourseState, CourseType, Nomination, NominationState


# Committed stage by stage, as `umbrella demo` loads it. Inside one test transaction PostgreSQL keeps every
# version of the ledger head row (one per entry, 11,000 here) and every savepoint until the end, so each write
# costs more than the one before: on a quiet machine 135 s instead of 95 s.
@pytest.mark.django_db(transaction=True)
@pytest.mark.one_leg(
    "the demo at full scale, as the README's `umbrella demo` loads it, on SQLite; the PostgreSQL leg loads the same "
    "scenario at scale 0.1 for every suite that serves it (tests/demo_copies.py)"
)
def test_the_demo_loads_the_promised_sizes_and_stats_reports_them():
    ensure_base_data()
    summary = scenario.load(scale=1.0)
    out = io.StringIO()
    call_command("stats", json=True, stdout=out)
    stats = json.loads(out.getvalue())
    nations = scenario.read_donors()
    assert len(nations) >= 32 + 5 and sum(d["nato_member"] == "yes" for d in nations) == 32
    assert stats["organizations"]["by_kind"]["donor"] >= len(nations)
    assert stats["organizations"]["by_kind"]["recipient"] >= 1 and stats["organizations"]["by_kind"]["coordinator"] >= 1
    assert stats["gdp_figures"] >= len(nations)
    assert stats["item_types"]["total"] >= 150
    assert set(stats["item_types"]["by_capability_area"]) == {
        "air-force",
        "iamd",
        "artillery",
        "armour",
        "maritime",
        "it",
        "demining",
        "drones",
        "medical",
        "humanitarian",
        "other",
    }
    assert stats["requirements"]["on_approved_lists"] >= 500
    assert stats["pledges"]["total"] == summary.pledges >= 2000
    assert not Pledge.objects.filter(sources__isnull=True).exists()
    assert stats["pledge_sources"] == PledgeSource.objects.count() == summary.sources >= 2000
    assert stats["ledger_entries"] > stats["pledges"]["total"] + stats["pledge_sources"]
    assert not Pledge.objects.filter(marking=Marking.OWNER).exclude(state__in=["announced", "offered", "withdrawn"]).exists()
    report = verify()
    assert report.ok, report.as_dict()["first_problem"]
    assert report.size == stats["ledger_entries"]
    _the_demo_leaves_a_match_run_to_review_with_a_reason_for_every_gap(summary)
    _the_demo_accounts_for_every_sensitive_item_handed_over(summary)
    _the_demo_shares_the_2025_floor_among_the_allies(nations)
    _the_demo_trains_crews_and_leaves_packages_complete_at_one_city_and_short_of_one_element_at_three(summary)
    _the_largest_donor_withdrawing_leaves_gaps_with_reasons_and_top_ups_and_changes_nothing()
    _the_demo_announces_an_aid_package_whose_lines_keep_its_announced_value()
    _the_demo_pledges_name_payers_suppliers_and_origins_and_a_loan_counts_for_nothing()


def _the_demo_pledges_name_payers_suppliers_and_origins_and_a_loan_counts_for_nothing():
    """Issue #17 on the demo: a joint purchase paid by several states by share, part of it handed over and counted
    once among its payers; a US-made purchase another donor pays for; the US ERA loan, which the default rule set
    leaves uncounted (it would count under a rule set that counted loans)."""
    joint = Pledge.objects.get(reference="CZE-AMMO-2024-01")
    shares = dict(joint.payers.values_list("organization__code", "share"))
    assert len(shares) >= 5 and "CZE" not in shares and sum(shares.values()) == 1 and joint.instrument == "joint-purchase"
    assert 0 < joint.quantity_handed_over < joint.quantity
    staff = Actor.system("test")
    year = ConsignmentLine.objects.filter(allocation__pledge=joint, consignment__state="handed_over").values_list(
        "consignment__handover_date__year", flat=True
    )[0]
    assert funding_queries.handed_over_in_year(staff, year)[joint.pk] == joint.quantity_handed_over  # counted that year
    purl = Pledge.objects.get(reference="NLD-PURL-2025-01")
    assert (purl.owner.code, purl.supplier.code, purl.origin, purl.instrument) == ("NLD", "USA", "USA", "procurement")
    assert purl.state == "allocated" and not purl.payers.exists()  # the Netherlands pays all of it
    assert Pledge.objects.filter(supplier__code="USA").exclude(owner__code="USA").exists()
    loan = Funding.objects.get(owner__code="USA", instrument="loan", year=2024, state="disbursed")
    out = io.StringIO()
    call_command("fair-share", "--year", "2024", "--json", "--user", "hq-staff", stdout=out)
    usa = next(d for d in json.loads(out.getvalue())["donors"] if d["code"] == "USA")
    by_default = funding_queries.counted(staff, 2024, ["USA"])["USA"]
    loans_too = dataclasses.replace(counting.DISBURSEMENT, money_instruments=counting.DISBURSEMENT.money_instruments | {"loan"})
    assert Decimal(usa["counted_eur"]) == by_default.quantize(Decimal("0.01")) > 0
    assert funding_queries.counted(staff, 2024, ["USA"], loans_too)["USA"] == by_default + loan.value_eur


def _the_demo_announces_an_aid_package_whose_lines_keep_its_announced_value():
    (package,) = AidPackage.objects.all()
    lines = Pledge.objects.filter(aid_package=package)
    assert (package.currency, package.announced_amount) == ("USD", Decimal("2500000000.00"))
    assert package.value_eur == (package.announced_amount / package.units_per_eur).quantize(Decimal("0.01"))
    assert lines.filter(quantity__isnull=True).count() == 2
    assert lines.aggregate(total=Sum("value_eur"))["total"] == package.value_eur


def _the_largest_donor_withdrawing_leaves_gaps_with_reasons_and_top_ups_and_changes_nothing():
    largest = Pledge.objects.values("owner__code").annotate(value=Sum("value_eur")).order_by("-value").first()["owner__code"]
    entries = ChangeRecord.objects.count()
    out = io.StringIO()
    call_command("scenario", "--donors", largest, "--date", "2026-01-01", "--user", "hq-staff", "--json", stdout=out)
    results = json.loads(out.getvalue())
    assert results["uncovered"] and all(item["reason"] and item["reason_text"] for item in results["uncovered"])
    assert results["top_ups"] and all(largest not in {t["code"] for t in rows} for rows in results["top_ups"].values())
    for year, rows in results["top_ups"].items():
        assert sum(Decimal(t["top_up_eur"]) for t in rows) == Decimal(results["lost_by_year"][year]["total_eur"])
    assert ChangeRecord.objects.count() == entries and verify().ok


def _package_at(showcase: Showcase) -> dict[str, bool]:
    """The showcase city's package of its system, counted from the tables as readiness counts it: systems handed
    over against those allocated there, munitions and spares handed over there, graduates of units stationed there."""
    system = ItemType.objects.get(code=showcase.system)
    rule = PackageRule.objects.get(system=system)
    expected = sum(
        Allocation.objects.filter(
            state="active", pledge__item_type=system, requirement__destination__code=showcase.destination
        ).values_list("quantity", flat=True)
    )
    lines = ConsignmentLine.objects.filter(
        consignment__state="handed_over", allocation__requirement__destination__code=showcase.destination
    )

    def on_hand(items) -> int:
        return sum(line.quantity_received or line.quantity for line in lines.filter(allocation__pledge__item_type__in=items))

    munitions = Compatibility.objects.filter(kind="fires", source=system).values_list("target_id", flat=True)
    spares = Compatibility.objects.filter(kind="spares-for", target=system).values_list("source_id", flat=True)
    people = Nomination.objects.filter(
        unit__station__code=showcase.destination, course__course_type__system=system, state=NominationState.GRADUATED
    ).count()
    return {
        "systems": on_hand([system.pk]) >= expected > 0,
        "munitions": on_hand(munitions) >= expected * rule.rounds_per_day * rule.days_of_supply,
        "spares": on_hand(spares) >= expected * rule.spare_kits_per_system,
        "crews": people // system.crew_size >= expected * rule.crews_per_system,
    }


def _the_demo_trains_crews_and_leaves_packages_complete_at_one_city_and_short_of_one_element_at_three(summary):
    crew_served = ItemType.objects.filter(crew_size__isnull=False)
    assert summary.package_rules == PackageRule.objects.count() == crew_served.count() > 90
    assert not PackageRule.objects.filter(source="").exists()
    assert CourseType.objects.count() == 16 and not CourseType.objects.filter(source="").exists()
    assert summary.courses == Course.objects.count() and summary.nominations == Nomination.objects.count() > 100
    assert not Course.objects.exclude(site__kind=PlaceKind.TRAINING_SITE).exists()  # every course at a real site
    assert {state for state in Course.objects.values_list("state", flat=True)} >= {
        CourseState.OFFERED,
        CourseState.CONFIRMED,
        CourseState.COMPLETED,
    }
    states = set(Nomination.objects.values_list("state", flat=True))
    assert states >= {NominationState.NOMINATED, NominationState.ATTENDING, NominationState.GRADUATED, NominationState.FAILED}
    assert not Nomination.objects.exclude(trainee__regex=r"^T-[0-9]{6}$").exists()  # pseudonyms, never names
    missing = {showcase.case: [k for k, ok in _package_at(showcase).items() if not ok] for showcase in SHOWCASES}
    assert missing == {"complete": [], "crews": ["crews"], "spares": ["spares"], "munitions": ["munitions"]}
    rivne = next(showcase for showcase in SHOWCASES if showcase.case == "crews")
    handed_over = ConsignmentLine.objects.filter(
        consignment__state="handed_over",
        allocation__requirement__destination__code=rivne.destination,
        allocation__pledge__item_type__code=rivne.system,
    ).values_list("consignment__handover_date", flat=True)
    on_course = Course.objects.filter(
        course_type__system__code=rivne.system, nominations__unit__station__code=rivne.destination
    ).distinct()
    assert on_course.exists() and all(course.ends_on > max(handed_over) for course in on_course)  # the crews are late
    # Where the generated market sends crew-served systems, most still miss crews (as in the demo).
    expected = defaultdict(Decimal)
    for destination, system, quantity in Allocation.objects.filter(state="active", pledge__item_type__in=crew_served).values_list(
        "requirement__destination_id", "pledge__item_type_id", "quantity"
    ):
        expected[destination, system] += quantity
    graduates = Counter(
        Nomination.objects.filter(state=NominationState.GRADUATED).values_list(
            "unit__station_id", "course__course_type__system_id"
        )
    )
    rules = {rule.system_id: rule for rule in PackageRule.objects.select_related("system")}
    short = [
        pair
        for pair, count in expected.items()
        if graduates[pair] // rules[pair[1]].system.crew_size < count * rules[pair[1]].crews_per_system
    ]
    assert len(expected) > len(short) > len(expected) / 2


def _the_demo_shares_the_2025_floor_among_the_allies(nations):
    out = io.StringIO()
    call_command("fair-share", "--year", "2025", "--json", "--user", "hq-staff", stdout=out)
    report = json.loads(out.getvalue())
    allies = {d["iso3"] for d in nations if d["nato_member"] == "yes"}
    assert {d["code"] for d in report["donors"]} == allies
    assert report["targets_total_eur"] == report["floor_eur"] == "40000000000.00"
    assert sum(Decimal(d["target_eur"]) for d in report["donors"]) == Decimal("40000000000.00")
    assert all(Decimal(d["gap_eur"]) == max(Decimal(d["target_eur"]) - Decimal(d["counted_eur"]), 0) for d in report["donors"])
    assert Decimal(report["counted_total_eur"]) > 0


def _the_demo_accounts_for_every_sensitive_item_handed_over(summary):
    handed_over = {
        (line.allocation.pledge.item_type_id, serial)
        for line in ConsignmentLine.objects.filter(
            consignment__state="handed_over", allocation__pledge__item_type__sensitive=True
        ).select_related("allocation__pledge")
        for serial in line.received_serials
    }
    at_handover = Serial.objects.filter(consignment__isnull=False)
    assert summary.serials == Serial.objects.count() > at_handover.count() == len(handed_over) > 100
    assert set(at_handover.values_list("item_type_id", "serial")) == handed_over
    staff = Actor.system("test")
    today = delinquency(staff)
    assert 0 < today.delinquent.count < today.held.count  # a realistic mix: most on time, some delinquent
    assert Serial.objects.filter(last_sighted_on__isnull=False).exists()
    assert Inventory.objects.exclude(not_sighted=[]).exists()
    assert LossReport.objects.count() == 3 and LossReport.objects.filter(acknowledged_on__isnull=False).count() == 1
    assert Transfer.objects.filter(state="requested", kind="third_party").exists()
    assert schedule_differences() == []


def _the_demo_leaves_a_match_run_to_review_with_a_reason_for_every_gap(summary):
    decided, proposed = MatchRun.objects.order_by("id")
    assert (decided.state, proposed.state) == (RunState.DECIDED, RunState.PROPOSED)
    assert summary.allocations == Allocation.objects.count() > 100
    assert ProposedAllocation.objects.filter(run=proposed).exists()
    gaps = RequirementOutcome.objects.filter(run=proposed).exclude(status=why.MET)
    assert gaps.exists() and not gaps.filter(reason="").exists()
    assert seal(proposed.sealed_results()) == proposed.results_digest
    allocated = set(Allocation.objects.values_list("pledge_id", flat=True))
    moved_on = set(
        Pledge.objects.filter(state__in=["allocated", "shipped", "partly_delivered", "delivered", "handed_over"]).values_list(
            "pk", flat=True
        )
    )
    assert moved_on == allocated  # a pledge is allocated (and further) exactly when it has an allocation


def _load_and_sign(seed: int) -> list[tuple]:
    with transaction.atomic():
        scenario.load(scale=0.05, seed=seed)
        signature = sorted(
            Pledge.objects.values_list("owner__code", "item_type__code", "quantity", "state", "available_from", "marking"),
            key=str,  # an undisclosed quantity is None
        )
        transaction.set_rollback(True)
    return signature


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_scenario_and_another_seed_does_not():
    first = _load_and_sign(seed=7)
    showcase_pledges = sum(1 + len(showcase.supplies) for showcase in SHOWCASES)  # whatever the scale
    assert len(first) == (
        round(scenario.PLEDGES_PER_SCALE * 0.05)
        + showcase_pledges
        + len(scenario.PACKAGE_STORY_PLEDGES)
        + len(scenario.AID_PACKAGE_LINES)
        + len(scenario.ROLE_STORY_PLEDGES)
    )
    assert _load_and_sign(seed=7) == first
    assert _load_and_sign(seed=8) != first
