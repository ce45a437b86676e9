"""The gazetteer: services that keep paths, a resolver that names the closest matches, the packaged places and
their importer, destinations that are places, conditions that follow the hierarchy, pages and API."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation

from tests import factories
from tests.test_matching import accepted_pledge
from umbrella.core.access import Actor, Marking
from umbrella.core.errors import Forbidden, Invalid
from umbrella.core.models import ChangeRecord
from umbrella.core.verify import verify
from umbrella.matching import services as matching
from umbrella.matching.models import ProposedAllocation
from umbrella.needs import services as needs
from umbrella.orgs.services import issue_token
from umbrella.places import legacy, services
from umbrella.places.importers import GAZETTEER
from umbrella.places.models import Place
from umbrella.places.queries import resolve_place
from umbrella.pledges import services as pledges
from umbrella.pledges.models import PledgeDestination

pytestmark = pytest.mark.django_db

UKRAINE_REGIONS = {
    *(f"UA-{n:02d}" for n in (5, 7, 9, 12, 14, 18, 21, 23, 26, 32, 35, 46, 48, 51, 53, 56, 59, 61, 63, 65, 68, 71, 74, 77)),
    "UA-30",
    "UA-40",
    "UA-43",
}


def code_of(text: str) -> str:
    return resolve_place(text).code


def test_the_resolver_takes_codes_names_aliases_and_transliterations_in_any_case():
    assert code_of("ua-63") == "UA-63"
    assert code_of("Kyiv") == code_of("Kiev") == code_of("київ") == code_of("  KYIV ") == "UA-30"
    assert code_of("Kharkov") == code_of("Харків") == "UA-KHARKIV"
    assert code_of("Rzeszow-Jasionka") == code_of("Rzeszów–Jasionka Airport") == "EPRZ"
    assert code_of("Constanta") == "ROCND" and code_of("Kosice") == "LZKZ"
    assert code_of("Lviv logistics base") == "UA-LVIV-LB"


def test_an_unknown_place_is_refused_naming_the_closest_matches():
    with pytest.raises(ValidationError) as refused:
        resolve_place("Ukrain")
    assert "Unknown place 'Ukrain': did you mean UA — Ukraine" in refused.value.messages[0]
    with pytest.raises(ValidationError) as refused:
        resolve_place("Zzzqqq")
    assert "Unknown place 'Zzzqqq'" in refused.value.messages[0]


def test_a_name_two_places_share_is_ambiguous_and_lists_both(personas):
    for code, region in (("UA-NOVO-1", "UA-77"), ("UA-NOVO-2", "UA-48")):
        services.create_place(
            actor=personas.coordinator,
            fields={"code": code, "kind": "city", "parent": Place.objects.get(code=region), "name_en": "Novoselytsia"},
        )
    with pytest.raises(ValidationError) as refused:
        resolve_place("novoselytsia")
    message = refused.value.messages[0]
    assert "ambiguous" in message and "UA-NOVO-1" in message and "UA-NOVO-2" in message
    assert code_of("UA-NOVO-2") == "UA-NOVO-2"


@pytest.mark.parametrize("persona", ["donor_editor", "recipient", "auditor"])
def test_only_coordination_editors_change_the_gazetteer(personas, persona):
    with pytest.raises(Forbidden):
        services.create_place(actor=personas[persona], fields={"code": "XX", "kind": "country", "name_en": "Nowhere"})


def test_moving_a_place_rewrites_the_paths_within_it_in_the_ledger_and_refuses_cycles(personas):
    staff = personas.coordinator
    land = services.create_place(actor=staff, fields={"code": "QA", "kind": "country", "name_en": "Testland"})
    other = services.create_place(actor=staff, fields={"code": "QB", "kind": "country", "name_en": "Otherland"})
    region = services.create_place(actor=staff, fields={"code": "QA-1", "kind": "region", "parent": land, "name_en": "North"})
    city = services.create_place(actor=staff, fields={"code": "QA-1-C", "kind": "city", "parent": region, "name_en": "Town"})
    assert city.path == "QA/QA-1/QA-1-C"
    entries = ChangeRecord.objects.count()
    services.update_place(actor=staff, place_id=region.pk, expected_version=region.version, changes={"parent": other})
    city.refresh_from_db()
    assert city.path == "QB/QA-1/QA-1-C" and city.version == 2
    assert ChangeRecord.objects.count() == entries + 2  # the region and the city within it
    region.refresh_from_db()
    with pytest.raises(Invalid) as refused:
        services.update_place(actor=staff, place_id=region.pk, expected_version=region.version, changes={"parent": city})
    assert "parent" in refused.value.field_errors
    with pytest.raises(Invalid):  # a region needs a country above it
        services.create_place(actor=staff, fields={"code": "QC-1", "kind": "region", "name_en": "Orphan"})
    assert verify().ok


def test_the_packaged_gazetteer_has_every_region_of_ukraine_the_hubs_and_a_source_for_each_row():
    rows = list(csv.DictReader(GAZETTEER.open(encoding="utf-8")))
    assert all(row["source"] for row in rows)
    regions = {row["code"] for row in rows if row["parent"] == "UA" and row["kind"] == "region"}
    assert regions == UKRAINE_REGIONS and len(regions) == 27
    assert all(row["name_uk"] for row in rows if row["code"] in UKRAINE_REGIONS)
    hubs = {row["code"]: row for row in rows if row["hub_capacity"]}
    assert {"EPRZ", "ROCND", "LZKZ", "ETAR"} <= set(hubs)
    assert all("assumption" in row["source"] for row in hubs.values())  # figures the demo assumes say so
    rzeszow = Place.objects.get(code="EPRZ")
    assert rzeszow.path == "PL/PL-18/EPRZ" and rzeszow.is_hub and rzeszow.latitude == Decimal("50.11000")


def test_a_places_file_with_an_unknown_parent_writes_nothing_and_names_the_closest(personas, tmp_path):
    path = tmp_path / "places.csv"
    path.write_text("code,kind,parent,name_en\nUA-TEST-1,city,UA-63,Chuhuiv\nUA-TEST-2,city,Ukrain,Lozova\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("import", "places", str(path), user="cora", stdout=out)
    assert "did you mean UA — Ukraine" in out.getvalue() + str(failed.value)
    assert not Place.objects.filter(code__startswith="UA-TEST").exists()
    path.write_text("code,kind,parent,name_en\nUA-TEST-1,city,UA-63,Chuhuiv\nUA-TEST-2,city,UA-TEST-1,Depot\n", encoding="utf-8")
    call_command("import", "places", str(path), user="cora", stdout=out)
    assert Place.objects.get(code="UA-TEST-2").path == "UA/UA-63/UA-TEST-1/UA-TEST-2"


def test_a_requirement_names_its_destination_by_alias_and_an_unknown_one_names_the_closest(personas):
    lst = factories.requirement_list(personas, requirements=0)
    item = factories.item_type(personas)
    requirement = needs.create_requirement(
        actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(item, destination="Kharkov")
    )
    assert requirement.destination.code == "UA-KHARKIV"
    with pytest.raises(Invalid) as refused:
        needs.create_requirement(
            actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(item, destination="Kharkiw")
        )
    assert "did you mean" in refused.value.field_errors["destination"][0]
    assert "UA-KHARKIV — Kharkiv" in refused.value.field_errors["destination"][0]


def api_client(personas, name: str) -> Client:
    actor = personas[name]
    _token, secret = issue_token(
        actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="t"
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_the_api_takes_a_destination_by_name_and_returns_its_code_and_name(personas):
    lst = factories.requirement_list(personas, requirements=0)
    item = factories.item_type(personas)
    client = api_client(personas, "recipient")
    body = {"item_type": item.code, "quantity": 2, "priority": 1, "needed_by": "2026-09-01", "destination": "kiev"}
    response = client.post(f"/api/v1/requirement-lists/{lst.pk}/requirements", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert (response.json()["destination"], response.json()["destination_name"]) == ("UA-30", "Kyiv")
    response = client.post(
        f"/api/v1/requirement-lists/{lst.pk}/requirements",
        {**body, "destination": "Odesa oblst"},
        content_type="application/json",
    )
    assert response.status_code == 422 and "UA-51 — Odesa Oblast" in str(response.json()["errors"]["destination"])
    refused = client.get("/api/v1/places/resolve", {"name": "Ukrain"})
    assert refused.status_code == 422 and "did you mean UA — Ukraine" in str(refused.json()["errors"]["name"])
    assert client.get("/api/v1/places/resolve", {"name": "Київ"}).json()["code"] == "UA-30"
    listed = client.get("/api/v1/places", {"q": "Jasionka"}).json()
    assert [place["code"] for place in listed["items"]] == ["EPRZ"] and listed["items"][0]["hub_capacity"] == 4150


def approved_list(personas, item, destinations: list[str]):
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": "PL-1", "title": "Places test", "marking": "participants"}
    )
    rows = [
        needs.create_requirement(
            actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(item, quantity=2, destination=name)
        )
        for name in destinations
    ]
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    return needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version), rows


def test_a_condition_follows_the_hierarchy_ua_covers_its_cities_a_region_only_its_own(personas):
    item = factories.item_type(personas)
    lst, (kharkiv, lviv) = approved_list(personas, item, ["Kharkiv", "Lviv"])
    to_ukraine = accepted_pledge(personas, item, 2, destinations="UA")
    to_kharkiv_oblast = accepted_pledge(personas, item, 2, donor="second_donor", destinations="UA-63")
    run = matching.run_match(actor=personas.coordinator, list_id=lst.pk)
    proposed = {(p.pledge_id, p.requirement_id) for p in ProposedAllocation.objects.filter(run=run)}
    assert (to_kharkiv_oblast.pk, lviv.pk) not in proposed  # UA-63 is not UA-46
    assert proposed == {(to_kharkiv_oblast.pk, kharkiv.pk), (to_ukraine.pk, lviv.pk)}


def test_allowed_destinations_are_ledgered_links_that_change_with_the_pledge(personas):
    pledge = factories.pledge(personas)
    entries = ChangeRecord.objects.count()
    pledge = pledges.update_pledge(
        actor=personas.donor_editor,
        pledge_id=pledge.pk,
        expected_version=pledge.version,
        changes={"allowed_destinations": ["UA-63", "Odesa"]},
    )
    assert [place.code for place in pledge.destination_list] == ["UA-63", "UA-ODESA"]
    assert ChangeRecord.objects.count() == entries + 3  # two links and the pledge's new version
    pledge = pledges.update_pledge(
        actor=personas.donor_editor, pledge_id=pledge.pk, expected_version=pledge.version, changes={"allowed_destinations": "UA"}
    )
    assert [link.place.code for link in PledgeDestination.objects.filter(pledge=pledge)] == ["UA"]
    with pytest.raises(Invalid) as refused:
        pledges.update_pledge(
            actor=personas.donor_editor,
            pledge_id=pledge.pk,
            expected_version=pledge.version,
            changes={"allowed_destinations": ["Ukrain", "Atlantis"]},
        )
    assert len(refused.value.field_errors["allowed_destinations"]) == 2
    assert verify().ok


def test_a_pledge_file_names_allowed_destinations_and_an_unknown_one_is_a_row_error(personas, tmp_path):
    item = factories.item_type(personas)
    path = tmp_path / "pledges.csv"
    header = "item_type,quantity,available_from,source_kind,source_url,source_date,allowed_destinations\n"
    path.write_text(header + f"{item.code},5,2026-03-01,official,https://example.invalid/a,2026-01-05,UA-63; Kharkov\n")
    call_command("import", "pledges", str(path), user="alice", stdout=io.StringIO())
    imported = PledgeDestination.objects.filter(pledge__item_type=item).select_related("place")
    assert sorted(link.place.code for link in imported) == ["UA-63", "UA-KHARKIV"]
    path.write_text(header + f"{item.code},5,2026-03-01,official,https://example.invalid/a,2026-01-05,Ukrain\n")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", "pledges", str(path), user="alice", stdout=out)
    assert "did you mean UA — Ukraine" in out.getvalue()


def test_the_upgrade_maps_text_destinations_and_lists_what_it_cannot(personas):
    found, unmapped = legacy.mapped(["Kiev", "Lviv logistics base", "ua-63", "Atlantis", "Novoselytsia"], Place)
    assert found == {
        "Kiev": Place.objects.get(code="UA-30").pk,
        "Lviv logistics base": Place.objects.get(code="UA-LVIV-LB").pk,
        "ua-63": Place.objects.get(code="UA-63").pk,
    }
    assert unmapped == {"Atlantis": [], "Novoselytsia": []}
    with pytest.raises(RuntimeError) as stopped:
        legacy.refuse_unmapped({"Atlantis": []}, {"Atlantis": ["requirement 7", "pledge 9"]})
    assert "'Atlantis' (names no place): requirement 7, pledge 9" in str(stopped.value)
    assert "umbrella import places" in str(stopped.value)
    assert legacy.add_packaged_places(Place, type(personas.coordinator.organization)) == 0  # all there already


def test_the_place_pages_search_and_show_the_hierarchy_and_hub_figures(client):
    listing = client.get("/places/", {"q": "Kiev"}).content.decode()
    assert "UA-30" in listing and "UA-63" not in listing
    hub = Place.objects.get(code="EPRZ")
    page = client.get(hub.get_absolute_url()).content.decode()
    assert "Podkarpackie Voivodeship" in page and "4150" in page and "50.11" in page and "ICAO EPRZ" in page
    assert client.get("/places/", {"kind": "port"}).status_code == 200


def test_a_requirement_form_takes_a_destination_by_name(as_client, personas):
    lst = factories.requirement_list(personas, requirements=0, marking=Marking.PARTICIPANTS)
    item = factories.item_type(personas)
    client = as_client("recipient")
    form = {"item_type": item.pk, "quantity": 3, "priority": 2, "needed_by": dt.date(2026, 9, 1), "marking": "participants"}
    refused = client.post(f"/requirements/{lst.pk}/add/", {**form, "destination": "Odesa oblst"})
    assert "UA-51 — Odesa Oblast" in refused.content.decode()
    client.post(f"/requirements/{lst.pk}/add/", {**form, "destination": "Одеса"})
    assert lst.requirements.get().destination.code == "UA-ODESA"


def test_the_gazetteer_exports_in_the_importers_columns_and_imports_back_unchanged(personas, client, tmp_path):
    exported = client.get("/places/", {"format": "csv"})
    assert exported.status_code == 200
    path = tmp_path / "places.csv"
    path.write_bytes(exported.content)
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {row["code"] for row in rows} >= UKRAINE_REGIONS | {"EPRZ"}
    fields = ("code", "kind", "path", "name_en", "name_uk", "aliases", "latitude", "longitude", "hub_capacity", "source")
    before = list(Place.objects.order_by("code").values_list(*fields))
    call_command("import", "places", str(path), user="cora", stdout=io.StringIO())
    assert list(Place.objects.order_by("code").values_list(*fields)) == before
    assert verify().ok


@pytest.mark.django_db
def test_a_place_reads_in_the_readers_language_wherever_it_is_named():
    lviv = Place.objects.get(code="UA-LVIV")
    assert str(lviv) == "UA-LVIV — Lviv"
    with translation.override("uk"):
        assert str(lviv) == "UA-LVIV — Львів"
