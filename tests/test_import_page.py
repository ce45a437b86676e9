"""The import page as each persona sees it: only the kinds they may import, a template per kind, a refusal by
name for a kind their organization does not import, and the rows a commit wrote."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import factories
from umbrella.catalog.models import ItemType
from umbrella.core import imports
from umbrella.core.testing import PERSONA_NAMES
from umbrella.orgs.models import GdpFigure
from umbrella.pledges.models import Pledge

OFFERED = {
    "donor_editor": ({"funding", "manifest", "pledges"}, "pledges"),
    "second_donor": ({"funding", "manifest", "pledges"}, "pledges"),
    "recipient": ({"requirements"}, "requirements"),
    "coordinator": ({"compatibilities", "fx-rates", "gdp", "item-types", "manifest", "package-rules", "places"}, "item-types"),
    "hq_admin": ({"compatibilities", "fx-rates", "gdp", "item-types", "manifest", "package-rules", "places"}, "item-types"),
    "donor_viewer": (set(), None),
    "auditor": (set(), None),
    "observer": (set(), None),
}


def _offered_kinds(body: str) -> tuple[set[str], str | None]:
    select = re.search(r'<select name="kind".*?</select>', body, re.S)
    if select is None:
        return set(), None
    kinds = set(re.findall(r'<option value="([^"]+)"', select.group(0)))
    chosen = re.search(r'<option value="([^"]+)" selected', select.group(0))
    return kinds, chosen.group(1) if chosen else None


def _import(client, kind: str, text: str):
    response = client.post("/import/", {"kind": kind, "file": SimpleUploadedFile(f"{kind}.csv", text.encode())})
    token = re.search(r'action="/import/([A-Za-z0-9_-]+)/commit/"', response.content.decode())
    return response, token.group(1) if token else None


@pytest.mark.django_db
@pytest.mark.parametrize("persona", [name for name in PERSONA_NAMES if name != "anonymous"])
def test_each_person_is_offered_only_the_kinds_they_may_import_and_the_likely_one_first(personas, as_client, persona):
    expected, likely = OFFERED[persona]
    assert {importer.kind for importer in imports.importers_for(personas[persona])} == expected
    response = as_client(persona).get("/import/")
    body = response.content.decode()
    assert response.status_code == 200
    assert _offered_kinds(body) == (expected, likely)
    assert ('href="/import/"' in body) == bool(expected)  # the navigation's Import entry
    assert ("Your role does not let you import anything" in body) == (not expected)
    for kind in expected:
        assert f'href="/import/template/{kind}.csv"' in body


@pytest.mark.django_db
def test_anonymous_is_sent_to_sign_in_and_sees_no_import_entry(client, personas):
    assert client.get("/import/").status_code == 302
    assert 'href="/import/"' not in client.get("/").content.decode()


@pytest.mark.django_db
def test_a_donor_asking_to_import_item_types_is_refused_by_name_before_the_file_is_read(personas, as_client):
    response = as_client("donor_editor").post(
        "/import/", {"kind": "item-types", "file": SimpleUploadedFile("x.csv", b"not,a\nreal,file")}
    )
    body = response.content.decode()
    assert response.status_code == 403
    assert "Importing item-types is done by: Coordinating headquarters." in body
    assert "unknown columns" not in body and "Nothing was written" not in body
    assert not ItemType.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(imports.REGISTRY))
def test_each_kind_has_a_template_with_its_header_and_one_example_row(personas, as_client, kind):
    response = as_client("coordinator").get(f"/import/template/{kind}.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    importer = imports.importer_for(kind)
    assert rows[0] == [column.name for column in importer.columns]
    assert len(rows) == 2
    assert all(rows[1][index] for index, column in enumerate(importer.columns) if column.required)


@pytest.mark.django_db
def test_the_item_type_template_filled_in_imports_and_left_as_it_is_is_refused(personas, as_client):
    client = as_client("coordinator")
    template = client.get("/import/template/item-types.csv").content.decode("utf-8-sig")
    refused, token = _import(client, "item-types", template)
    assert token is None and "the template&#x27;s example row" in refused.content.decode()
    response, token = _import(client, "item-types", template.replace("SHELL-155-HE", "SHELL-155-HE-OWN"))
    assert response.status_code == 200 and token, response.content.decode()
    assert client.post(f"/import/{token}/commit/").status_code == 302
    assert ItemType.objects.filter(code="SHELL-155-HE-OWN").count() == 1


@pytest.mark.django_db
def test_gdp_figures_import_through_the_page(personas, as_client):
    client = as_client("coordinator")
    response, token = _import(
        client, "gdp", "organization,year,gdp_bn,currency,source\nXDA,2025,4300.5,EUR,IMF\nXDB,2025,850,EUR,IMF\n"
    )
    assert response.status_code == 200 and token
    response = client.post(f"/import/{token}/commit/")
    assert response.status_code == 302 and response["Location"] == "/import/done/"
    figures = {figure.organization.code: figure.amount_bn for figure in GdpFigure.objects.select_related("organization")}
    assert figures == {"XDA": Decimal("4300.5"), "XDB": Decimal("850")}
    body = client.get("/import/done/").content.decode()
    assert "2 records written" in body and "XDA 2025: 4300.5 bn EUR" in body and "XDB 2025: 850 bn EUR" in body


@pytest.mark.django_db
def test_after_a_commit_the_page_lists_and_links_the_rows_just_imported(personas, as_client):
    item = factories.item_type(personas)
    before = set(Pledge.objects.values_list("pk", flat=True))
    header = "item_type,quantity,available_from,source_kind,source_url,source_date\n"
    rows = "".join(
        f"{item.code},{quantity},2026-03-01,official,https://example.invalid/a,2026-01-01\n" for quantity in (3, 7, 11)
    )
    client = as_client("donor_editor")
    _, token = _import(client, "pledges", header + rows)
    client.post(f"/import/{token}/commit/")
    body = client.get("/import/done/").content.decode()
    written = Pledge.objects.exclude(pk__in=before).order_by("pk")
    assert written.count() == 3
    assert "3 records written" in body
    assert re.findall(r'href="(/pledges/\d+/)"', body) == [pledge.get_absolute_url() for pledge in written]
    assert as_client("second_donor").get("/import/done/").status_code == 302  # the list is the importer's own


@pytest.mark.django_db
@pytest.mark.parametrize("persona", [name for name, (kinds, _) in OFFERED.items() if kinds])
def test_the_requirement_list_field_is_shown_only_to_whoever_may_import_requirements(personas, as_client, persona):
    body = as_client(persona).get("/import/").content.decode()
    imports_requirements = "requirements" in OFFERED[persona][0]
    assert ('name="requirement_list"' in body) == imports_requirements
    assert ("Requirement list (for requirements)" in body) == imports_requirements


@pytest.mark.django_db
def test_a_donor_imports_pledges_without_being_asked_for_a_requirement_list(personas, as_client):
    item = factories.item_type(personas)
    header = "item_type,quantity,available_from,source_kind,source_url,source_date\n"
    client = as_client("donor_editor")
    response, token = _import(
        client, "pledges", f"{header}{item.code},3,2026-03-01,official,https://example.invalid/a,2026-01-01\n"
    )
    assert response.status_code == 200 and token
    assert client.post(f"/import/{token}/commit/").status_code == 302
    assert Pledge.objects.filter(item_type=item).count() == 1


@pytest.mark.django_db
def test_the_recipient_imports_requirements_into_the_draft_list_it_names_in_the_field(personas, as_client):
    item = factories.item_type(personas)
    draft = factories.requirement_list(personas, requirements=0)
    client = as_client("recipient")
    text = f"item_type,quantity,priority,needed_by,destination\n{item.code},40,1,2026-12-31,Kharkiv\n"
    response = client.post(
        "/import/",
        {"kind": "requirements", "requirement_list": draft.series, "file": SimpleUploadedFile("r.csv", text.encode())},
    )
    token = re.search(r'action="/import/([A-Za-z0-9_-]+)/commit/"', response.content.decode())
    assert response.status_code == 200 and token, response.content.decode()
    assert client.post(f"/import/{token.group(1)}/commit/").status_code == 302
    assert list(draft.requirements.values_list("item_type__code", "quantity")) == [(item.code, 40)]


@pytest.mark.django_db
def test_committing_an_upload_again_says_it_was_already_committed_and_imports_nothing_twice(personas, as_client):
    client = as_client("coordinator")
    template = client.get("/import/template/item-types.csv").content.decode("utf-8-sig")
    _, token = _import(client, "item-types", template.replace("SHELL-155-HE", "SHELL-155-HE-OWN"))
    assert client.post(f"/import/{token}/commit/").status_code == 302
    again = client.post(f"/import/{token}/commit/", follow=True)
    assert again.redirect_chain[-1][0] == "/import/"
    assert "This upload was already committed; nothing was imported again." in again.content.decode()
    assert ItemType.objects.filter(code="SHELL-155-HE-OWN").count() == 1


@pytest.mark.django_db
def test_an_upload_no_longer_pending_is_not_found_with_a_way_back_to_the_import_page(personas, as_client):
    response = as_client("coordinator").post("/import/abcdefghijklmnopqrstuvwx/commit/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "That upload is gone; upload the file again." in body and '<a href="/import/">Import a file</a>' in body
