import ast
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tests import factories
from umbrella.catalog import services as catalog
from umbrella.core.access import Marking
from umbrella.core.errors import Conflict, Forbidden, Invalid, InvalidTransition, NotFound, StaleVersion
from umbrella.core.models import ChangeRecord
from umbrella.needs import services as needs
from umbrella.needs.models import ListState
from umbrella.pledges import services as pledges
from umbrella.pledges.models import Pledge, PledgeState

SOURCE = Path(__file__).resolve().parents[1] / "src" / "umbrella"


def ledger_size() -> int:
    return ChangeRecord.objects.count()


@pytest.mark.django_db
def test_every_write_appends_exactly_one_ledger_entry_with_before_and_after(personas):
    item = factories.item_type(personas)
    before = ledger_size()
    updated = catalog.update_item_type(
        actor=personas.coordinator, item_type_id=item.pk, expected_version=1, changes={"name": "Renamed"}
    )
    assert ledger_size() == before + 1
    entry = ChangeRecord.objects.last()
    assert (entry.action, entry.entity, entry.entity_id) == ("update", "catalog.itemtype", str(item.pk))
    assert entry.before["name"] != "Renamed" and entry.after["name"] == "Renamed"
    assert entry.actor_user == "cora" and entry.actor_organization == "Test Headquarters"
    assert updated.version == 2


@pytest.mark.django_db
def test_a_stale_version_is_its_own_conflict_and_changes_nothing(personas):
    item = factories.item_type(personas)
    catalog.update_item_type(actor=personas.coordinator, item_type_id=item.pk, expected_version=1, changes={"name": "First"})
    before = ledger_size()
    with pytest.raises(StaleVersion, match="changed by someone else") as refused:
        catalog.update_item_type(actor=personas.coordinator, item_type_id=item.pk, expected_version=1, changes={"name": "Second"})
    assert isinstance(refused.value, Conflict) and refused.value.current_version == 2
    item.refresh_from_db()
    assert item.name == "First" and item.version == 2 and ledger_size() == before


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["owner", "version", "created_by", "id"])
def test_fields_umbrella_sets_cannot_be_mass_assigned(personas, field):
    item = factories.item_type(personas)
    with pytest.raises(Invalid) as error:
        catalog.update_item_type(actor=personas.coordinator, item_type_id=item.pk, expected_version=1, changes={field: 1})
    assert field in error.value.field_errors


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["donor_editor", "recipient", "auditor", "observer", "anonymous"])
def test_only_coordination_editors_change_the_catalog(personas, persona):
    with pytest.raises(Forbidden):
        catalog.create_item_type(actor=personas[persona], fields={"code": "NOPE", "name": "x"})


@pytest.mark.django_db
def test_an_nsn_is_validated_normalised_and_its_bureau_named(personas):
    item = factories.item_type(personas, nsn="1320 12 123 4567")
    assert item.nsn == "1320121234567"
    assert str(item.parsed_nsn) == "1320-12-123-4567" and item.parsed_nsn.country == "Germany"
    with pytest.raises(Invalid) as error:
        factories.item_type(personas, nsn="1320-12-123-456")
    assert "nsn" in error.value.field_errors


@pytest.mark.django_db
def test_a_record_still_in_use_cannot_be_deleted(personas):
    pledge = factories.pledge(personas)
    with pytest.raises(Conflict, match="still used"):
        catalog.delete_item_type(actor=personas.coordinator, item_type_id=pledge.item_type_id, expected_version=1)


@pytest.mark.django_db
def test_a_requirement_list_goes_draft_proposed_approved_and_then_changes_only_by_a_new_revision(personas):
    lst = factories.requirement_list(personas, requirements=3)
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    with pytest.raises(Forbidden):
        needs.approve_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    lst = needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    assert lst.state == ListState.APPROVED and lst.approved_by == personas.coordinator.user
    requirement = lst.requirements.first()
    with pytest.raises(InvalidTransition, match="only a draft can change"):
        needs.update_requirement(
            actor=personas.recipient,
            requirement_id=requirement.pk,
            expected_version=requirement.version,
            changes={"quantity": 99},
        )
    draft = needs.start_new_revision(actor=personas.recipient, list_id=lst.pk)
    assert (draft.revision, draft.state, draft.requirements.count()) == (2, ListState.DRAFT, 3)
    needs.update_requirement(
        actor=personas.recipient, requirement_id=draft.requirements.first().pk, expected_version=1, changes={"quantity": 99}
    )
    draft = needs.propose_requirement_list(actor=personas.recipient, list_id=draft.pk, expected_version=draft.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=draft.pk, expected_version=draft.version)
    lst.refresh_from_db()
    assert lst.state == ListState.SUPERSEDED


@pytest.mark.django_db
def test_an_empty_list_cannot_be_proposed_and_a_draft_cannot_be_approved(personas):
    lst = factories.requirement_list(personas, requirements=0)
    with pytest.raises(Invalid):
        needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    with pytest.raises(InvalidTransition, match="^This requirement list is draft, so “Approve” is not possible now.$"):
        needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)


@pytest.mark.django_db
def test_a_pledge_walks_its_whole_lifecycle_each_step_taken_by_its_party(personas):
    pledge = factories.pledge(personas, quantity=8)
    pledge = factories.advance(personas, pledge, "offer", "accept", "allocate", "ship")
    pledge = pledges.advance_pledge(
        actor=personas.recipient, pledge_id=pledge.pk, step="deliver", expected_version=pledge.version, quantity_delivered=6
    )
    pledge = factories.advance(personas, pledge, "hand_over")
    assert pledge.state == PledgeState.HANDED_OVER
    assert (pledge.quantity, pledge.quantity_delivered, pledge.quantity_outstanding) == (8, 6, 2)
    actions = list(
        ChangeRecord.objects.filter(entity="pledges.pledge", entity_id=str(pledge.pk)).values_list("action", flat=True)
    )
    assert actions == ["create", "offer", "accept", "allocate", "ship", "deliver", "hand_over"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "step, persona",
    [
        ("accept", "donor_editor"),
        ("offer", "coordinator"),
        ("offer", "donor_viewer"),
        ("offer", "recipient"),
    ],
)
def test_a_lifecycle_step_by_the_wrong_party_is_forbidden(personas, step, persona):
    pledge = factories.pledge(personas)
    if step == "accept":
        pledge = factories.advance(personas, pledge, "offer")
    with pytest.raises(Forbidden):
        pledges.advance_pledge(actor=personas[persona], pledge_id=pledge.pk, step=step, expected_version=pledge.version)


@pytest.mark.django_db
def test_an_illegal_step_is_an_invalid_transition_naming_only_the_steps_the_person_could_take(personas):
    pledge = factories.pledge(personas)
    with pytest.raises(
        InvalidTransition, match="^This pledge is announced, so “Ship” is not possible now. You could: Offer, Withdraw.$"
    ):
        pledges.advance_pledge(actor=personas.donor_editor, pledge_id=pledge.pk, step="ship", expected_version=1)
    accepted = factories.advance(personas, pledge, "offer", "accept")
    with pytest.raises(InvalidTransition, match="^This pledge is already accepted. You could: Mark expired.$"):
        pledges.advance_pledge(
            actor=personas.coordinator, pledge_id=accepted.pk, step="accept", expected_version=accepted.version
        )


@pytest.mark.django_db
def test_another_donors_owner_only_pledge_is_not_found_for_a_step(personas):
    pledge = factories.pledge(personas, marking=Marking.OWNER)
    with pytest.raises(NotFound):
        pledges.advance_pledge(actor=personas.second_donor, pledge_id=pledge.pk, step="withdraw", expected_version=1)


@pytest.mark.django_db
def test_a_pledge_needs_a_source_and_keeps_its_last_one(personas):
    item = factories.item_type(personas)
    with pytest.raises(Invalid, match="valid"):
        pledges.create_pledge(
            actor=personas.donor_editor,
            fields={"item_type": item, "quantity": 1, "available_from": dt.date(2026, 1, 1)},
            sources=[],
        )
    pledge = factories.pledge(personas, item=item)
    with pytest.raises(Conflict, match="at least one source"):
        pledges.delete_pledge_source(actor=personas.donor_editor, source_id=pledge.sources.get().pk)
    with pytest.raises(Invalid):
        pledges.add_pledge_source(
            actor=personas.donor_editor, pledge_id=pledge.pk, fields={"kind": "media", "date": dt.date(2026, 1, 1)}
        )


@pytest.mark.django_db
def test_a_pledge_without_a_value_is_valued_at_quantity_times_unit_value(personas):
    item = factories.item_type(personas, unit_value_eur=Decimal("2500.50"))
    assert factories.pledge(personas, item=item, quantity=4).value_eur == Decimal("10002.00")


@pytest.mark.django_db
def test_only_an_announced_pledge_is_deleted_and_its_sources_go_with_it_in_the_ledger(personas):
    pledge = factories.pledge(personas)
    offered = factories.advance(personas, factories.pledge(personas), "offer")
    with pytest.raises(InvalidTransition, match="withdraw it instead"):
        pledges.delete_pledge(actor=personas.donor_editor, pledge_id=offered.pk, expected_version=offered.version)
    before = ledger_size()
    pledges.delete_pledge(actor=personas.donor_editor, pledge_id=pledge.pk, expected_version=1)
    assert not Pledge.objects.filter(pk=pledge.pk).exists()
    assert ledger_size() == before + 2  # the source, then the pledge


def _ledgered_names() -> set[str]:
    from umbrella.core.verify import ledgered_models

    return {model.__name__ for model in ledgered_models()} | {"ChangeRecord", "LedgerHead"}


def _calls(relative_allowed: set[str]):
    for path in SOURCE.rglob("*.py"):
        relative = str(path.relative_to(SOURCE))
        if relative in relative_allowed or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                yield relative, node, ast.unparse(node.func.value)


def test_no_bulk_writes_bypass_the_ledger():
    """QuerySet.update(), bulk_create(), bulk_update() and raw SQL skip the services and the ledger;
    application code never uses them on ledgered models. Only the ledger appends its own entries in bulk."""
    names = _ledgered_names()
    offenders = [
        f"{relative}:{node.lineno} {ast.unparse(node)}"
        for relative, node, receiver in _calls({"core/ledger.py"})
        if node.func.attr in ("bulk_create", "bulk_update", "update", "raw", "_raw_delete")
        and (receiver.split(".")[0] in names or "queryset" in receiver.lower())
    ]
    assert not offenders, offenders


def test_models_are_saved_only_inside_services():
    """Views, commands and importers call services: `.save()` and `.delete()` appear only in the write path,
    and `.objects.create()` of a ledgered model nowhere else."""
    allowed = {"core/services.py", "core/models.py", "core/ledger.py", "orgs/services.py"}
    names = _ledgered_names()
    offenders = []
    for relative, node, receiver in _calls(allowed):
        head = receiver.split(".")[0]
        unledgered_model = head[:1].isupper() and head not in names  # e.g. SignInAttempt: throttling state, not records
        saves = (
            node.func.attr in ("save", "delete")
            and receiver not in ("workbook", "super()", "router")
            and not receiver.endswith("session")
            and not unledgered_model
        )
        creates = node.func.attr == "create" and receiver.split(".")[0] in names
        if saves or creates:
            offenders.append(f"{relative}:{node.lineno} {ast.unparse(node)}")
    assert not offenders, offenders


def test_services_open_their_transaction_one_way():
    """Every service writes inside `services.atomic()` (a savepoint, except for the creates of a bulk batch),
    never `transaction.atomic()` of its own, so the bulk path can leave out savepoints that guard nothing."""
    offenders = [
        f"{path.relative_to(SOURCE)}:{number}"
        for path in SOURCE.glob("*/services.py")
        if path.parent.name != "core"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "transaction.atomic(" in line
    ]
    assert not offenders, offenders
