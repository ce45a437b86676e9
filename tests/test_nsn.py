import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests import factories
from umbrella.catalog.nsn import NCB_COUNTRIES, parse_nsn, searched_digits

digits13 = st.text(alphabet="0123456789", min_size=13, max_size=13)


@given(digits13)
def test_every_13_digit_number_formats_and_parses_back_to_itself(digits):
    nsn = parse_nsn(digits)
    assert str(nsn) == f"{digits[:4]}-{digits[4:6]}-{digits[6:9]}-{digits[9:]}"
    assert parse_nsn(str(nsn)) == nsn
    assert nsn.supply_class + nsn.niin == digits


@given(st.text(alphabet="0123456789", max_size=20).filter(lambda t: len(t) != 13 and t))
def test_a_number_of_the_wrong_length_is_refused_with_its_digit_count(text):
    with pytest.raises(ValueError, match=f"has {len(text)} digits"):
        parse_nsn(text)


@pytest.mark.parametrize(
    "text, country",
    [
        ("1005-01-123-4567", "United States"),
        ("1320-12-123-4567", "Germany"),
        ("1410-14-000-0001", "France"),
        ("5820-99-123-4567", "United Kingdom"),
        ("2350-17-123-4567", "NCB 17"),
    ],
)
def test_the_codifying_bureau_is_named_from_the_table_or_shown_by_number(text, country):
    assert parse_nsn(text).country == country


@pytest.mark.parametrize("text", ["1005-01-12A-4567", "1005-0-1123-4567", "١٠٠٥٠١١٢٣٤٥٦٧"])
def test_letters_misgrouping_and_non_ascii_digits_are_refused(text):
    with pytest.raises(ValueError):
        parse_nsn(text)


def test_the_bureau_table_maps_two_digit_codes_to_iso_alpha3():
    assert all(len(code) == 2 and code.isdigit() and len(iso3) == 3 for code, (iso3, _) in NCB_COUNTRIES.items())


@pytest.mark.parametrize(
    "typed, digits",
    [
        ("1410-01-563-6867", "1410015636867"),
        ("1410 01 563 6867", "1410015636867"),
        ("1410015636867", "1410015636867"),
        ("1410-01-563", "141001563"),
        ("563-6867", "5636867"),
        ("1550-", "1550"),
        ("155", None),
        ("1550", None),
        ("15.5", None),
        ("155 mm", None),
        ("M777", None),
    ],
)
def test_a_search_looks_among_nsns_only_for_an_nsn_or_its_groups(typed, digits):
    assert searched_digits(typed) == digits


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["coordinator", "donor_editor", "observer"])
def test_searching_a_calibre_finds_it_by_name_not_inside_stock_numbers(as_client, personas, persona):
    shell = factories.item_type(personas, name="155 mm HE shell", standard="")
    drone = factories.item_type(personas, name="Reconnaissance drone", standard="", nsn="1550013372929")
    client = as_client(persona)

    def found(typed: str) -> set[str]:
        page = client.get("/catalog/", {"q": typed}).content.decode()
        return {item.code for item in (shell, drone) if f">{item.code}<" in page}

    assert found("155") == {shell.code}
    assert found("1550-") == found("1550-01-337-2929") == found("1550013372929") == {drone.code}
