"""Test personas, built once per test database, and the page contract every model's pages must keep.

Personas (DESIGN.md): a donor editor, a donor viewer, a second donor, the recipient, coordination staff,
an HQ administrator, an auditor, an observer, and the anonymous public. Their organization codes start
with X so the demo scenario can load beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

from umbrella.core.access import Actor, OrganizationKind, Role

PERSONA_PASSWORD = "persona-password-2026"
ORGANIZATIONS = (
    ("XHQ", "Test Headquarters", OrganizationKind.COORDINATOR, ""),
    ("XUA", "Test Recipient", OrganizationKind.RECIPIENT, "UKR"),
    ("XDA", "Donor A", OrganizationKind.DONOR, "DEU"),
    ("XDB", "Donor B", OrganizationKind.DONOR, "POL"),
    ("XOB", "Test Observer", OrganizationKind.OBSERVER, ""),
)
USERS = {
    "donor_editor": ("alice", "XDA", Role.EDITOR),
    "donor_viewer": ("victor", "XDA", Role.VIEWER),
    "second_donor": ("bob", "XDB", Role.EDITOR),
    "recipient": ("rita", "XUA", Role.EDITOR),
    "coordinator": ("cora", "XHQ", Role.APPROVER),
    "hq_admin": ("adam", "XHQ", Role.ADMIN),
    "auditor": ("audrey", "XHQ", Role.VIEWER),
    "observer": ("olga", "XOB", Role.VIEWER),
}
PERSONA_NAMES = (*USERS, "anonymous")


@dataclass(frozen=True)
class Personas:
    actors: dict[str, Actor]

    def __getattr__(self, name: str) -> Actor:
        try:
            return self.actors[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Actor:
        return self.actors[name]


def build_personas() -> None:
    """Create the personas' organizations, users and memberships through the services."""
    from umbrella.orgs import services
    from umbrella.orgs.models import Organization

    system = Actor.system("personas")
    organizations = {
        code: services.create_organization(actor=system, code=code, name=name, kind=kind, iso3=iso3)
        for code, name, kind, iso3 in ORGANIZATIONS
    }
    assert Organization.objects.filter(code__in=organizations).count() == len(ORGANIZATIONS)
    for username, code, role in USERS.values():
        user = services.create_user(actor=system, username=username, password=PERSONA_PASSWORD)
        services.set_membership(actor=system, user_id=user.pk, organization_id=organizations[code].pk, role=role)


def load_personas() -> Personas:
    from django.contrib.auth import get_user_model

    from umbrella.orgs.queries import actor_for

    users = {user.username: user for user in get_user_model().objects.filter(username__in=[u for u, _, _ in USERS.values()])}
    actors = {name: actor_for(users[username]) for name, (username, _, _) in USERS.items()}
    actors["anonymous"] = Actor.anonymous()
    return Personas(actors)


@dataclass(frozen=True)
class PageContract:
    """What one model's pages promise each persona: who sees a record, who creates, who changes it.

    The generic checks below turn twenty lines of this into a test per persona and operation: a record
    the persona may not see is a 404 on every page; one it sees but may not change is a 403; the public
    is sent to sign in; every allowed write redirects and appends exactly `ledger_entries` entries.
    """

    name: str
    make: object  # (personas) -> the record under test
    list_url: object  # (record) -> URL of the list that shows it
    detail_url: object  # (record) -> URL
    create_url: object  # (record) -> URL of the create form
    create_data: object  # (personas, record) -> POST data
    edit_url: object  # (record) -> URL
    edit_data: object  # (record) -> POST data
    delete_url: object  # (record) -> URL
    can_see: frozenset[str]
    can_create: frozenset[str]
    can_change: frozenset[str]
    create_entries: int = 1
    delete_entries: int = 1
    label: object = str  # (record) -> text the list shows for it
    nested_list: bool = False  # the list is a parent's page, hidden from whoever cannot see the record

    def expected(self, persona: str, operation: str) -> int:
        if operation == "list" and not self.nested_list:
            return 200
        if operation in ("list", "detail"):
            return 200 if persona in self.can_see else 404
        if persona == "anonymous":
            return 302
        if operation == "create":
            return 302 if persona in self.can_create else 403
        if persona not in self.can_see:
            return 404
        return 302 if persona in self.can_change else 403


OPERATIONS = ("list", "detail", "create", "edit", "delete")
