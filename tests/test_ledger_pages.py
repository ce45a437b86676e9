"""The inspector's ledger pages: entries a reader may read, filtered by record, organization, person, action
and time, with what each changed; and a signed checkpoint that verifies outside Umbrella."""

import datetime as dt
import json
import re

import pytest
from django.conf import settings

from tests import factories
from umbrella.core import checkpoints, merkle
from umbrella.core.ledger import history, leaf_hashes
from umbrella.core.models import ChangeRecord, LedgerCheckpoint
from umbrella.orgs.services import set_password

READERS = ("auditor", "coordinator", "hq_admin", "donor_editor", "donor_viewer", "second_donor", "recipient", "observer")


def _sequences(body: str) -> list[int]:
    return [int(value) for value in re.findall(r'data-sequence="(\d+)"', body)]


def _row(body: str, entry: ChangeRecord) -> str:
    return re.search(rf'data-sequence="{entry.sequence}".*?</tr>', body, re.S).group(0)


def _changes(row: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", row))


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
    row = _row(body, accept)
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
    nobody = as_client("donor_editor").get("/ledger/", {"person": "nobody"}).content.decode()
    assert _error_next_to(donor_body, "person") == _error_next_to(nobody, "person").replace("nobody", "cora") != ""
    # the donor still reads the acceptance of its pledge, by organization only
    accept = history(accepted_pledge).filter(action="accept").get()
    body = as_client("donor_editor").get("/ledger/", {"organization": "Test Headquarters"}).content.decode()
    row = re.search(rf'data-sequence="{accept.sequence}".*?</tr>', body, re.S).group(0)
    assert "cora" not in row and "Test Headquarters" in row


@pytest.mark.django_db
def test_a_person_is_found_by_a_user_name_in_any_case_and_no_one_unknown_lists_silently(personas, as_client, accepted_pledge):
    by_cora = list(ChangeRecord.objects.filter(actor_user="cora").order_by("-sequence").values_list("sequence", flat=True))
    client = as_client("auditor")
    assert _sequences(client.get("/ledger/", {"person": "CORA"}).content.decode()) == by_cora
    response = client.get("/ledger/", {"person": "nobody"})
    assert response.status_code == 400
    expected = "“nobody” is not the user name of anyone whose changes you may see."
    assert _error_next_to(response.content.decode(), "person") == expected
    # a person of the reader's own organization who changed nothing lists nothing, without an error
    quiet = as_client("donor_editor").get("/ledger/", {"person": personas.donor_viewer.user.username.upper()})
    assert quiet.status_code == 200 and _sequences(quiet.content.decode()) == []


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
    assert response.status_code == 400
    assert _error_next_to(response.content.decode(), "until") == "The end of the time range is before its start."


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


@pytest.mark.django_db
def test_the_checkpoint_note_tells_an_inspector_what_the_file_is_what_to_keep_and_how_to_check_it(personas, as_client):
    body = as_client("donor_viewer").get("/ledger/").content.decode()
    note = re.search(r'<section class="checkpoint-help".*?</section>', body, re.S).group(0)
    headings = re.findall(r"<h3[^>]*>(.*?)</h3>", note)
    assert headings == ["What the file is", "What to keep", "How to check it"]
    assert "outside Umbrella" in note and "<code>public_key</code>" in note
    assert "<code>umbrella ledger verify --checkpoint FILE</code>" in note
    assert "<code>/api/v1/ledger/proofs/consistency?first=N</code>" in note and "<code>check_consistency</code>" in note
    assert "<code>docs/ledger.md</code>" in note
    sentences = re.split(r"(?<=[.:])\s", re.sub(r"<[^>]+>", "", note))
    assert max(len(sentence.split()) for sentence in sentences) <= 25


@pytest.mark.django_db
def test_a_state_reads_by_its_label_not_its_code(personas, as_client):
    steps = ("offer", "accept", "allocate", "ship", "deliver", "hand_over")
    pledge = factories.advance(personas, factories.pledge(personas), *steps)
    handover = history(pledge).filter(action="hand_over").get()
    row = _row(as_client("auditor").get("/ledger/", {"action": "hand_over"}).content.decode(), handover)
    assert _changes(row)["state"] == "delivered → handed over"
    assert "handed_over" not in row


@pytest.mark.django_db
def test_a_creation_reads_its_values_as_the_other_pages_write_them(personas, as_client):
    pledge = factories.pledge(personas, quantity=5000)
    created = history(pledge).filter(action="create").get()
    changes = _changes(_row(as_client("auditor").get("/ledger/", {"entity": "pledges.pledge"}).content.decode(), created))
    assert changes["item type"] == f"item type #{pledge.item_type_id}: {pledge.item_type}"
    assert changes["owner"] == f"organization #{pledge.owner_id}: Donor A"
    assert changes["created by"] == f"user #{pledge.created_by_id}: alice"
    assert changes["value (EUR)"] == "5,000,000.00"
    assert changes["re-transfer needs the donor&#x27;s consent"] == "yes"
    assert changes["state"] == "announced"
    assert changes["available from"] == "2026-03-01"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", changes["created at"])


@pytest.mark.django_db
def test_an_amount_reads_in_the_readers_language(personas, as_client):
    pledge = factories.pledge(personas, quantity=5000)
    created = history(pledge).filter(action="create").get()
    client = as_client("auditor")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"
    row = _row(client.get("/ledger/", {"entity": "pledges.pledge"}).content.decode(), created)
    assert "5\xa0000\xa0000,00" in row and "5000000.00" not in row


@pytest.mark.django_db
def test_a_referenced_record_is_named_only_where_the_reader_may_see_it(personas, as_client):
    """An item type's creation is read by a donor too, but the person at HQ who created it is not one the donor
    may know: it keeps the id. A donor knows its own people, and everyone the fixed capability areas."""
    item = factories.item_type(personas)
    created = history(item).filter(action="create").get()
    cora = str(personas.coordinator.user.pk)
    artillery = f"capability area #{item.capability_area_id}: Artillery"
    for persona, creator in (("auditor", f"user #{cora}: cora"), ("donor_editor", cora)):
        body = as_client(persona).get("/ledger/", {"entity": "catalog.itemtype", "entity_id": item.pk}).content.decode()
        changes = _changes(_row(body, created))
        assert (changes["created by"], changes["capability area"]) == (creator, artillery)
    pledge = factories.pledge(personas, item=item)
    body = as_client("donor_viewer").get("/ledger/", {"entity": "pledges.pledge", "entity_id": pledge.pk}).content.decode()
    alice = personas.donor_editor.user.pk
    assert _changes(_row(body, history(pledge).filter(action="create").get()))["created by"] == f"user #{alice}: alice"


@pytest.mark.django_db
def test_a_linked_pledge_reads_by_its_id_before_its_name_which_starts_with_its_quantity(personas, as_client):
    pledge = factories.pledge(personas, quantity=14)
    source = ChangeRecord.objects.get(entity="pledges.pledgesource", action="create", after__pledge_id=pledge.pk)
    body = as_client("auditor").get("/ledger/", {"entity": "pledges.pledgesource"}).content.decode()
    assert str(pledge).startswith("14 ")
    assert _changes(_row(body, source))["pledge"] == f"pledge #{pledge.pk}: {pledge}"


@pytest.mark.django_db
def test_a_password_reads_as_set_or_changed_never_as_its_digest(personas, as_client):
    alice = personas.donor_editor.user
    set_password(actor=personas.hq_admin, user_id=alice.pk, password="a new and long password 2026")
    change = ChangeRecord.objects.filter(entity="auth.user", entity_id=str(alice.pk), action="set-password").get()
    created = ChangeRecord.objects.filter(entity="auth.user", entity_id=str(alice.pk), action="create").get()
    body = as_client("coordinator").get("/ledger/", {"entity": "auth.user", "entity_id": alice.pk}).content.decode()
    assert _changes(_row(body, change))["password"] == "changed"
    assert _changes(_row(body, created))["password"] == "set"
    assert "sha256$" not in body


def _error_next_to(body: str, field: str) -> str:
    """The message under the filter, in the same group as its field, which names it as what describes it."""
    group = rf'<div class="filter"><label>[^<]*<[^>]*name="{field}"[^>]*aria-describedby="id_{field}_error"[^>]*>.*?</label>'
    found = re.search(rf'{group}\s*<p class="error" role="alert" id="id_{field}_error">(.*?)</p></div>', body, re.S)
    return found.group(1) if found else ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, value, message",
    [
        ("since", "2026-13-45", "“2026-13-45” is not a date. Give it as year-month-day, such as 2026-03-01."),
        ("until", "yesterday", "“yesterday” is not a date. Give it as year-month-day, such as 2026-03-01."),
        ("entity_id", "abc", "“abc” is not a record id. A record id is a whole number, such as 42."),
        ("organization", "Nowhere", "“Nowhere” is not an organization. Pick one from the list."),
        ("entity", "nothing.here", "“nothing.here” is not a kind of record. Pick one from the list."),
        ("action", "zap", "“zap” is not an action. Pick one from the list."),
    ],
)
def test_a_filter_value_the_page_cannot_read_is_named_next_to_its_filter_and_nothing_is_listed(
    personas, as_client, accepted_pledge, field, value, message
):
    response = as_client("auditor").get("/ledger/", {"entity": "pledges.pledge", field: value})
    body = response.content.decode()
    assert response.status_code == 400
    assert _error_next_to(body, field) == message
    assert _sequences(body) == [] and "No entry is listed until the filters above are corrected." in body


@pytest.mark.django_db
def test_a_parameter_that_is_no_filter_is_refused_not_ignored(personas, as_client, accepted_pledge):
    response = as_client("auditor").get("/ledger/", {"from": "2026-13-45"})
    body = response.content.decode()
    assert response.status_code == 400 and _sequences(body) == []
    expected = (
        "This page has no filter called “from”. Its filters are: entity, entity_id, organization, person, action, since, until."
    )
    assert f'<p class="error" role="alert">{expected}</p>' in body


@pytest.mark.django_db
def test_a_name_the_reader_has_no_entry_of_lists_nothing_instead_of_being_refused(personas, as_client, accepted_pledge):
    """The observer's organization made no change, and the second donor reads no entry of this pledge."""
    client = as_client("second_donor")
    for filters in ({"organization": "Test Observer"}, {"entity": "pledges.pledge", "entity_id": accepted_pledge.pk}):
        response = client.get("/ledger/", filters)
        body = response.content.decode()
        assert response.status_code == 200 and 'class="error"' not in body
        assert _sequences(body) == [] and "No entry you may read matches." in body


@pytest.mark.django_db
def test_a_record_id_with_leading_zeros_names_the_same_record(personas, as_client, accepted_pledge):
    body = as_client("auditor").get("/ledger/", {"entity": "pledges.pledge", "entity_id": f"00{accepted_pledge.pk}"}).content
    assert _sequences(body.decode()) == list(history(accepted_pledge).values_list("sequence", flat=True))
