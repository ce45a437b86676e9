"""A multilateral donor (the EU institutions, the EIB, the European Peace Facility): it pledges and funds as a
state does and is counted in every total, but it has no GDP of its own and never shares a fair-share floor."""

import datetime as dt
from decimal import Decimal

import pytest

from tests import factories
from tests.test_funding import disbursed, funding_fields
from umbrella.core.access import Actor, OrganizationKind, Role
from umbrella.core.errors import Invalid
from umbrella.funding import services as funding
from umbrella.funding.queries import fair_share
from umbrella.orgs import services as orgs
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import donor_codes
from umbrella.pledges import services as pledges


@pytest.fixture
def eu(personas):
    system = Actor.system("test")
    organization = orgs.create_organization(
        actor=personas.hq_admin, code="EU", name="EU (Commission and Council)", kind=OrganizationKind.MULTILATERAL
    )
    user = orgs.create_user(actor=system, username="ursula", password="a-long-enough-password-2026")
    orgs.set_membership(actor=system, user_id=user.pk, organization_id=organization.pk, role=Role.EDITOR)
    return Actor(user=user, organization=organization, role=Role.EDITOR)


@pytest.fixture
def gdp_2025(personas):
    for code, amount in {"XDA": "300", "XDB": "100"}.items():
        orgs.record_gdp(
            actor=personas.hq_admin,
            organization_id=Organization.objects.get(code=code).pk,
            year=2023,
            amount_bn=Decimal(amount),
            currency="EUR",
            source="test GDP",
        )


def test_a_multilateral_donor_pledges_and_funds_as_a_donor_does(personas, eu):
    pledge = pledges.create_pledge(
        actor=eu,
        sources=[factories.source()],
        fields={"item_type": factories.item_type(personas), "quantity": 3, "available_from": dt.date(2025, 5, 1)},
    )
    record = funding.create_funding(actor=eu, fields=funding_fields())
    assert (pledge.owner.code, record.owner.code) == ("EU", "EU")
    assert "EU" in donor_codes()


def test_a_multilateral_donor_is_never_a_fair_share_participant_even_when_named(personas, eu, gdp_2025):
    funding.configure_year(
        actor=personas.coordinator,
        fields={"year": 2025, "floor_eur": Decimal("1000000.00"), "participants": ["XDA", "XDB", "EU"]},
    )
    record = funding.create_funding(actor=eu, fields=funding_fields(amount=Decimal("700000")))
    funding.advance_funding(actor=eu, funding_id=record.pk, step="commit", expected_version=record.version)
    disbursed(personas, "donor_editor", "500000")
    report = fair_share(personas.coordinator, 2025)
    shares = {s.code: s for s in report.shares}
    assert set(shares) == {"XDA", "XDB"}
    assert (shares["XDA"].target_eur, shares["XDB"].target_eur) == (Decimal("750000.00"), Decimal("250000.00"))
    assert shares["XDA"].counted_eur == Decimal("500000.00")


def test_a_multilateral_donor_has_no_gdp_to_record(personas, eu):
    with pytest.raises(Invalid, match="no GDP of its own"):
        orgs.record_gdp(
            actor=personas.hq_admin,
            organization_id=eu.organization.pk,
            year=2023,
            amount_bn=Decimal(1),
            currency="EUR",
            source="",
        )
    assert not eu.organization.gdp_figures.exists()


def test_end_use_monitoring_stays_with_the_exporting_states():
    from umbrella.eum.services import DONORS as EUM_DONORS

    assert OrganizationKind.MULTILATERAL not in EUM_DONORS  # end-use obligations are undertaken by exporting states
