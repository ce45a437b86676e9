"""Every model's pages, for every persona: who sees, who creates, who changes (see core.testing.PageContract)."""

import itertools
import re

import pytest

from tests import factories
from umbrella.catalog.models import CapabilityArea
from umbrella.core.access import Actor
from umbrella.core.models import ChangeRecord
from umbrella.core.testing import OPERATIONS, PERSONA_NAMES, PageContract
from umbrella.places import services as places

MEMBERS = frozenset(name for name in PERSONA_NAMES if name != "anonymous")
_codes = itertools.count(1)


def item_type_data(personas, record):
    return {
        "code": f"NEW-{next(_codes)}",
        "name": "New item",
        "capability_area": CapabilityArea.objects.get(code="drones").pk,
        "unit_value_eur": "150.00",
        "unit_of_issue": "EA",
        "valuation_basis": "replacement",
        "marking": "participants",
    }


def item_type_edit(record):
    return {
        "code": record.code,
        "name": "Renamed item",
        "capability_area": record.capability_area_id,
        "unit_value_eur": "99.00",
        "unit_of_issue": "EA",
        "valuation_basis": "book",
        "marking": "participants",
        "version": record.version,
    }


def requirement_data(record_item):
    return {
        "item_type": record_item.pk,
        "quantity": 12,
        "priority": 1,
        "needed_by": "2026-09-01",
        "destination": "Odesa",
        "accept_substitutes": "on",
        "marking": "participants",
    }


def pledge_data(personas, record):
    return {
        "pledge-item_type": record.item_type_id,
        "pledge-quantity": 3,
        "pledge-available_from": "2026-05-01",
        "pledge-valuation_basis": "replacement",
        "pledge-retransfer_requires_consent": "on",
        "pledge-marking": "coordination",
        "source-kind": "official",
        "source-url": "https://example.invalid/p",
        "source-date": "2026-04-01",
    }


def pledge_edit(record):
    return {
        "pledge-item_type": record.item_type_id,
        "pledge-quantity": 9,
        "pledge-available_from": "2026-05-01",
        "pledge-value_eur": "9000.00",
        "pledge-valuation_basis": "book",
        "pledge-marking": record.marking,
        "version": record.version,
    }


def make_place(personas):
    return places.create_place(
        actor=personas.coordinator,
        fields={"code": f"QP{next(_codes)}", "kind": "country", "name_en": "Contract land", "marking": "public"},
    )


CONTRACTS = [
    PageContract(
        name="place",
        make=make_place,
        list_url=lambda r: f"/places/?q={r.code}",  # the gazetteer alone fills the first pages
        detail_url=lambda r: f"/places/{r.pk}/",
        create_url=lambda r: "/places/new/",
        create_data=lambda p, r: {"code": f"QN{next(_codes)}", "kind": "country", "name_en": "New land", "marking": "public"},
        edit_url=lambda r: f"/places/{r.pk}/edit/",
        edit_data=lambda r: {
            "code": r.code,
            "kind": r.kind,
            "name_en": "Renamed land",
            "marking": r.marking,
            "version": r.version,
        },
        delete_url=lambda r: f"/places/{r.pk}/delete/",
        label=lambda r: r.code,
        can_see=frozenset(PERSONA_NAMES),
        can_create=frozenset({"coordinator", "hq_admin"}),
        can_change=frozenset({"coordinator", "hq_admin"}),
    ),
    PageContract(
        name="item type",
        make=lambda p: factories.item_type(p),
        list_url=lambda r: "/catalog/",
        detail_url=lambda r: f"/catalog/{r.pk}/",
        create_url=lambda r: "/catalog/new/",
        create_data=item_type_data,
        edit_url=lambda r: f"/catalog/{r.pk}/edit/",
        edit_data=item_type_edit,
        delete_url=lambda r: f"/catalog/{r.pk}/delete/",
        label=lambda r: r.code,
        can_see=MEMBERS,
        can_create=frozenset({"coordinator", "hq_admin"}),
        can_change=frozenset({"coordinator", "hq_admin"}),
    ),
    PageContract(
        name="requirement list",
        make=lambda p: factories.requirement_list(p, requirements=1),
        list_url=lambda r: "/requirements/",
        detail_url=lambda r: f"/requirements/{r.pk}/",
        create_url=lambda r: "/requirements/new/",
        create_data=lambda p, r: {"series": f"NEW-{next(_codes)}", "title": "A new list", "marking": "participants"},
        edit_url=lambda r: f"/requirements/{r.pk}/edit/",
        edit_data=lambda r: {"title": "Renamed list", "marking": r.marking, "version": r.version},
        delete_url=lambda r: f"/requirements/{r.pk}/delete/",
        label=lambda r: r.title,
        can_see=MEMBERS,
        can_create=frozenset({"recipient"}),
        can_change=frozenset({"recipient"}),
        delete_entries=2,
    ),
    PageContract(
        name="requirement",
        make=lambda p: factories.requirement_list(p, requirements=1).requirements.get(),
        list_url=lambda r: f"/requirements/{r.requirement_list_id}/",
        detail_url=lambda r: f"/requirements/item/{r.pk}/",
        create_url=lambda r: f"/requirements/{r.requirement_list_id}/add/",
        create_data=lambda p, r: requirement_data(r.item_type),
        edit_url=lambda r: f"/requirements/item/{r.pk}/edit/",
        edit_data=lambda r: {**requirement_data(r.item_type), "quantity": 77, "version": r.version},
        delete_url=lambda r: f"/requirements/item/{r.pk}/delete/",
        label=lambda r: r.item_type.name,
        nested_list=True,
        can_see=MEMBERS,
        can_create=frozenset({"recipient"}),
        can_change=frozenset({"recipient"}),
    ),
    PageContract(
        name="pledge",
        make=lambda p: factories.pledge(p),
        list_url=lambda r: "/pledges/",
        detail_url=lambda r: f"/pledges/{r.pk}/",
        create_url=lambda r: "/pledges/new/",
        create_data=pledge_data,
        edit_url=lambda r: f"/pledges/{r.pk}/edit/",
        edit_data=pledge_edit,
        delete_url=lambda r: f"/pledges/{r.pk}/delete/",
        label=lambda r: f"{r.quantity} × {r.item_type.name}",
        can_see=frozenset({"donor_editor", "donor_viewer", "coordinator", "hq_admin", "auditor", "recipient"}),
        can_create=frozenset({"donor_editor", "second_donor"}),
        can_change=frozenset({"donor_editor"}),
        create_entries=2,
        delete_entries=2,
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("persona", PERSONA_NAMES)
@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_page_contract(contract, persona, operation, personas, as_client):
    record = contract.make(personas)
    client = as_client(persona)
    expected = contract.expected(persona, operation)
    ledger_before = ChangeRecord.objects.count()
    if operation == "list":
        response = client.get(contract.list_url(record))
        assert response.status_code == expected
        assert (contract.label(record) in response.content.decode()) == (persona in contract.can_see)
        return
    if operation == "detail":
        response = client.get(contract.detail_url(record))
        assert response.status_code == expected
        return
    if operation == "create":
        response = client.post(contract.create_url(record), contract.create_data(personas, record))
        entries = contract.create_entries
    elif operation == "edit":
        response = client.post(contract.edit_url(record), contract.edit_data(record))
        entries = 1
    else:
        response = client.post(contract.delete_url(record), {"version": record.version})
        entries = contract.delete_entries
    assert response.status_code == expected, response.content.decode()[:2000]
    if expected == 302 and persona != "anonymous":
        assert ChangeRecord.objects.count() == ledger_before + entries
    else:
        assert ChangeRecord.objects.count() == ledger_before
        if persona == "anonymous":
            assert response["Location"].startswith("/sign-in/")


@pytest.mark.django_db
def test_a_stale_edit_shows_the_conflict_on_the_form_and_changes_nothing(personas, as_client):
    item = factories.item_type(personas)
    client = as_client("coordinator")
    assert client.post(f"/catalog/{item.pk}/edit/", item_type_edit(item)).status_code == 302
    response = client.post(f"/catalog/{item.pk}/edit/", {**item_type_edit(item), "name": "Stale write"})
    assert response.status_code == 400
    assert "changed by someone else" in response.content.decode()
    item.refresh_from_db()
    assert item.name == "Renamed item"


@pytest.mark.django_db
def test_field_errors_are_shown_on_the_form(personas, as_client):
    response = as_client("coordinator").post(
        "/catalog/new/", {**item_type_data(personas, None), "nsn": "12-34", "unit_value_eur": "-5"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "an NSN has 13" in body or "NNNN-NN-NNN-NNNN" in body
    assert "greater than or equal to 0" in body


@pytest.mark.django_db
def test_lists_filter_sort_search_and_export_the_filtered_view(personas, as_client):
    drone = factories.item_type(personas, name="Searchable drone", capability_area=CapabilityArea.objects.get(code="drones"))
    factories.item_type(personas, name="Other thing")
    client = as_client("donor_editor")
    body = client.get("/catalog/?area=drones&sort=-name").content.decode()
    assert drone.code in body and "Other thing" not in body
    assert "Searchable drone" in client.get("/catalog/?q=searchable").content.decode()
    export = client.get("/catalog/?q=searchable&format=csv")
    assert export["Content-Type"].startswith("text/csv")
    lines = export.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and drone.code in lines[1]


@pytest.mark.django_db
def test_the_pledge_page_offers_only_the_steps_its_viewer_may_take(personas, as_client):
    pledge = factories.advance(personas, factories.pledge(personas), "offer")
    donor_page = as_client("donor_editor").get(f"/pledges/{pledge.pk}/").content.decode()
    hq_page = as_client("coordinator").get(f"/pledges/{pledge.pk}/").content.decode()
    assert f"/pledges/{pledge.pk}/withdraw/" in donor_page and f"/pledges/{pledge.pk}/accept/" not in donor_page
    assert f"/pledges/{pledge.pk}/accept/" in hq_page and f"/pledges/{pledge.pk}/withdraw/" not in hq_page
    response = as_client("coordinator").post(f"/pledges/{pledge.pk}/accept/", {"version": pledge.version})
    assert response.status_code == 302
    pledge.refresh_from_db()
    assert pledge.state == "accepted"


@pytest.mark.django_db
def test_import_page_previews_every_error_then_commits_a_fixed_file(personas, as_client, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    item = factories.item_type(personas)
    header = "item_type,quantity,available_from,source_kind,source_url,source_date\n"
    bad = header + f"{item.code},0,2026-03-01,official,https://example.invalid/a,2026-01-01\n"
    good = header + f"{item.code},4,2026-03-01,official,https://example.invalid/a,2026-01-01\n"
    client = as_client("donor_editor")
    response = client.post("/import/", {"kind": "pledges", "file": SimpleUploadedFile("p.csv", bad.encode())})
    body = response.content.decode()
    assert response.status_code == 200 and "Nothing was written" in body and "must be at least 1" in body
    response = client.post("/import/", {"kind": "pledges", "file": SimpleUploadedFile("p.csv", good.encode())})
    token = re.search(r'action="/import/([A-Za-z0-9_-]+)/commit/"', response.content.decode()).group(1)
    assert as_client("second_donor").post(f"/import/{token}/commit/").status_code == 404
    client = as_client("donor_editor")
    assert client.post(f"/import/{token}/commit/").status_code == 302
    assert item.pledges.filter(quantity=4).exists()


@pytest.mark.django_db
def test_staff_read_the_admin_but_cannot_change_ledgered_records_there(personas, client):
    from umbrella.orgs.services import set_user_flags

    item = factories.item_type(personas)
    staff = set_user_flags(actor=Actor.system("tests"), user_id=personas.coordinator.user.pk, is_staff=True)
    client.force_login(staff)
    assert client.get(f"/admin/catalog/itemtype/{item.pk}/change/").status_code == 200
    assert client.get("/admin/catalog/itemtype/add/").status_code == 403
    assert client.post(f"/admin/catalog/itemtype/{item.pk}/delete/", {"post": "yes"}).status_code == 403
    item.refresh_from_db()
    assert item.name.startswith("Test item")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona, url, status",
    [
        ("donor_editor", "/catalog/new/", 403),
        ("coordinator", "/catalog/new/", 200),
        ("recipient", "/pledges/new/", 403),
        ("donor_editor", "/pledges/new/", 200),
        ("donor_editor", "/requirements/new/", 403),
        ("recipient", "/requirements/new/", 200),
    ],
)
def test_a_form_the_persona_may_not_use_is_refused_before_it_is_filled_in(as_client, persona, url, status):
    assert as_client(persona).get(url).status_code == status


@pytest.mark.django_db
def test_editing_a_record_in_the_wrong_state_explains_why_without_a_redirect_loop(personas, as_client):
    offered = factories.advance(personas, factories.pledge(personas), "offer", "accept")
    response = as_client("donor_editor").get(f"/pledges/{offered.pk}/edit/")
    assert response.status_code == 409
    assert "can no longer be edited" in response.content.decode()


@pytest.mark.django_db
def test_a_refused_button_press_returns_to_the_page_with_the_reason(personas, as_client):
    pledge = factories.pledge(personas)
    client = as_client("donor_editor")
    page = f"http://testserver/pledges/{pledge.pk}/"
    response = client.post(f"/pledges/{pledge.pk}/ship/", {"version": pledge.version}, HTTP_REFERER=page)
    assert response.status_code == 302 and response["Location"] == page
    assert (
        "This pledge is announced, so “Ship” is not possible now. You could: Offer, Withdraw."
        in client.get(page).content.decode()
    )


@pytest.mark.django_db
def test_sign_in_is_throttled_after_repeated_failures(personas, client):
    from umbrella.core.testing import PERSONA_PASSWORD

    for _ in range(5):
        response = client.post("/sign-in/", {"username": "alice", "password": "wrong"})
        assert response.status_code == 200 and "correct username and password" in response.content.decode()
    refused = client.post("/sign-in/", {"username": "alice", "password": PERSONA_PASSWORD})
    assert "Too many failed sign-ins" in refused.content.decode() and "_auth_user_id" not in client.session
    assert client.post("/sign-in/", {"username": "bob", "password": PERSONA_PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_and_forms_need_csrf(personas):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    page = strict.get("/sign-in/")
    assert "default-src 'self'" in page["Content-Security-Policy"] and "script-src 'self'" in page["Content-Security-Policy"]
    assert strict.post("/sign-in/", {"username": "alice", "password": "x"}).status_code == 403
