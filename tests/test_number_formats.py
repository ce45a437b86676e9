"""Numbers read one way per language, on pages and in charts alike: thousands grouped, the language's decimal
mark, percentages with their sign, no cents in summaries."""

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.formats import number_format
from hypothesis import given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from tests import factories
from tests.test_dashboards import build
from umbrella.core.numbers import format_eur, format_eur_short, number, percent, share, units
from umbrella.pledges import services as pledges

NBSP = "\xa0"


@pytest.mark.parametrize(
    "language, expected",
    [
        (
            "en",
            [
                "107,114.8",
                "35.2 %",
                "EUR 2,540,000,000.00",
                "EUR 2,540,000,000",
                "EUR 2.54 bn",
                "EUR 412.5 m",
                "2.5",
                "12,000",
                "35.20 %",
            ],
        ),
        (
            "uk",
            [
                f"107{NBSP}114,8",
                "35,2 %",
                f"2{NBSP}540{NBSP}000{NBSP}000,00 EUR",
                f"2{NBSP}540{NBSP}000{NBSP}000 EUR",
                "2,54 млрд EUR",
                "412,5 млн EUR",
                "2,5",
                f"12{NBSP}000",
                "35,20 %",
            ],
        ),
    ],
)
def test_one_helper_formats_every_kind_of_figure_per_language(language, expected):
    with translation.override(language):
        shown = [
            number(107114.84, 1),
            percent(35.249),
            format_eur(Decimal("2540000000")),
            format_eur(Decimal("2540000000"), cents=False),
            format_eur_short(Decimal("2540000000")),
            format_eur_short(412_500_000),
            units(Decimal("2.500")),
            units(12000),
            share("0.352"),
        ]
    assert shown == expected


def _chart_and_table_percent(page: str) -> tuple[str, str]:
    chart = re.search(r'<g class="bar"[^>]*aria-label="P1: ([^"(]*?)[ (]*(?:\(|")', page).group(1).strip()
    table = re.search(r'<tr data-priority="1">.*?data-percent>([^<]*)<', page, re.S).group(1).strip()
    return chart, table


@pytest.mark.django_db
@pytest.mark.parametrize("language, expected", [("en", "33.3 %"), ("uk", "33,3 %")])
def test_a_chart_label_and_its_table_print_the_same_figure(as_client, personas, language, expected):
    build(personas)  # P1: 4 of 12 units covered
    client = as_client("coordinator")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    assert _chart_and_table_percent(client.get("/").content.decode()) == (expected, expected)


@pytest.mark.django_db
def test_summaries_group_thousands_without_cents(as_client, personas):
    item = factories.item_type(personas, unit_value_eur=Decimal("1234567.89"))
    pledges.create_pledge(
        actor=personas.donor_editor,
        sources=[factories.source()],
        fields={"item_type": item, "quantity": 1000, "available_from": dt.date(2099, 1, 1), "marking": "public"},
    )
    page = as_client("observer").get("/").content.decode()
    row = re.search(r'<th scope="row">Donor A</th>(.*?)</tr>', page, re.S).group(1)
    assert "EUR 1,234,567,890" in row and "1,234,567,890.00" not in row
    assert "EUR 1.23 bn" in page  # the chart's label


@settings_hypothesis(max_examples=300, deadline=None)
@given(
    value=st.decimals(min_value=-(10**13), max_value=10**13, allow_nan=False, allow_infinity=False, places=4),
    places=st.integers(min_value=0, max_value=3),
    language=st.sampled_from([code for code, _name in settings.LANGUAGES]),
)
def test_number_reads_as_djangos_own_number_format_in_each_language(value, places, language):
    """`number` formats groups of three itself, for speed; Django's number_format is the reference."""
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    with translation.override(language):
        assert number(value, places) == number_format(rounded, decimal_pos=places, use_l10n=True, force_grouping=True)
