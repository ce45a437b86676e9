"""Ukrainian pages sort capability areas by their Ukrainian names in the Ukrainian alphabet (code points would put
І before А): the coverage table on the dashboard, and a scenario's losses by area."""

import re

import pytest
from django.utils import translation

from tests import factories
from tests.test_dashboards import accepted
from umbrella.catalog.models import CapabilityArea
from umbrella.core.collation import alphabetical_key
from umbrella.matching import services as matching
from umbrella.needs import services as needs
from umbrella.scenarios import services as scenarios

AREAS = ("it", "artillery", "drones", "armour", "iamd")
IN_UKRAINIAN_ORDER = ["Артилерія", "Безпілотники", "Бронетехніка", "Інтегрована протиповітряна та протиракетна оборона", "ІТ"]


def test_the_ukrainian_alphabet_puts_its_own_letters_in_place():
    words = ["Ящик", "Їжак", "Ґанок", "Гора", "Індія", "Єва", "Дім", "Ера", "Ива", "Жук", "Абрикос", "apple"]
    assert sorted(words, key=alphabetical_key) == [
        "apple",
        "Абрикос",
        "Гора",
        "Ґанок",
        "Дім",
        "Ера",
        "Єва",
        "Жук",
        "Ива",
        "Індія",
        "Їжак",
        "Ящик",
    ]


def approved_list_in_areas(personas):
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": "UA-ORDER", "title": "Order", "marking": "participants"}
    )
    for code in AREAS:
        item = factories.item_type(personas, capability_area=CapabilityArea.objects.get(code=code))
        needs.create_requirement(
            actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(item, quantity=3, priority=1)
        )
        accepted(personas, "donor_editor", item, 3)
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    return needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)


def rows_of(html: str, table_start: str) -> list[str]:
    table = html[html.index(table_start) :]
    table = table[: table.index("</table>")]
    return re.findall(r'<th scope="row">([^<]+)</th>', table)


def coverage_by_area(html: str) -> list[str]:
    """The dashboard's table of areas, the one after the table by priority."""
    after_priorities = html[html.index('id="coverage-by-priority"') :]
    return rows_of(after_priorities[after_priorities.index("</table>") + 1 :], "<table")


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["coordinator", "hq_admin", "auditor", "recipient"])
def test_the_dashboards_coverage_by_area_is_in_ukrainian_order(as_client, personas, persona):
    approved_list_in_areas(personas)
    matching.run_match(actor=personas.coordinator)
    client = as_client(persona)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="uk").content.decode()
    assert coverage_by_area(html) == IN_UKRAINIAN_ORDER
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    with translation.override("en"):
        assert coverage_by_area(english) == sorted(
            (str(CapabilityArea.objects.get(code=code).label) for code in AREAS), key=str.casefold
        )


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["coordinator", "hq_admin"])
def test_a_scenarios_losses_by_area_are_in_ukrainian_order(as_client, personas, persona):
    approved_list_in_areas(personas)
    scenario = scenarios.save_scenario(
        actor=personas[persona], name="Nobody", donors=["XDA"], as_of=factories.dt.date(2026, 1, 1)
    )
    html = as_client(persona).get(f"/scenarios/{scenario.pk}/", HTTP_ACCEPT_LANGUAGE="uk").content.decode()
    assert rows_of(html, 'aria-labelledby="areas"') == IN_UKRAINIAN_ORDER
