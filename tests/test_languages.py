"""English and Ukrainian: a complete catalogue, compiled, and a language switch that persists."""

from pathlib import Path

import polib
from django.utils import translation

import umbrella

LOCALE = Path(umbrella.__file__).parent / "locale" / "uk" / "LC_MESSAGES"


def test_every_string_has_a_ukrainian_translation_and_the_compiled_catalogue_matches():
    po = polib.pofile(str(LOCALE / "django.po"))
    assert len(po) > 500
    assert not po.untranslated_entries() and not po.fuzzy_entries()
    compiled = {
        (e.msgid, e.msgstr or tuple(sorted(e.msgstr_plural.items()))) for e in polib.mofile(str(LOCALE / "django.mo")) if e.msgid
    }
    source = {(e.msgid, e.msgstr or tuple(sorted(e.msgstr_plural.items()))) for e in po if not e.obsolete}
    assert source <= compiled, "django.mo is older than django.po: run compilemessages"


def test_the_language_switch_persists_and_every_page_speaks_ukrainian(as_client, personas):
    client = as_client("donor_editor")
    response = client.post("/i18n/setlang/", {"language": "uk", "next": "/pledges/"})
    assert response.status_code == 302 and response["Location"] == "/pledges/"
    cookie = response.cookies["django_language"]
    assert cookie.value == "uk" and int(cookie["max-age"]) >= 364 * 24 * 3600
    page = client.get("/pledges/").content.decode()
    assert '<html lang="uk">' in page and "Обіцянки" in page and "Нова обіцянка" in page
    for url in ("/", "/matching/allocations/", "/funding/", "/funding/fair-share/", "/requirements/", "/catalog/"):
        body = client.get(url).content.decode()
        assert "Огляд" in body or "Мова" in body, url
        assert ">Pledges<" not in body and ">Sign out<" not in body, url
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert ">Pledges<" in client.get("/").content.decode()


def test_every_capability_area_is_named_in_the_catalogue_so_it_is_translated(db):
    from umbrella.catalog.models import AREA_NAMES, CapabilityArea

    assert set(CapabilityArea.objects.values_list("name", flat=True)) == set(AREA_NAMES)


def test_capability_areas_read_in_ukrainian_in_lists_filters_and_details(as_client, personas):
    from tests import factories

    item = factories.item_type(personas, marking="public")
    client = as_client("donor_editor")
    client.post("/i18n/setlang/", {"language": "uk", "next": "/"})
    listing = client.get("/catalog/").content.decode()
    assert all(f">{name}<" in listing for name in ("Артилерія", "Безпілотники", "Бронетехніка"))  # the area filter's choices
    detail = client.get(item.get_absolute_url()).content.decode()
    with translation.override("uk"):
        ukrainian = item.capability_area.label
    assert ukrainian != item.capability_area.name and ukrainian in detail


def test_recent_changes_and_history_name_actions_and_records_in_ukrainian(as_client, personas):
    from tests import factories

    pledge = factories.pledge(personas)
    factories.advance(personas, pledge, "offer")
    client = as_client("coordinator")
    client.post("/i18n/setlang/", {"language": "uk", "next": "/"})
    dashboard = client.get("/").content.decode()
    assert "запропоновано · обіцянка #" in dashboard and "pledges.pledge" not in dashboard
    history = client.get(pledge.get_absolute_url()).content.decode()
    assert "<strong>створено</strong>" in history and "<strong>запропоновано</strong>" in history
    assert "<strong>create</strong>" not in history
