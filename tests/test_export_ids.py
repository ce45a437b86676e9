"""Every export of a list carries the record's id first, so a spreadsheet row leads back to its record."""

import csv
import io

import pytest

from tests import factories
from umbrella.core import exports


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(kind for kind, exporter in exports.REGISTRY.items() if exporter.carries_record_id))
def test_each_export_starts_with_the_record_id_of_each_row(personas, kind):
    factories.pledge(personas)
    factories.requirement_list(personas, requirements=2)
    exporter = exports.exporter_for(kind)
    content = exports.render(exporter, personas.coordinator, "csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][0] == "id"
    assert [int(row[0]) for row in rows[1:]] == list(exporter.queryset(personas.coordinator).values_list("pk", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["donor_editor", "coordinator", "auditor"])
def test_the_pledge_list_export_names_each_visible_pledge_by_id(personas, as_client, persona):
    from umbrella.pledges.models import Pledge

    factories.pledge(personas)
    factories.pledge(personas, donor="second_donor")
    response = as_client(persona).get("/pledges/?format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "id"
    assert sorted(int(row[0]) for row in rows[1:]) == sorted(
        Pledge.objects.visible_to(personas[persona]).values_list("pk", flat=True)
    )
    assert len(rows) > 1
