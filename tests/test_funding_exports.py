"""Exports for other tools: IATI activity XML, HXL-tagged CSV and the Kiel tracker's per-donor table."""

import csv
import datetime as dt
import io
from decimal import Decimal

from defusedxml.ElementTree import fromstring
from django.core.management import call_command

from umbrella.core import exports
from umbrella.funding import services
from umbrella.funding.iati import iati_activities
from umbrella.orgs import services as orgs
from umbrella.orgs.models import Organization
from umbrella.tracker import kiel


def portion(personas, donor, reference, year, steps=(), marking="coordination", amount="250000"):
    record = services.create_funding(
        actor=personas[donor],
        fields={
            "reference": reference,
            "year": year,
            "amount": Decimal(amount),
            "fx_date": dt.date(year, 2, 1),
            "category": "training",
            "source_document": "DOC",
            "marking": marking,
        },
    )
    for step in steps:
        record = services.advance_funding(actor=personas[donor], funding_id=record.pk, step=step, expected_version=record.version)
    return record


def test_iati_activities_group_annual_portions_and_carry_a_transaction_per_step(personas):
    portion(personas, "donor_editor", "A-TRAIN", 2025, steps=("commit", "disburse"))
    portion(personas, "donor_editor", "A-TRAIN", 2026, steps=("commit",))
    portion(personas, "second_donor", "B-SECRET", 2025, marking="owner")
    root = fromstring(iati_activities(personas.donor_editor))
    activities = root.findall("iati-activity")
    assert [a.findtext("iati-identifier") for a in activities] == ["DEU-A-TRAIN"]
    codes = [t.find("transaction-type").get("code") for t in activities[0].findall("transaction")]
    assert codes == ["12", "2", "3", "12", "2"]
    assert {v.text for v in activities[0].iter("value")} == {"250000.00"}
    assert [o.get("role") for o in activities[0].findall("participating-org")] == ["1", "4"]


def test_hxl_csv_carries_a_hashtag_row_under_the_header(personas):
    portion(personas, "donor_editor", "A-1", 2025, marking="public")
    lines = exports.render(exports.exporter_for("funding"), personas.observer, exports.HXL).decode("utf-8-sig").splitlines()
    header, tags, first = (next(csv.reader([line])) for line in lines[:3])
    assert tags[header.index("value_eur")] == "#value+eur" and tags[header.index("donor")] == "#org+donor+code"
    assert first[header.index("reference")] == "A-1"
    out = io.StringIO()
    call_command("export", "pledges", "--format", "hxl", "-o", "-", stdout=out)
    assert out.getvalue().splitlines()[1].startswith("#meta+id,#org+donor+code,#item+code")


def test_the_kiel_table_reads_back_as_a_tracker_release(personas, tmp_path):
    orgs.record_gdp(
        actor=personas.hq_admin,
        organization_id=Organization.objects.get(code="XDA").pk,
        year=2024,
        amount_bn=Decimal("500"),
        currency="EUR",
        source="test",
    )
    portion(personas, "donor_editor", "A-1", 2025, steps=("commit", "disburse"), amount="1000000")
    portion(personas, "donor_editor", "A-2", 2025, steps=("commit",), amount="500000")
    table = exports.render(exports.exporter_for("kiel-table"), personas.coordinator, "csv")
    (tmp_path / "data_explorer.csv").write_bytes(table)
    (tmp_path / "weapons.csv").write_text("donor,category,number_of_weapons,monetary_value_eur,weapons_list\n")
    (tmp_path / "release_info.csv").write_text("release,period,date,label\nU,02/2025,2025-03-01,Umbrella\n")
    release = kiel.read_release(tmp_path)
    assert release.problems == []
    [row] = release.allocations
    assert (row.iso, row.year, row.month, row.total_eur, row.commitments_eur) == (
        "DEU",
        2025,
        2,
        Decimal("1000000.00"),
        Decimal("1500000.00"),
    )
    assert row.pct_gdp == Decimal("0.0002") and row.gdp_eur_bn == Decimal("500")
