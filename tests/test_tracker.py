"""The Kiel Ukraine Support Tracker import: a fixture written here, and the real Release 29 where it is available."""

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError

from umbrella.core.access import OrganizationKind
from umbrella.core.errors import Conflict, Forbidden, ImportRejected
from umbrella.core.models import ChangeRecord
from umbrella.core.verify import verify
from umbrella.orgs import services as orgs
from umbrella.tracker import kiel
from umbrella.tracker.models import MilitarySourcesMonth, MonthlyAllocation, TrackerRelease, WeaponsByCategory
from umbrella.tracker.queries import donor_totals, series_totals
from umbrella.tracker.services import import_kiel_release

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "kiel-ust-r29"
HEADER = "country,iso,year,month,total,financial,humanitarian,military,commitments,to_be_allocated,gdp,pct_gdp\n"


def write_release(folder: Path, allocations: str, weapons: str | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "release_info.csv").write_text('release,period,date,label\n"99","01/2026","2026-02-01","Test release 99"\n')
    (folder / "data_explorer.csv").write_text(HEADER + allocations)
    (folder / "weapons.csv").write_text(
        "donor,category,number_of_weapons,monetary_value_eur,weapons_list\n"
        + (weapons or '"Donor A","Howitzers",7,1500000,"M777 howitzer (5); Panzerhaubitze 2000 (PzH) (2)"\n')
    )
    return folder


GOOD = (
    '"Donor A","DEU",2025,1,0.5,0.1,0.1,0.3,0.6,0.1,4000,0.0125\n'
    '"Donor A","DEU",2025,2,0.25,0,0,0.25,0.25,-0.05,4000,0.00625\n'
    '"EU (Commission and Council)","EU",2025,1,1.5,1.5,0,0,1.5,0,,0\n'
)


def test_a_release_in_the_trackers_format_is_imported_with_provenance(personas, tmp_path):
    release, _ = import_kiel_release(actor=personas.coordinator, folder=write_release(tmp_path / "r", GOOD))
    assert (release.release, release.label, release.marking) == ("99", "Test release 99", "public")
    donor = MonthlyAllocation.objects.get(donor_iso="DEU", month=1)
    assert (donor.file, donor.row, donor.total_eur, donor.to_be_allocated_eur) == (
        "data_explorer.csv",
        2,
        Decimal("500000000.00"),
        Decimal("100000000.00"),
    )
    weapons = WeaponsByCategory.objects.get()
    assert weapons.items == [["M777 howitzer", 5], ["Panzerhaubitze 2000 (PzH)", 2]] and weapons.row == 2
    totals = {t.iso: t for t in donor_totals(personas.observer, release)}
    assert totals["DEU"].eur["total"] == Decimal("750000000.00") and totals["DEU"].pct_gdp == Decimal("0.01875")
    assert totals["EU"].pct_gdp is None
    assert ChangeRecord.objects.filter(entity="history.trackerrelease").count() == 1 and verify().ok


def test_every_problem_in_every_file_is_reported_and_nothing_is_written(personas, tmp_path):
    bad = (
        '"Donor A","DEU",2025,13,0.5,0.1,0.1,0.3,0.6,0.1,4000,0.0125\n'
        '"Donor A","DEU",2025,2,abc,0,0,0.25,0.25,0,4000,0.00625\n'
        '"Donor A","DEU",2025,3,0.4,0,0,0.25,0.25,0,4000,0.01\n'
        '"Donor A","DEU",2025,3,-1,0,0,0,0,0,4000,0\n'
    )
    folder = write_release(tmp_path / "bad", bad, '"Donor A","Tanks",9,1,"Leopard 2A4 (7)"\n')
    with pytest.raises(ImportRejected) as refused:
        import_kiel_release(actor=personas.coordinator, folder=folder)
    found = {(e.row, e.column, e.value) for e in refused.value.row_errors}
    assert found == {
        (2, "data_explorer.csv: month", "13"),
        (3, "data_explorer.csv: total", "abc"),
        (3, "data_explorer.csv: total", "abc"),
        (4, "data_explorer.csv: total", "0.4"),
        (5, "data_explorer.csv: total", "-1"),
        (5, "data_explorer.csv: iso", "DEU"),
        (2, "weapons.csv: weapons_list", "Leopard 2A4 (7)"),
    }
    assert not TrackerRelease.objects.exists() and not MonthlyAllocation.objects.exists()


def test_a_folder_missing_a_file_or_column_is_refused(personas, tmp_path):
    folder = write_release(tmp_path / "r", GOOD)
    (folder / "weapons.csv").unlink()
    (folder / "data_explorer.csv").write_text("country,iso,year\n")
    problems = kiel.read_release(folder).problems
    assert [(p.file, p.reason) for p in problems] == [
        ("data_explorer.csv", "these columns are missing"),
        ("weapons.csv", "the release folder has no weapons.csv"),
    ]


def test_only_coordination_staff_import_and_a_release_is_imported_once(personas, tmp_path):
    folder = write_release(tmp_path / "r", GOOD)
    with pytest.raises(Forbidden):
        import_kiel_release(actor=personas.donor_editor, folder=folder)
    import_kiel_release(actor=personas.coordinator, folder=folder)
    with pytest.raises(Conflict):
        import_kiel_release(actor=personas.coordinator, folder=folder)


def test_ledger_verify_notices_an_edited_imported_row(personas, tmp_path):
    release, _ = import_kiel_release(actor=personas.coordinator, folder=write_release(tmp_path / "r", GOOD))
    MonthlyAllocation.objects.filter(donor_iso="DEU", month=2).update(total_eur=Decimal("1.00"))
    assert [p.row for p in verify().problems] == [f"history.trackerrelease {release.pk}"]


def test_the_cli_imports_a_folder_and_reports_per_donor(personas, tmp_path):
    folder = write_release(tmp_path / "r", GOOD)
    out = io.StringIO()
    call_command("import", "kiel", str(folder), "--user", personas.coordinator.user.username, "--dry-run", stdout=out)
    assert "checked (dry run" in out.getvalue() and not TrackerRelease.objects.exists()
    call_command("import", "kiel", str(folder), "--user", personas.coordinator.user.username, stdout=io.StringIO())
    out = io.StringIO()
    call_command("report", "allocations", "--by", "donor", "--json", stdout=out)
    rows = {row["iso"]: row for row in json.loads(out.getvalue())["rows"]}
    assert rows["DEU"]["total_eur"] == "750000000.00" and rows["DEU"]["pct_gdp"] == pytest.approx(0.01875)
    with pytest.raises(CommandError) as refused:
        call_command("import", "kiel", str(tmp_path / "nowhere"), "--user", personas.coordinator.user.username)
    assert refused.value.returncode == 2


def test_the_donor_page_compares_donors_with_charts_tables_and_exports(client, personas, tmp_path):
    import_kiel_release(actor=personas.coordinator, folder=write_release(tmp_path / "r", GOOD))
    page = client.get("/history/donors/").content.decode()
    assert "<svg" in page and "Donor A" in page and "0.019 %" in page and 'tabindex="0"' in page
    exported = client.get("/history/donors/?format=csv").content.decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(exported.splitlines()[1])))[:3] == ["EU (Commission and Council)", "EU", "1500000000.00"]


@pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"the Kiel Release 29 reference data is not at {REFERENCE} (it is not shipped)"
)
def test_release_29_imports_and_every_donor_total_matches_the_file_to_the_cent(personas):
    release, parsed = import_kiel_release(actor=personas.coordinator, folder=REFERENCE)
    expected_total, expected_pct = defaultdict(Decimal), defaultdict(Decimal)
    with open(REFERENCE / "data_explorer.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            expected_total[row["iso"]] += Decimal(row["total"]) * 1_000_000_000
            expected_pct[row["iso"]] += Decimal(row["pct_gdp"])
    totals = {t.iso: t for t in donor_totals(personas.observer, release)}
    assert set(totals) == set(expected_total) and len(totals) == 42
    for iso, total in totals.items():
        assert total.eur["total"] == expected_total[iso].quantize(Decimal("0.01")), iso
        if total.pct_gdp is None:
            assert expected_pct[iso] == 0, iso
        else:
            assert float(total.pct_gdp) == pytest.approx(float(expected_pct[iso]), rel=1e-9), iso
    assert WeaponsByCategory.objects.filter(release=release).count() == 61
    assert all(sum(count for _, count in w.items) == w.number for w in WeaponsByCategory.objects.filter(release=release))


@pytest.mark.django_db
def test_the_tracker_app_keeps_the_history_label_so_no_migration_is_needed():
    assert apps.get_app_config("history").name == "umbrella.tracker"
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


SOURCES_HEADER = "year,month,stockpile,procurement,unspecified,nato_purl\n"
ALL_DONORS_HEADER = "year,month,total_allocations,military,financial,humanitarian\n"


def write_series(folder: Path, sources: str, all_donors: str) -> Path:
    (folder / "procurement_trends.csv").write_text(SOURCES_HEADER + sources)
    (folder / "total_allocations.csv").write_text(ALL_DONORS_HEADER + all_donors)
    return folder


def test_the_monthly_series_are_kept_exactly_and_summed_to_the_cent(personas, tmp_path):
    folder = write_series(
        write_release(tmp_path / "r", GOOD),
        "2025,1,0.00149570612079685,0,0.230356053306305,0.000000000004\n2025,2,0,0.1,0,0.000000000003\n",
        "2025,1,2,0.3,1.6,0.1\n2025,2,0.25,0.25,0,0\n",
    )
    release, parsed = import_kiel_release(actor=personas.coordinator, folder=folder)
    assert (len(parsed.procurement), len(parsed.all_donors)) == (2, 2)
    totals = series_totals(personas.observer, release)
    # 0.004 + 0.003 EUR: each month rounded to the cent would give 0.00; summed first, they make 0.01
    assert totals["military_sources"] == {
        "stockpile": Decimal("1495706.12"),
        "procurement": Decimal("100000000.00"),
        "unspecified": Decimal("230356053.31"),
        "nato_purl": Decimal("0.01"),
    }
    assert totals["all_donors"]["total_allocations"] == Decimal("2250000000.00")
    assert verify().ok
    MilitarySourcesMonth.objects.filter(release=release, month=2).update(procurement_eur_bn=Decimal("0.2"))
    assert [p.row for p in verify().problems] == [f"history.trackerrelease {release.pk}"]


def test_every_problem_in_the_series_is_reported_and_nothing_is_written(personas, tmp_path):
    folder = write_series(
        write_release(tmp_path / "r", GOOD),
        "2025,1,abc,0,0,0\n2025,1,0,-1,0,0\n2025,2,0.1234567890123456,0,0,0\n",
        "2025,1,2,0.3,1.6,0.1\n2025,2,0.5,0.25,0,0\n",
    )
    with pytest.raises(ImportRejected) as refused:
        import_kiel_release(actor=personas.coordinator, folder=folder)
    found = {(e.row, e.column, e.value, e.reason) for e in refused.value.row_errors}
    assert found == {
        (2, "procurement_trends.csv: stockpile", "abc", "is not a number"),
        (3, "procurement_trends.csv: procurement", "-1", "must be at least 0"),
        (3, "procurement_trends.csv: month", "1", "2025-01 appears twice (first in row 2)"),
        (4, "procurement_trends.csv: stockpile", "0.1234567890123456", "has more than 15 significant digits"),
        (
            3,
            "total_allocations.csv: total_allocations",
            "0.5",
            "is not the sum of data_explorer.csv's total for 2025-02 (0.25 bn)",
        ),
    }
    assert not TrackerRelease.objects.exists() and not MilitarySourcesMonth.objects.exists()


@pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"the Kiel Release 29 reference data is not at {REFERENCE} (it is not shipped)"
)
def test_release_29_commitments_and_procurement_match_the_release_to_the_cent_and_the_eu_is_a_donor(personas):
    eu = orgs.create_organization(
        actor=personas.hq_admin, code="EU", name="European Union institutions", kind=OrganizationKind.MULTILATERAL
    )
    release, _ = import_kiel_release(actor=personas.coordinator, folder=REFERENCE)
    # Read off the files by hand: data_explorer.csv row 237 is the EU's July 2022 (total 1.59, commitments 2.59
    # EUR bn); procurement_trends.csv row 45 is August 2025 (nato_purl 1.88323218983518 EUR bn), row 53 April
    # 2026 (procurement 5.1025550959173 EUR bn).
    july = MonthlyAllocation.objects.get(release=release, row=237)
    assert (july.organization, july.total_eur, july.commitments_eur) == (eu, Decimal("1590000000.00"), Decimal("2590000000.00"))
    august = MilitarySourcesMonth.objects.get(release=release, row=45)
    assert (august.year, august.month, august.nato_purl_eur_bn) == (2025, 8, Decimal("1.88323218983518"))
    assert MilitarySourcesMonth.objects.get(release=release, row=53).procurement_eur_bn == Decimal("5.1025550959173")
    # The files' own sums, added up here with Decimal straight from the CSV, and the figures they come to.
    expected_commitments, expected_sources = defaultdict(Decimal), defaultdict(Decimal)
    with open(REFERENCE / "data_explorer.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            expected_commitments[row["iso"]] += Decimal(row["commitments"])
    with open(REFERENCE / "procurement_trends.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for column in ("stockpile", "procurement", "unspecified", "nato_purl"):
                expected_sources[column] += Decimal(row[column])
    assert sum(expected_commitments.values()) == Decimal("547.983846")
    assert expected_sources["nato_purl"] * 1_000_000_000 == Decimal("4122410236.951622")
    totals = {t.iso: t for t in donor_totals(personas.observer, release)}
    for iso, total in totals.items():
        assert total.commitments_eur == (expected_commitments[iso] * 1_000_000_000).quantize(Decimal("0.01")), iso
    assert sum(t.commitments_eur for t in totals.values()) == Decimal("547983846000.00")
    assert (totals["EU"].organization, totals["EU"].eur["total"], totals["EU"].commitments_eur) == (
        "EU",
        Decimal("84425291000.00"),
        Decimal("190724321000.00"),
    )
    assert totals["EU"].pct_gdp is None  # no GDP: outside GDP shares
    sources = series_totals(personas.observer, release)
    assert sources["military_sources"] == {
        "stockpile": Decimal("56842796220.63"),
        "procurement": Decimal("81812946154.40"),
        "unspecified": Decimal("25268651892.99"),
        "nato_purl": Decimal("4122410236.95"),
    }
    assert sources["military_sources"] == {k: (v * 1_000_000_000).quantize(Decimal("0.01")) for k, v in expected_sources.items()}
    assert (
        sources["all_donors"]["total_allocations"] == sum(t.eur["total"] for t in totals.values()) == Decimal("358399501000.00")
    )
    assert verify().ok
