"""The ledger detects tampering behind the application's back, and reproduces every ledgered table."""

import datetime as dt
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from tests import factories
from tests.conftest import SECOND_LEG
from umbrella.core import verify_rows
from umbrella.core.access import Actor, Role
from umbrella.core.errors import Forbidden, Invalid
from umbrella.core.ledger import GENESIS_HASH, compute_leaf_hash, current_checkpoint
from umbrella.core.models import ChangeRecord, LedgerHead
from umbrella.core.testing import PERSONA_PASSWORD
from umbrella.core.verify import ledgered_models, verify
from umbrella.orgs import services
from umbrella.orgs.models import ApiToken, Membership
from umbrella.orgs.queries import actor_for
from umbrella.orgs.services import hash_token
from umbrella.pledges.models import Pledge

LEDGER = ChangeRecord._meta.db_table
HEAD = LedgerHead._meta.db_table
TEXT_COLUMNS = ("actor_user", "actor_organization", "request_id", "action", "entity", "entity_id", "marking", "salt")


def execute(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def json_cast() -> str:
    return "::jsonb" if connection.vendor == "postgresql" else ""


def build_history(personas) -> None:
    for _ in range(6):
        pledge = factories.pledge(personas)
        factories.advance(personas, pledge, "offer", "accept")
    factories.requirement_list(personas, requirements=4)


def entries() -> list[ChangeRecord]:
    return list(ChangeRecord.objects.order_by("sequence"))


def fix_head() -> None:
    last = ChangeRecord.objects.order_by("-sequence").first()
    execute(
        f"UPDATE {HEAD} SET size = %s, last_hash = %s WHERE id = 1",
        [last.sequence if last else 0, last.leaf_hash if last else GENESIS_HASH],
    )


def change_a_byte(rng: random.Random, checkpoint_size: int) -> str:
    entry = rng.choice(entries())
    column = rng.choice((*TEXT_COLUMNS, "after", "at"))
    if column == "after":
        after = dict(entry.after or {"id": entry.entity_id})
        key = rng.choice(sorted(after))
        after[key] = f"{after[key]}x"
        execute(f"UPDATE {LEDGER} SET after = %s{json_cast()} WHERE sequence = %s", [json.dumps(after), entry.sequence])
    elif column == "at":
        execute(
            f"UPDATE {LEDGER} SET at = %s WHERE sequence = %s",
            [entry.at.replace(microsecond=(entry.at.microsecond + 1) % 10**6), entry.sequence],
        )
    else:
        value = getattr(entry, column)
        position = rng.randrange(len(value))
        replacement = "Z" if value[position] != "Z" else "Y"
        execute(
            f"UPDATE {LEDGER} SET {column} = %s WHERE sequence = %s",
            [value[:position] + replacement + value[position + 1 :], entry.sequence],
        )
    return f"change {column} of entry {entry.sequence}"


def delete_an_entry(rng: random.Random, checkpoint_size: int) -> str:
    entry = rng.choice(entries())
    execute(f"DELETE FROM {LEDGER} WHERE sequence = %s", [entry.sequence])
    fix_head()
    return f"delete entry {entry.sequence}"


def insert_an_entry(rng: random.Random, checkpoint_size: int) -> str:
    """A forger who knows the algorithm appends a well-formed entry claiming a change nobody made."""
    last = entries()[-1]
    pledge = rng.choice(list(Pledge.objects.all()))
    forged = ChangeRecord(**{f.attname: getattr(last, f.attname) for f in ChangeRecord._meta.concrete_fields})
    forged.sequence, forged.previous_hash = last.sequence + 1, last.leaf_hash
    forged.entity, forged.entity_id, forged.action = "pledges.pledge", str(pledge.pk), "update"
    forged.after = {
        **(ChangeRecord.objects.filter(entity="pledges.pledge", entity_id=str(pledge.pk)).last().after),
        "quantity": 999_999,
    }
    forged.leaf_hash = compute_leaf_hash(forged)
    forged.save(force_insert=True)
    fix_head()
    return f"insert a forged entry for pledge {pledge.pk}"


def reorder_entries(rng: random.Random, checkpoint_size: int) -> str:
    size = len(entries())
    first, second = sorted(rng.sample(range(1, size + 1), 2))
    parked = size + 1_000
    execute(f"UPDATE {LEDGER} SET sequence = %s WHERE sequence = %s", [parked, first])
    execute(f"UPDATE {LEDGER} SET sequence = %s WHERE sequence = %s", [first, second])
    execute(f"UPDATE {LEDGER} SET sequence = %s WHERE sequence = %s", [second, parked])
    return f"swap entries {first} and {second}"


def rewrite_from_a_point(rng: random.Random, checkpoint_size: int) -> str:
    """The strongest forger: rewrites an entry the checkpoint covers, then re-hashes and re-links every
    entry after it and the head, so every entry matches its hash and the chain is unbroken."""
    start = rng.randint(1, checkpoint_size)
    previous = GENESIS_HASH
    for entry in entries():
        if entry.sequence == start:
            entry.actor_user = "someone-else"
        if entry.sequence >= start:
            entry.previous_hash = previous
            entry.leaf_hash = compute_leaf_hash(entry)
            execute(
                f"UPDATE {LEDGER} SET actor_user = %s, previous_hash = %s, leaf_hash = %s WHERE sequence = %s",
                [entry.actor_user, entry.previous_hash, entry.leaf_hash, entry.sequence],
            )
        previous = entry.leaf_hash
    fix_head()
    return f"rewrite the chain from entry {start}"


def change_a_row_without_an_entry(rng: random.Random, checkpoint_size: int) -> str:
    editable = {
        model: [
            f
            for f in model._meta.concrete_fields
            if not f.primary_key and not f.choices and f.get_internal_type() in ("CharField", "PositiveIntegerField", "TextField")
        ]
        for model in ledgered_models()
        if model.objects.exists()
    }
    model = rng.choice(sorted((m for m, fields in editable.items() if fields), key=lambda m: m._meta.label))
    row = rng.choice(list(model.objects.order_by("pk")))
    field = rng.choice(editable[model])
    value = getattr(row, field.attname)
    if field.get_internal_type() == "PositiveIntegerField":  # a nullable one (a hub's capacity) may be empty
        new = (value or 0) + 1
    else:  # same length, so the column's limit holds on every database
        new = (value[:-1] + ("?" if value.endswith("!") else "!")) if value else "!"
    execute(f"UPDATE {model._meta.db_table} SET {field.column} = %s WHERE {model._meta.pk.column} = %s", [new, row.pk])
    return f"change {model._meta.label_lower} {row.pk}.{field.name} without an entry"


TAMPERINGS = (
    change_a_byte,
    delete_an_entry,
    insert_an_entry,
    reorder_entries,
    rewrite_from_a_point,
    change_a_row_without_an_entry,
)


@pytest.mark.django_db
def test_an_untouched_ledger_verifies_and_reproduces_every_table(personas):
    build_history(personas)
    report = verify(current_checkpoint())
    assert report.ok, report.as_dict()
    assert report.size == ChangeRecord.objects.count()
    assert report.rows_checked == sum(model.objects.count() for model in ledgered_models())


@pytest.mark.django_db
@pytest.mark.parametrize("page", [1, 2, 3, 1000])
def test_every_row_is_checked_whatever_the_page_size_of_the_read(personas, monkeypatch, page):
    """verify reads each table a page of rows at a time by key: the row on the last page, or the only one on
    it, is checked like the first."""
    made = [factories.pledge(personas) for _ in range(5)]
    monkeypatch.setattr(verify_rows, "CHUNK", page)
    assert verify().ok
    for pledge in (made[0], made[-1]):
        execute("UPDATE pledges_pledge SET quantity = quantity + 1 WHERE id = %s", [pledge.pk])
        report = verify()
        assert not report.ok and f"row pledges.pledge {pledge.pk} differs from the ledger in: quantity" in json.dumps(
            report.as_dict()
        )
        execute("UPDATE pledges_pledge SET quantity = quantity - 1 WHERE id = %s", [pledge.pk])
    assert verify().rows_checked == sum(model.objects.count() for model in ledgered_models())


# A thousand on the SQLite leg; the PostgreSQL leg, whose reads differ but whose tamperings are drawn by the same
# code, takes the first two hundred (each kind more than thirty times), a minute and a half less of a CI run.
TAMPERING_ATTEMPTS = 200 if SECOND_LEG else 1000


@pytest.mark.django_db
def test_random_tamperings_are_each_detected_against_an_earlier_checkpoint(personas):
    build_history(personas)
    checkpoint = current_checkpoint()
    factories.pledge(personas)  # the ledger grows after the checkpoint, as it does in real life
    assert verify(checkpoint).ok
    rng = random.Random(6962)
    undetected = []
    for attempt in range(TAMPERING_ATTEMPTS):
        tamper = TAMPERINGS[attempt % len(TAMPERINGS)]
        with transaction.atomic():
            description = tamper(rng, checkpoint["tree_size"])
            if verify(checkpoint).ok:
                undetected.append(description)
            transaction.set_rollback(True)
    assert not undetected, undetected[:10]
    assert verify(checkpoint).ok


@pytest.mark.django_db
def test_a_forged_or_stale_checkpoint_is_refused(personas):
    build_history(personas)
    checkpoint = current_checkpoint()
    assert not verify({**checkpoint, "tree_size": checkpoint["tree_size"] - 1}).ok  # signature no longer matches
    assert not verify({**checkpoint, "signature": "00" * 64}).ok


@pytest.mark.django_db
def test_the_command_verifies_and_names_the_row_edited_behind_its_back(personas):
    build_history(personas)
    out = io.StringIO()
    call_command("ledger", "checkpoint", json=True, stdout=out)
    saved = json.loads(out.getvalue())
    out = io.StringIO()
    call_command("ledger", "verify", json=True, stdout=out)
    report = json.loads(out.getvalue())
    assert report["ok"] and report["size"] == saved["tree_size"] and report["root"] == saved["root_hash"]
    pledge = Pledge.objects.order_by("pk").first()
    execute(f"UPDATE {Pledge._meta.db_table} SET quantity = 12345 WHERE id = %s", [pledge.pk])
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("ledger", "verify", json=True, stdout=out)
    assert failure.value.returncode == 1
    problem = json.loads(out.getvalue())["first_problem"]
    assert problem["row"] == f"pledges.pledge {pledge.pk}" and "quantity" in problem["message"]


@pytest.mark.django_db
def test_ledger_entries_cannot_be_changed_or_deleted_through_the_application(personas):
    build_history(personas)
    entry = ChangeRecord.objects.first()
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()


# Accounts and tokens: who may act, and as whom, is in the ledger like every record.


def user_table() -> str:
    return get_user_model()._meta.db_table


def problems_of(report) -> list[str]:
    return [problem.row or problem.message for problem in report.problems]


@pytest.mark.django_db
def test_a_token_row_inserted_behind_the_ledgers_back_is_reported(personas):
    admin = personas.hq_admin
    execute(
        f"INSERT INTO {ApiToken._meta.db_table} (user_id, organization_id, name, prefix, key_hash, created_at, expires_at)"
        " VALUES (%s, %s, 'forged', 'f0f0f0f0f0f0', %s, %s, %s)",
        [
            admin.user.pk,
            admin.organization.pk,
            hash_token("umb_f0f0f0f0f0f0_forged"),
            "2026-01-01 00:00:00",
            "2099-01-01 00:00:00",
        ],
    )
    forged = ApiToken.objects.get(prefix="f0f0f0f0f0f0")
    report = verify()
    assert f"orgs.apitoken {forged.pk}" in problems_of(report)
    assert "has no ledger entry" in report.problems[0].message


@pytest.mark.django_db
@pytest.mark.parametrize("column, value", [("is_superuser", True), ("is_staff", True), ("is_active", False)])
def test_an_account_flag_flipped_behind_the_ledgers_back_is_reported(personas, column, value):
    user = personas.donor_viewer.user
    execute(f"UPDATE {user_table()} SET {column} = %s WHERE id = %s", [value, user.pk])
    report = verify()
    assert problems_of(report) == [f"auth.user {user.pk}"]
    assert column in report.problems[0].message


@pytest.mark.django_db
def test_a_password_hash_changed_behind_the_ledgers_back_is_reported(personas):
    user = personas.donor_viewer.user
    execute(f"UPDATE {user_table()} SET password = %s WHERE id = %s", [make_password("chosen-by-the-intruder-2026"), user.pk])
    report = verify()
    assert problems_of(report) == [f"auth.user {user.pk}"]
    assert "password" in report.problems[0].message


@pytest.mark.django_db
def test_accounts_sharing_one_known_password_take_its_hash_made_once_and_sign_in_with_it(personas, client):
    shared = make_password("the-demo-password-2026")
    for username in ("first-of-many", "second-of-many"):
        services.create_user(actor=personas.hq_admin, username=username, password="the-demo-password-2026", password_hash=shared)
        assert client.login(username=username, password="the-demo-password-2026")
    with pytest.raises(Invalid) as not_a_hash:
        services.create_user(actor=personas.hq_admin, username="third", password="the-demo-password-2026", password_hash="x")
    assert "password" in not_a_hash.value.field_errors
    with pytest.raises(Invalid):  # the password itself is still checked
        services.create_user(actor=personas.hq_admin, username="fourth", password="short", password_hash=make_password("short"))
    assert verify().ok


@pytest.mark.django_db
def test_honest_account_and_token_changes_verify_and_the_ledger_never_holds_a_secret(personas, client):
    system = Actor.system("tests")
    user = services.create_user(
        actor=personas.hq_admin, username="newcomer", password="first-password-2026", email="n@example.invalid"
    )
    services.set_membership(
        actor=personas.hq_admin, user_id=user.pk, organization_id=personas.donor_editor.organization.pk, role=Role.VIEWER
    )
    services.set_membership(
        actor=system, user_id=user.pk, organization_id=personas.donor_editor.organization.pk, role=Role.EDITOR
    )
    services.set_user_flags(actor=personas.hq_admin, user_id=user.pk, is_staff=True, is_superuser=True)
    services.set_password(actor=actor_for(user), user_id=user.pk, password="second-password-2026")
    token, secret = services.issue_token(
        actor=actor_for(user), user_id=user.pk, organization_id=personas.donor_editor.organization.pk, name="t"
    )
    services.revoke_token(actor=personas.hq_admin, token_id=token.pk)
    assert client.login(username="newcomer", password="second-password-2026")  # a sign-in changes last_login only
    assert get_user_model().objects.get(pk=user.pk).last_login is not None

    report = verify(current_checkpoint())
    assert report.ok, report.as_dict()
    user.refresh_from_db()
    token.refresh_from_db()
    recorded = json.dumps(
        [[entry.before, entry.after] for entry in ChangeRecord.objects.filter(entity__in=("auth.user", "orgs.apitoken"))]
    )
    for secret_value in (user.password, token.key_hash, secret, "second-password-2026"):
        assert secret_value not in recorded
    actions = list(ChangeRecord.objects.filter(entity="auth.user", entity_id=str(user.pk)).values_list("action", flat=True))
    assert actions == ["create", "set-flags", "set-password"]
    flags, password = ChangeRecord.objects.filter(entity="auth.user", entity_id=str(user.pk)).order_by("sequence")[1:]
    assert flags.before["password"] == flags.after["password"]  # the flags changed, the password did not
    assert password.before["password"] != password.after["password"] and "last_login" not in password.after


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["donor_editor", "coordinator", "recipient"])
def test_only_hq_administrators_change_flags_and_other_peoples_passwords(personas, persona):
    target = personas.donor_viewer.user.pk
    with pytest.raises(Forbidden):
        services.set_user_flags(actor=personas[persona], user_id=target, is_superuser=True)
    with pytest.raises(Forbidden):
        services.set_password(actor=personas[persona], user_id=target, password="not-theirs-to-set-2026")
    assert verify().ok


def test_the_account_commands_are_ledgered_and_verify_reports_a_flag_flipped_behind_them(tmp_path):
    """`umbrella createsuperuser` and `umbrella changepassword` are Umbrella's ledgered commands, not Django's."""
    env = {key: value for key, value in os.environ.items() if key not in ("UMBRELLA_DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["UMBRELLA_DATA_DIR"] = str(tmp_path)
    umbrella = str(Path(sys.executable).with_name("umbrella"))

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([umbrella, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)

    assert run("migrate", "-v0").returncode == 0
    created = run("createsuperuser", "--username", "root", "--noinput", "--password-stdin", stdin="first-root-password-2026\n")
    assert created.returncode == 0, created.stderr
    assert run("changepassword", "root", "--password-stdin", stdin="second-root-password-2026\n").returncode == 0
    assert run("user", "flags", "root", "--no-superuser").returncode == 0
    weak = run("changepassword", "root", "--password-stdin", stdin="short\n")
    assert weak.returncode == 2 and "too short" in weak.stderr
    verified = run("ledger", "verify", "--json")
    assert verified.returncode == 0, verified.stdout
    report = json.loads(verified.stdout)
    assert report["ok"] and report["size"] == 3

    with sqlite3.connect(tmp_path / "umbrella.sqlite3") as database:
        database.execute("UPDATE auth_user SET is_superuser = 1 WHERE username = 'root'")
    tampered = run("ledger", "verify", "--json")
    assert tampered.returncode == 1
    problem = json.loads(tampered.stdout)["first_problem"]
    assert problem["row"].startswith("auth.user ") and "is_superuser" in problem["message"]


@pytest.mark.django_db
def test_a_hash_upgraded_at_sign_in_is_recorded_so_the_ledger_still_verifies(personas, client, settings):
    user = personas.donor_viewer.user
    # A stronger hasher becomes preferred (as after an upgrade); the next sign-in stores a new hash of the same password.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert client.login(username=user.username, password=PERSONA_PASSWORD)
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha1$")
    entry = ChangeRecord.objects.order_by("-sequence").first()
    assert (entry.entity, entry.entity_id, entry.action) == ("auth.user", str(user.pk), "rehash-password")
    assert entry.before["password"] != entry.after["password"]
    assert verify().ok


@pytest.mark.django_db
def test_a_token_or_role_written_behind_the_ledgers_back_opens_nothing_in_the_api(personas):
    """The red team's attack: a token row inserted straight into the database, acting as an administrator."""
    admin = personas.hq_admin
    forged_secret = "umb_f0f0f0f0f0f0_forged-by-hand"
    execute(
        f"INSERT INTO {ApiToken._meta.db_table} (user_id, organization_id, name, prefix, key_hash, created_at, expires_at)"
        " VALUES (%s, %s, 'forged', 'f0f0f0f0f0f0', %s, %s, %s)",
        [admin.user.pk, admin.organization.pk, hash_token(forged_secret), timezone.now(), timezone.now() + dt.timedelta(days=9)],
    )
    assert Client(HTTP_AUTHORIZATION=f"Bearer {forged_secret}").get("/api/v1/pledges").status_code == 401

    viewer = personas.donor_viewer
    _, secret = services.issue_token(
        actor=Actor.system("tests"), user_id=viewer.user.pk, organization_id=viewer.organization.pk, name="t"
    )
    honest = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert honest.get("/api/v1/pledges").status_code == 200
    execute(
        f"UPDATE {Membership._meta.db_table} SET role = 'admin' WHERE user_id = %s AND organization_id = %s",
        [viewer.user.pk, viewer.organization.pk],
    )
    assert honest.get("/api/v1/pledges").status_code == 401
