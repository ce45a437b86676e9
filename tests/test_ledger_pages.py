"""The inspector's ledger pages: entries a reader may read, filtered by record, organization, person, action
and time, with what each changed; and a signed checkpoint that verifies outside Umbrella."""

import datetime as dt
import json
import re

import pytest

from tests import factories
from umbrella.core import checkpoints, merkle
from umbrella.core.ledger import history, leaf_hashes
from umbrella.core.models import ChangeRecord, LedgerCheckpoint

READERS = ("auditor", "coordinator", "hq_admin", "donor_editor", "donor_viewer", "second_donor", "recipient", "observer")


def _sequences(body: str) -> list[int]:
    return [int(value) for value in re.findall(r'data-sequence="(\d+)"', body)]


def _count(body: str) -> tuple[int, int]:
    shown, total = re.search(r"(\d+) of (\d+) entr", body).groups()
    return int(shown), int(total)


@pytest.fixture
def accepted_pledge(personas):
    return factories.advance(personas, factories.pledge(personas), "offer", "accept")


@pytest.mark.django_db
@pytest.mark.parametrize("persona", READERS)
def test_each_reader_lists_exactly_the_entries_it_may_read(personas, as_client, accepted_pledge, persona):
    readable = ChangeRecord.objects.visible_to(personas[persona])
    body = as_client(persona).get("/ledger/").content.decode()
    newest = list(readable.order_by("-sequence").values_list("sequence", flat=True)[:50])
    assert _sequences(body) == newest
    assert _count(body) == (len(newest), readable.count())
    hidden = ChangeRecord.objects.count() - readable.count()
    assert f"You may read {readable.count()} of the ledger's {ChangeRecord.objects.count()} entries. The other {hidden} " in body


@pytest.mark.django_db
def test_anonymous_is_sent_to_sign_in(client, personas):
    assert client.get("/ledger/").status_code == 302
    assert client.post("/ledger/checkpoint/").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona, sees", [("auditor", True), ("donor_editor", True), ("second_donor", False), ("observer", False)]
)
def test_filtering_to_one_record_gives_exactly_its_history_to_those_who_may_see_it(
    personas, as_client, accepted_pledge, persona, sees
):
    factories.pledge(personas)  # another record of the same kind, which must not appear
    body = as_client(persona).get("/ledger/", {"entity": "pledges.pledge", "entity_id": accepted_pledge.pk}).content.decode()
    expected = list(history(accepted_pledge).values_list("sequence", flat=True)) if sees else []
    assert len(expected) == 3 or not sees
    assert _sequences(body) == expected


@pytest.mark.django_db
def test_an_entry_shows_each_changed_field_by_its_label_with_before_and_after(personas, as_client, accepted_pledge):
    accept = history(accepted_pledge).filter(action="accept").get()
    body = as_client("auditor").get("/ledger/", {"action": "accept"}).content.decode()
    row = re.search(rf'data-sequence="{accept.sequence}".*?</tr>', body, re.S).group(0)
    assert "<dt>state</dt><dd>offered → accepted</dd>" in row
    assert "accepted" in row and "cora" in row and "Test Headquarters" in row
    assert _sequences(body) == [accept.sequence]
    created = history(accepted_pledge).filter(action="create").get()
    body = as_client("auditor").get("/ledger/", {"action": "create", "entity": "pledges.pledge"}).content.decode()
    row = re.search(rf'data-sequence="{created.sequence}".*?</tr>', body, re.S).group(0)
    assert "<dt>quantity pledged</dt><dd>5</dd>" in row and "→" not in row


@pytest.mark.django_db
def test_a_person_filter_finds_only_what_the_reader_may_know_of_that_person(personas, as_client, accepted_pledge):
    by_cora = list(ChangeRecord.objects.filter(actor_user="cora").order_by("-sequence").values_list("sequence", flat=True))
    assert by_cora
    assert _sequences(as_client("auditor").get("/ledger/", {"person": "cora"}).content.decode()) == by_cora
    donor_body = as_client("donor_editor").get("/ledger/", {"person": "cora"}).content.decode()
    assert _sequences(donor_body) == []
    # the donor still reads the acceptance of its pledge, by organization only
    accept = history(accepted_pledge).filter(action="accept").get()
    body = as_client("donor_editor").get("/ledger/", {"organization": "Test Headquarters"}).content.decode()
    row = re.search(rf'data-sequence="{accept.sequence}".*?</tr>', body, re.S).group(0)
    assert "cora" not in row and "Test Headquarters" in row


@pytest.mark.django_db
def test_a_time_range_narrows_the_entries_and_a_reversed_one_is_refused(personas, as_client, accepted_pledge):
    today = dt.datetime.now(dt.UTC).date()
    client = as_client("auditor")
    everything = ChangeRecord.objects.visible_to(personas.auditor).filter(at__date__gte=today).count()
    assert (
        _count(client.get("/ledger/", {"since": today.isoformat(), "until": today.isoformat()}).content.decode())[1] == everything
    )
    assert _sequences(client.get("/ledger/", {"since": (today + dt.timedelta(days=1)).isoformat()}).content.decode()) == []
    response = client.get("/ledger/", {"since": today.isoformat(), "until": (today - dt.timedelta(days=1)).isoformat()})
    assert response.status_code == 400 and "The end of the time range is before its start." in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_kind_of_record_is_refused_not_ignored(personas, as_client, accepted_pledge):
    response = as_client("auditor").get("/ledger/", {"entity": "nothing.here"})
    assert response.status_code == 400 and _sequences(response.content.decode()) == []


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["auditor", "donor_viewer"])
def test_the_checkpoint_download_verifies_against_the_ledger(personas, as_client, accepted_pledge, persona):
    response = as_client(persona).post("/ledger/checkpoint/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    signed = json.loads(response.content)
    leaves = leaf_hashes()
    assert signed["tree_size"] == len(leaves) == ChangeRecord.objects.count()
    assert signed["root_hash"] == merkle.root(leaves).hex()
    assert checkpoints.verify_signature(signed)
    assert LedgerCheckpoint.objects.filter(tree_size=signed["tree_size"], signature=signed["signature"]).exists()
    body = as_client(persona).get("/ledger/").content.decode()
    assert "umbrella ledger verify --checkpoint FILE" in body and "src/umbrella/core/proofs.py" in body
