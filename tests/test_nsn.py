import pytest
from hypothesis import given
from hypothesis import strategies as st

from umbrella.catalog.nsn import NCB_COUNTRIES, parse_nsn

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
