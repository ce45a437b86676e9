"""What counts towards a year's floor: instruments, the year's rule set, goods at the value handed over in the year,
and money attributed to the payers of a pledge only, never twice (umbrella.funding.counting and its queries)."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests import factories
from tests.test_logistics import allocated, hand_over, receive, ship, step
from umbrella.core.access import Actor, OrganizationKind, Role
from umbrella.core.errors import Invalid
from umbrella.core.models import ChangeRecord
from umbrella.core.verify import verify
from umbrella.funding import counting
from umbrella.funding import services as funding
from umbrella.funding.models import FairShareYear
from umbrella.funding.queries import counted, fair_share
from umbrella.logistics import services as logistics
from umbrella.logistics.models import Consignment
from umbrella.matching import services as matching
from umbrella.matching.models import Allocation, AllocationState
from umbrella.needs import services as needs
from umbrella.orgs import services as orgs
from umbrella.orgs.queries import actor_for
from umbrella.orgs.services import issue_token
from umbrella.pledges import services as pledges
from umbrella.pledges.models import Pledge, PledgePayer

THIS_YEAR = timezone.localdate().year  # a handover is dated no later than today, so this year's floor
UNIT_EUR = Decimal("1000.00")  # factories.item_type's unit value

# --- the engine, pure ---------------------------------------------------------------------------------------


def goods(instrument=counting.IN_KIND, units=10, unit=Decimal(100), payers=(("USA", Decimal(1)),)):
    return counting.Goods(instrument, units, unit, tuple(payers))


def test_the_default_rule_set_counts_grants_disbursed_and_goods_handed_over_but_no_loan_or_guarantee():
    rules = counting.RULE_SETS[counting.DEFAULT_RULE_SET]
    money = [
        counting.Money("USA", counting.GRANT, counting.DISBURSED, Decimal(500)),
        counting.Money("USA", counting.GRANT, counting.COMMITTED, Decimal(7000)),
        counting.Money("USA", counting.LOAN, counting.DISBURSED, Decimal(20_000_000_000)),
        counting.Money("USA", counting.GUARANTEE, counting.DISBURSED, Decimal(300)),
        counting.Money("USA", counting.JOINT_PURCHASE, counting.DISBURSED, Decimal(900)),
    ]
    assert counting.counted(rules, money, [goods(), goods(counting.LOAN)]) == {"USA": Decimal(1500)}
    committing = counting.RULE_SETS["commitment/1"]
    assert counting.counted(committing, money, []) == {"USA": Decimal(7500)}


def test_goods_are_split_among_their_payers_by_share_and_add_up_to_their_value_once():
    shares = (("NLD", Decimal("0.5")), ("DNK", Decimal("0.3")), ("CZE", Decimal("0.2")))
    split = counting.counted(counting.DISBURSEMENT, [], [goods(units=6, unit=Decimal(250), payers=shares)])
    assert split == {"NLD": Decimal(750), "DNK": Decimal(450), "CZE": Decimal(300)}
    assert sum(split.values()) == 6 * 250


def test_nothing_handed_over_counts_for_nothing():
    assert counting.counted(counting.DISBURSEMENT, [], [goods(units=0)]) == {}


# --- with the database ----------------------------------------------------------------------------------------


@pytest.fixture
def allies(personas):
    """Organizations named as in real announcements, each with an editor, and a GDP figure; this year configured."""
    system = Actor.system("tests")
    actors = {}
    for code, name, gdp in (("USA", "United States", "27000"), ("NLD", "Netherlands", "1100"), ("CZE", "Czechia", "330")):
        organization = orgs.create_organization(actor=system, code=code, name=name, kind=OrganizationKind.DONOR, iso3=code)
        user = orgs.create_user(actor=system, username=f"liaison-{code.lower()}", password="persona-password-2026")
        orgs.set_membership(actor=system, user_id=user.pk, organization_id=organization.pk, role=Role.EDITOR)
        orgs.record_gdp(
            actor=personas.hq_admin,
            organization_id=organization.pk,
            year=2023,
            amount_bn=Decimal(gdp),
            currency="USD",
            source="test GDP",
        )
        actors[code] = actor_for(user)
    for code in ("XDA", "XDB"):
        orgs.record_gdp(
            actor=personas.hq_admin,
            organization_id=personas[{"XDA": "donor_editor", "XDB": "second_donor"}[code]].organization.pk,
            year=2023,
            amount_bn=Decimal("500"),
            currency="USD",
            source="test GDP",
        )
    funding.configure_year(
        actor=personas.coordinator, fields={"year": THIS_YEAR, "participants": ["USA", "NLD", "CZE", "XDA", "XDB"]}
    )
    return actors


@pytest.fixture
def places(personas):
    return factories.hub_and_city(personas)


def handed_over(personas, places, donor: Actor, quantity: int, **fields):
    """A pledge of `quantity` by `donor`, allocated to a requirement of the same quantity, shipped whole, received
    and handed over today; `fields` add its instrument, payers, supplier and origin."""
    item = factories.item_type(personas)
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": f"L-{item.code}", "title": "Counting", "marking": "participants"}
    )
    needs.create_requirement(
        actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(item, quantity=quantity)
    )
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    pledge = pledges.create_pledge(
        actor=donor,
        fields={"item_type": item, "quantity": quantity, "available_from": dt.date(THIS_YEAR, 1, 1), **fields},
        sources=[factories.source()],
    )
    pledge = pledges.advance_pledge(actor=donor, pledge_id=pledge.pk, step="offer", expected_version=pledge.version)
    pledges.advance_pledge(actor=personas.coordinator, pledge_id=pledge.pk, step="accept", expected_version=pledge.version)
    run = matching.run_match(actor=personas.coordinator)
    matching.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    allocation = Allocation.objects.get(pledge=pledge, state=AllocationState.ACTIVE)
    consignment = logistics.create_consignment(
        actor=donor,
        fields={"reference": f"CN-{Consignment.objects.count() + 1}"},
        lines=[{"allocation": allocation.pk, "quantity": quantity}],
        legs=[{"from_place": places["hub"], "to_place": places["lviv"], "mode": "road", "planned_arrival": dt.date(2026, 6, 1)}],
    )
    for name in ("dispatch", "reach_hub", "leave_hub"):
        consignment.refresh_from_db()
        logistics.advance_consignment(actor=donor, consignment_id=consignment.pk, step=name, expected_version=consignment.version)
    step(personas, consignment, "arrive", who="recipient")
    receive(personas, consignment)
    hand_over(personas, places, consignment)
    pledge.refresh_from_db()
    return pledge


def counted_now(personas, *codes):
    return {code: counted(personas.coordinator, THIS_YEAR, list(codes)).get(code, Decimal(0)) for code in codes}


@pytest.mark.django_db
def test_an_in_kind_pledge_of_14_with_6_handed_over_in_the_year_counts_6_times_its_unit_value(personas, places, allies):
    world = allocated(personas, quantity=14)
    first = ship(personas, places, world["allocation"], 6)
    ship(personas, places, world["allocation"], 8)  # on its way: not handed over, counts for nothing yet
    step(personas, first, "arrive", who="recipient")
    receive(personas, first)
    hand_over(personas, places, first)
    world["pledge"].refresh_from_db()
    assert (world["pledge"].quantity, world["pledge"].quantity_handed_over, world["pledge"].instrument) == (14, 6, "in-kind")
    assert counted_now(personas, "XDA") == {"XDA": 6 * UNIT_EUR}
    assert counted(personas.coordinator, THIS_YEAR - 1, ["XDA"]).get("XDA", 0) == 0  # handed over this year, not last


@pytest.mark.django_db
def test_a_joint_ammunition_purchase_organised_by_one_counts_once_split_among_its_payers(personas, places, allies):
    payers = "CZE 0.1; NLD 0.4; XDA 0.3; XDB 0.2"  # Czechia organises and pays a tenth
    pledge = handed_over(personas, places, allies["CZE"], 100, instrument="joint-purchase", payers=payers, origin="CZE")
    assert pledges.payers_text(pledge) == "NLD 0.4; XDA 0.3; XDB 0.2; CZE 0.1"
    split = counted_now(personas, "CZE", "NLD", "XDA", "XDB")
    assert split == {"CZE": 10 * UNIT_EUR, "NLD": 40 * UNIT_EUR, "XDA": 30 * UNIT_EUR, "XDB": 20 * UNIT_EUR}
    assert sum(split.values()) == pledge.value_eur == 100 * UNIT_EUR  # once, whoever organised it
    report = fair_share(personas.coordinator, THIS_YEAR)
    assert report.counted_total_eur == 100 * UNIT_EUR and report.rule_set == "disbursement/1"


@pytest.mark.django_db
def test_us_made_equipment_bought_from_the_nato_list_by_a_european_ally_counts_for_the_ally_not_the_us(personas, places, allies):
    handed_over(personas, places, allies["USA"], 4, instrument="procurement", supplier="USA", origin="USA", payers=[("NLD", "1")])
    assert counted_now(personas, "USA", "NLD") == {"USA": 0, "NLD": 4 * UNIT_EUR}


@pytest.mark.django_db
def test_a_system_bought_by_one_donor_from_another_donors_industry_counts_for_the_buyer(personas, places, allies):
    pledge = handed_over(personas, places, personas.donor_editor, 3, instrument="procurement", supplier="XDB", origin="POL")
    assert (pledge.supplier.code, pledge.origin, pledge.payer_shares()) == ("XDB", "POL", [("XDA", Decimal(1))])
    assert counted_now(personas, "XDA", "XDB") == {"XDA": 3 * UNIT_EUR, "XDB": 0}


@pytest.mark.django_db
def test_a_usd_20_bn_loan_leaves_the_united_states_counted_figure_unchanged(personas, allies):
    funding.record_rate(
        actor=personas.coordinator,
        fields={"currency": "USD", "date": dt.date(THIS_YEAR, 1, 2), "units_per_eur": "1.08", "source": "ECB"},
    )

    def disbursed(amount, instrument):
        fields = {
            "reference": f"US-{instrument}",
            "year": THIS_YEAR,
            "amount": Decimal(amount),
            "currency": "USD",
            "fx_date": dt.date(THIS_YEAR, 1, 2),
            "category": "purchase",
            "instrument": instrument,
            "source_document": "DoD release",
        }
        record = funding.create_funding(actor=allies["USA"], fields=fields)
        for name in ("commit", "disburse"):
            record = funding.advance_funding(
                actor=allies["USA"], funding_id=record.pk, step=name, expected_version=record.version
            )
        return record

    disbursed("1080000000", "grant")
    before = counted_now(personas, "USA")["USA"]
    assert before == Decimal("1000000000.00")
    loan = disbursed("20000000000", "loan")
    assert loan.value_eur > 18_000_000_000 and loan.instrument == "loan"
    assert counted_now(personas, "USA")["USA"] == before


@pytest.mark.django_db
def test_committed_grants_count_only_under_a_rule_set_that_counts_commitments(personas, allies):
    record = funding.create_funding(
        actor=personas.donor_editor,
        fields={
            "reference": "G-1",
            "year": THIS_YEAR,
            "amount": Decimal("5000"),
            "fx_date": dt.date(THIS_YEAR, 1, 2),
            "category": "purchase",
            "source_document": "budget line",
        },
    )
    funding.advance_funding(actor=personas.donor_editor, funding_id=record.pk, step="commit", expected_version=record.version)
    assert record.instrument == "grant" and counted_now(personas, "XDA") == {"XDA": 0}
    funding.configure_year(actor=personas.coordinator, fields={"year": THIS_YEAR, "rule_set": "commitment/1"})
    assert counted_now(personas, "XDA") == {"XDA": Decimal(5000)}
    out = io.StringIO()
    call_command("fair-share", "--year", str(THIS_YEAR), "--json", "--user", "cora", stdout=out)
    assert json.loads(out.getvalue())["rule_set"] == "commitment/1"


@pytest.mark.django_db
def test_payers_with_every_problem_are_refused_at_once_and_nothing_is_written(personas, allies):
    before = PledgePayer.objects.count()
    with pytest.raises(Invalid) as refused, transaction.atomic():
        factories_pledge_with(personas, payers="NLD 0.7; NLD 0.2; ZZZ 0.1; XDB 1.5")
    problems = " ".join(refused.value.field_errors["payers"])
    for expected in ("ZZZ", "Name each payer once: NLD", "share of XDB", "add up to 2.5"):
        assert expected in problems
    assert PledgePayer.objects.count() == before


@pytest.mark.django_db
def test_a_pledge_without_payers_is_paid_by_its_donor_and_payers_change_in_the_ledger(personas, allies):
    pledge = factories_pledge_with(personas)
    assert pledge.payer_shares() == [("XDA", Decimal(1))] and not pledge.payers.exists()
    pledge = pledges.update_pledge(
        actor=personas.donor_editor, pledge_id=pledge.pk, expected_version=pledge.version, changes={"payers": "XDA 0.5; NLD 0.5"}
    )
    pledge = pledges.update_pledge(
        actor=personas.donor_editor,
        pledge_id=pledge.pk,
        expected_version=pledge.version,
        changes={"payers": "XDA 0.25; CZE 0.75"},
    )
    assert sorted(pledge.payer_shares()) == [("CZE", Decimal("0.75")), ("XDA", Decimal("0.25"))]
    actions = list(ChangeRecord.objects.filter(entity="pledges.pledgepayer").values_list("action", flat=True))
    assert sorted(actions) == ["create", "create", "create", "delete", "update"]
    assert verify().ok
    assert pledge.payers.visible_to(personas.second_donor).count() == 0  # coordination-marked: seen with the pledge
    assert pledge.payers.visible_to(personas.coordinator).count() == 2


def factories_pledge_with(personas, **fields):
    return pledges.create_pledge(
        actor=personas.donor_editor,
        fields={"item_type": factories.item_type(personas), "quantity": 2, "available_from": dt.date(THIS_YEAR, 3, 1), **fields},
        sources=[factories.source()],
    )


@pytest.mark.django_db
def test_a_year_without_a_floor_or_gdp_figures_is_refused_naming_what_is_missing(personas):
    with pytest.raises(CommandError) as refused:
        call_command("fair-share", "--year", "2022", stdout=io.StringIO())
    assert refused.value.returncode == 2
    assert "No floor is configured for 2022" in str(refused.value) and "GDP figure" in str(refused.value)


@pytest.mark.django_db
def test_payers_supplier_and_origin_go_through_the_api_with_the_pledge_and_are_refused_together(personas, allies):
    _, secret = issue_token(
        actor=Actor.system("tests"),
        user_id=personas.donor_editor.user.pk,
        organization_id=personas.donor_editor.organization.pk,
        name="api",
    )
    donor = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {
        "item_type": factories.item_type(personas).code,
        "quantity": 4,
        "available_from": "2026-03-01",
        "instrument": "joint-purchase",
        "supplier": "CZE",
        "origin": "CZE",
        "payers": [{"organization": "XDA", "share": "0.75"}, {"organization": "NLD", "share": "0.25"}],
        "sources": [{"kind": "official", "url": "https://example.invalid/p", "date": "2026-01-15"}],
    }
    created = donor.post("/api/v1/pledges", body, content_type="application/json")
    assert created.status_code == 201, created.content
    pledge = created.json()
    assert (pledge["instrument"], pledge["supplier"], pledge["origin"]) == ("joint-purchase", "CZE", "CZE")
    assert [(p["organization"], Decimal(p["share"])) for p in pledge["payers"]] == [
        ("XDA", Decimal("0.75")),
        ("NLD", Decimal("0.25")),
    ]
    ledger = ChangeRecord.objects.count()
    refused = donor.post(
        "/api/v1/pledges",
        {**body, "payers": [{"organization": "ZZZ", "share": "0.5"}, {"organization": "NLD", "share": "0.25"}]},
        content_type="application/json",
    )
    assert refused.status_code == 422 and len(refused.json()["errors"]["payers"]) == 2  # unknown code, shares add up to 0.75
    assert ChangeRecord.objects.count() == ledger
    public = Client().get(f"/api/v1/pledges/{pledge['id']}")
    assert public.status_code in (401, 404)  # coordination-marked: its payers are no more visible than it


@pytest.mark.django_db
def test_an_exported_pledge_imports_again_with_its_instrument_supplier_origin_and_payers(personas, allies, tmp_path):
    factories_pledge_with(personas, instrument="procurement", supplier="XDB", origin="POL", payers="XDA 0.6; NLD 0.4")
    path = tmp_path / "pledges.csv"
    call_command("export", "pledges", "--format", "csv", "-o", str(path), "--user", "alice", stdout=io.StringIO())
    call_command("import", "pledges", str(path), "--user", "alice", stdout=io.StringIO())
    again = Pledge.objects.order_by("-pk").first()
    assert (again.instrument, again.supplier.code, again.origin) == ("procurement", "XDB", "POL")
    assert pledges.payers_text(again) == "XDA 0.6; NLD 0.4"


@pytest.mark.django_db
def test_the_pledge_pages_show_and_take_its_instrument_payers_supplier_and_origin(personas, allies, as_client):
    pledge = factories_pledge_with(personas, instrument="procurement", supplier="XDB", origin="POL")
    client = as_client("donor_editor")
    page = client.get(f"/pledges/{pledge.pk}/").content.decode()
    assert "procurement for the recipient" in page and "Donor B" in page and "POL" in page and "the donor, all of it" in page
    form = client.get(f"/pledges/{pledge.pk}/edit/").content.decode()
    assert all(f'name="pledge-{name}"' in form for name in ("instrument", "payers", "supplier", "origin"))
    refused = client.post(f"/pledges/{pledge.pk}/edit/", edit_data(pledge, "NLD 0.5; XDA 0.4"))
    assert refused.status_code == 400 and "add up to 0.9" in refused.content.decode()
    saved = client.post(f"/pledges/{pledge.pk}/edit/", edit_data(pledge, "NLD 0.5\nXDA 0.5"))
    assert saved.status_code == 302
    assert "Netherlands 50 %; Donor A 50 %" in client.get(f"/pledges/{pledge.pk}/").content.decode()
    assert pledges.payers_text(Pledge.objects.get(pk=pledge.pk)) == "NLD 0.5; XDA 0.5"  # as the form shows them again


def edit_data(pledge, payers: str):
    fields = {
        "payers": payers,
        "item_type": pledge.item_type_id,
        "quantity": pledge.quantity,
        "available_from": pledge.available_from.isoformat(),
        "value_eur": pledge.value_eur,
        "valuation_basis": pledge.valuation_basis,
        "instrument": pledge.instrument,
        "supplier": pledge.supplier_id or "",
        "origin": pledge.origin,
        "retransfer_requires_consent": "on",
        "marking": pledge.marking,
    }
    return {**{f"pledge-{name}": value for name, value in fields.items()}, "version": pledge.version}


@pytest.mark.django_db
def test_coordination_staff_choose_a_years_rule_set_with_a_command_and_a_donor_may_not(personas):
    out = io.StringIO()
    call_command(
        "fair-share-year",
        "--year",
        "2024",
        "--participants",
        "XDA,XDB",
        "--rule-set",
        "commitment/1",
        "--user",
        "cora",
        stdout=out,
    )
    assert "counted by commitment/1" in out.getvalue()
    assert FairShareYear.objects.get(year=2024).participants == ["XDA", "XDB"]
    with pytest.raises(CommandError) as refused:
        call_command("fair-share-year", "--year", "2024", "--rule-set", "disbursement/1", "--user", "alice", stdout=io.StringIO())
    assert refused.value.returncode == 2 and FairShareYear.objects.get(year=2024).rule_set == "commitment/1"


@pytest.mark.django_db
def test_a_pledge_handed_over_by_its_one_step_handover_counts_what_was_delivered_in_the_year_of_that_step(personas, allies):
    pledge = factories.advance(personas, factories.pledge(personas, quantity=5), "offer", "accept", "allocate", "ship")
    pledge = pledges.advance_pledge(
        actor=personas.recipient, pledge_id=pledge.pk, step="deliver", expected_version=pledge.version, quantity_delivered=4
    )
    assert counted_now(personas, "XDA") == {"XDA": 0}  # delivered, not yet handed over
    factories.advance(personas, pledge, "hand_over")
    assert counted_now(personas, "XDA") == {"XDA": 4 * UNIT_EUR}
