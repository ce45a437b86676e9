"""The demo scenario: real nations and equipment, generated needs and pledges, loaded through the services.

Deterministic: the same seed and scale give the same database, whatever the date. Every record is written
by a service acting as the persona who would write it in real life, so the ledger reads like real work.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from umbrella.catalog import services as catalog
from umbrella.catalog.models import ItemType
from umbrella.core import bulk, imports
from umbrella.core.access import Actor, Marking, OrganizationKind, Role
from umbrella.core.tabular import read_table
from umbrella.demo.end_use import EndUse
from umbrella.demo.generator import BASE_DATE, DATA, PLEDGES_PER_SCALE, REQUIREMENTS_PER_SCALE, Generator
from umbrella.demo.personas import (
    DEMO_PASSWORD,
    HQ_CODE,
    OBSERVER_CODE,
    PERSONAS,
    RECIPIENT_CODE,
    liaison_username,
)
from umbrella.demo.shipments import Parties, Shipments
from umbrella.demo.training import Training
from umbrella.funding import rates
from umbrella.funding import services as funding
from umbrella.funding.models import Category, Channel
from umbrella.matching import services as matching
from umbrella.matching.models import Allocation
from umbrella.needs import services as needs
from umbrella.orgs import services as orgs
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import actor_for
from umbrella.places.importers import GAZETTEER
from umbrella.places.queries import place_index
from umbrella.pledges import services as pledges
from umbrella.pledges.models import Pledge, SourceKind

GDP_SOURCE = "World Bank WDI NY.GDP.MKTP.CD, 2023, current USD (transcribed; see demo/data/SOURCES.md)"
DRAFT_REQUIREMENTS_PER_SCALE = 40
MARKING_WEIGHTS = {Marking.COORDINATION: 70, Marking.PARTICIPANTS: 15, Marking.OWNER: 10, Marking.PUBLIC: 5}
# How far along its lifecycle each pledge is, and the steps (with who takes them) that get it there. Allocation
# waits for the first match run; then the pledges of the last three stages move on consignments (demo.shipments).
STAGES = {
    "announced": ((), 15),
    "offered": (("offer",), 25),
    "accepted": (("offer", "accept"), 28),
    "allocated": (("offer", "accept", "allocate"), 10),
    "shipped": (("offer", "accept", "allocate"), 8),
    "delivered": (("offer", "accept", "allocate"), 5),
    "handed_over": (("offer", "accept", "allocate"), 4),
    "withdrawn": (("offer", "withdraw"), 3),
    "expired": (("expire",), 2),
}
DONOR_ONLY_STAGES = frozenset({"announced", "offered", "withdrawn"})
# Why the demo's pledges close early (the ledger keeps the reason of every withdrawal and expiry).
CLOSING_REASONS = {"withdraw": "Stocks needed for national defence (demo)", "expire": "Offer lapsed before acceptance (demo)"}
# An aid package as the United States announced it (U.S. Department of Defense release "Additional Security
# Assistance for Ukraine", 19 January 2023: up to USD 2.5 bn): its vehicles with the numbers the release gives,
# and two lines of ammunition whose quantities the demo leaves undisclosed (None), as such announcements often do.
AID_PACKAGE_ANNOUNCED = dt.date(2023, 1, 19)
AID_PACKAGE_RATE_DATE = dt.date(2024, 12, 31)  # the demo's one dollar rate (fx_rates.csv)
AID_PACKAGE_SOURCE = "U.S. Department of Defense release, Additional Security Assistance for Ukraine, 19 January 2023"
AID_PACKAGE_LINES = (
    ("ARM-M2A2", 59),
    ("ARM-STRYKER", 90),
    ("ARM-MAXXPRO", 53),
    ("AD-AVENGER", 8),
    ("AMM-227-M31", None),
    ("AMM-155-M795", None),
)
STEP_BY = {
    "offer": "donor",
    "withdraw": "donor",
    "accept": "hq",
    "allocate": "hq",
    "expire": "hq",
}

# A package story, the same at every scale and drawing nothing from the random stream: new NASAMS fire units
# asked for at Kharkiv (priority 1) with AMRAAMs for them there (priority 3), while Kyiv asks for more AMRAAMs
# (priority 2) than are pledged, none of them taking a substitute. Both pledges are accepted after the first
# match run, so the run left to review decides them: a plain run sends every missile to Kyiv and leaves
# Kharkiv's launchers without one (the run flags it, with its reason); `umbrella match --complete-packages`
# sends Kharkiv one (docs/matching.md).
PACKAGE_STORY_REQUIREMENTS = (
    # item type, quantity, priority, days after BASE_DATE needed, destination
    ("AD-NASAMS", 2, 1, 120, "Kharkiv"),
    ("AD-AIM120C", 12, 3, 150, "Kharkiv"),
    ("AD-AIM120C", 40, 2, 120, "Kyiv"),
)
PACKAGE_STORY_PLEDGES = (("NOR", "AD-NASAMS", 2, 30), ("USA", "AD-AIM120C", 24, 30))  # donor, item, quantity, days

# Who pays, who supplies and where it is made (docs/funding.md; ../shared/reference/domain-facts.md, "Money"), the
# same at every scale and drawing nothing from the random stream (figures made up for the demo: SOURCES.md). A
# joint purchase of 155 mm rounds that Czechia organises and supplies and five allies pay for by share, for
# Zhytomyr's CAESARs, half of it handed over; a NATO-list (PURL) purchase of US-made PAC-3 MSE interceptors the
# Netherlands pays for and the United States supplies, for the Patriot launchers Germany gives Kyiv, allocated by
# the first match run: `umbrella scenario --donors USA --as supplier` loses it, `--as payer` keeps it; and
# German-made mine detectors Norway buys (`--donors DEU --as origin`). The requirements make the pledges matter
# to the first match run, each where the system its munition needs is (no incomplete package).
ROLE_STORY_REQUIREMENTS = (
    # item type, quantity, priority, days after BASE_DATE needed, destination (no substitutes)
    ("AMM-155-L15", 60_000, 1, 60, "UA-ZHYTOMYR"),
    ("AD-PATRIOT-LN", 2, 1, 120, "Kyiv"),
    ("AD-PAC3MSE", 20, 1, 120, "Kyiv"),
)
JOINT_PURCHASE_PAYERS = (("NLD", "0.3"), ("DNK", "0.2"), ("NOR", "0.2"), ("CAN", "0.15"), ("DEU", "0.15"))
ROLE_STORY_PLEDGES = (
    # reference, donor, item type, quantity, days after BASE_DATE available, instrument, supplier, origin, payers
    ("CZE-AMMO-2024-01", "CZE", "AMM-155-L15", 60_000, -90, "joint-purchase", "", "", JOINT_PURCHASE_PAYERS),
    ("DEU-PATRIOT-2025-01", "DEU", "AD-PATRIOT-LN", 2, 30, "in-kind", "", "USA", ()),
    ("NLD-PURL-2025-01", "NLD", "AD-PAC3MSE", 20, 30, "procurement", "USA", "USA", ()),
    ("NOR-DEMINING-2025-01", "NOR", "DEM-VALLON", 200, 60, "procurement", "", "DEU", ()),
)
ROLE_STORY_SOURCE = "Demo pledge after the joint purchases domain-facts.md names (Money); figures made up for the demo"
# The United States' part of the G7's ERA loans (December 2024; domain-facts.md, Money): a loan repaid from
# immobilised Russian assets, which no counting rule set counts towards the floor.
ERA_LOAN = {
    "reference": "USA-ERA-2024",
    "year": 2024,
    "amount": Decimal("20000000000"),
    "currency": "USD",
    "fx_date": dt.date(2024, 12, 31),
    "category": Category.OPERATIONS,
    "instrument": "loan",
    "channel": Channel.POOLED,
    "source_document": "G7 Extraordinary Revenue Acceleration (ERA) loans, December 2024 (transcribed; see demo/data/SOURCES.md)",
    "notes": "Repaid from the proceeds of immobilised Russian assets: a loan, not a grant, so not counted towards the floor.",
    "marking": Marking.PUBLIC,
}
FUNDING_YEARS = (2024, 2025, 2026)  # 2024's rows are drawn from a random stream of their own (see funding())
FUNDING_STEPS = {
    2024: (("commit", "disburse"),),
    2025: ((), ("commit",), ("commit", "disburse")),
    2026: ((), ("commit",)),
}

CURRENCY_OF = {"USA": "USD", "GBR": "GBP"}  # the rest of the demo's funding is in euros

Report = Callable[[str, int, int], None]


@dataclass
class Summary:
    organizations: int = 0
    users: int = 0
    places: int = 0
    item_types: int = 0
    compatibilities: int = 0
    aliases: int = 0
    requirements: int = 0
    pledges: int = 0
    aid_packages: int = 0
    sources: int = 0
    steps: int = 0
    consignments: int = 0
    serials: int = 0
    match_runs: int = 0
    funding: int = 0
    allocations: int = 0
    package_rules: int = 0
    courses: int = 0
    nominations: int = 0
    donors: list[str] = field(default_factory=list)


def is_loaded() -> bool:
    return Organization.objects.filter(code=HQ_CODE).exists()


def read_donors() -> list[dict[str, str]]:
    with open(DATA / "donors.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_aliases(actor: Actor) -> int:
    """The names the Kiel tracker's weapons list gives the demo catalog's systems (`umbrella catalog check-kiel`)."""
    by_code = {item.code: item for item in ItemType.objects.visible_to(actor)}
    with open(DATA / "item_aliases.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        catalog.create_alias(
            actor=actor, fields={"item_type": by_code[row["item_type"]], "name": row["name"], "scheme": row["scheme"]}
        )
    return len(rows)


def _quiet(stage: str, done: int, total: int) -> None:
    pass


class Loader:
    def __init__(self, *, scale: float, seed: int, report: Report | None) -> None:
        if scale <= 0:
            raise ValueError("scale must be above zero")
        self.scale = scale
        self.seed = seed
        self.random = random.Random(seed)
        self.report = report or _quiet
        self.summary = Summary()
        self.actors: dict[str, Actor] = {}
        self.after_allocation: dict[int, str] = {}  # pledge → the stage it reaches after the first match run
        self.accepted_later: list[int] = []
        self.joint_purchase: int | None = None  # the pledge half handed over after the first match run
        # Every demo account has the one password the demo prints: hashed once, not 45 times (Argon2, ~0.2 s each).
        self.password_hash = make_password(DEMO_PASSWORD)

    def actor(self, username: str) -> Actor:
        if username not in self.actors:
            user = get_user_model().objects.get(username=username)
            self.actors[username] = actor_for(user, request_id=f"demo-{username}")
        return self.actors[username]

    def run(self) -> Summary:
        with transaction.atomic():
            self.organizations()
        with transaction.atomic():
            self.catalog()
        with transaction.atomic():
            self.requirements()
        with transaction.atomic():
            self.pledges()
        with transaction.atomic():
            self.matching()
        with transaction.atomic():
            self.end_use()
        with transaction.atomic():
            self.funding()
        with transaction.atomic():
            self.courses()
        with transaction.atomic():
            self.statements()
        return self.summary

    def organizations(self) -> None:
        system = Actor.system("demo")
        hq = orgs.create_organization(
            actor=system, code=HQ_CODE, name="Coordination Headquarters", kind=OrganizationKind.COORDINATOR
        )
        admin = orgs.create_user(
            actor=system,
            username="hq-admin",
            password=DEMO_PASSWORD,
            password_hash=self.password_hash,
            full_name="Headquarters Administrator",
            staff=True,
        )
        orgs.set_membership(actor=system, user_id=admin.pk, organization_id=hq.pk, role=Role.ADMIN)
        boss = self.actor("hq-admin")
        orgs.create_organization(actor=boss, code=RECIPIENT_CODE, name="Ukraine", kind=OrganizationKind.RECIPIENT, iso3="UKR")
        orgs.create_organization(
            actor=boss, code=OBSERVER_CODE, name="Parliamentary Oversight Group", kind=OrganizationKind.OBSERVER
        )
        donors = read_donors()
        for index, donor in enumerate(donors, start=1):
            nation = orgs.create_organization(
                actor=boss, code=donor["iso3"], name=donor["name"], kind=OrganizationKind.DONOR, iso3=donor["iso3"]
            )
            orgs.record_gdp(
                actor=boss,
                organization_id=nation.pk,
                year=int(donor["gdp_year"]),
                amount_bn=Decimal(donor["gdp_usd_bn"]),
                currency="USD",
                source=GDP_SOURCE,
            )
            self._member(boss, liaison_username(donor["iso3"]), nation, Role.EDITOR, f"{donor['name']} liaison officer")
            self.summary.donors.append(donor["iso3"])
            self.report("organizations", index, len(donors))
        for persona in PERSONAS:
            if persona.username not in ("hq-admin",) and not get_user_model().objects.filter(username=persona.username).exists():
                organization = Organization.objects.get(code=persona.organization)
                self._member(boss, persona.username, organization, persona.role, persona.description)
        self.summary.organizations = Organization.objects.count()
        self.summary.users = get_user_model().objects.count()

    def _member(self, boss: Actor, username: str, organization: Organization, role: str, full_name: str) -> None:
        user = orgs.create_user(
            actor=boss, username=username, password=DEMO_PASSWORD, password_hash=self.password_hash, full_name=full_name
        )
        orgs.set_membership(actor=boss, user_id=user.pk, organization_id=organization.pk, role=role)

    def _import(self, kind: str, filename: str | Path, actor: Actor) -> int:
        path = DATA / filename
        table = read_table(path.read_bytes(), path.name, max_bytes=10_000_000)
        report = imports.run_import(
            imports.importer_for(kind),
            actor=actor,
            table=table,
            filename=path.name,
            dry_run=False,
            progress=lambda done, total: self.report(kind, done, total),
        )
        if not report.ok:
            raise RuntimeError(f"demo data {filename} does not import: {report.errors[:5]}")
        return report.rows

    def catalog(self) -> None:
        staff = self.actor("hq-staff")
        self.summary.places = self._import("places", GAZETTEER, staff)
        self.summary.item_types = self._import("item-types", "item_types.csv", staff)
        self.summary.compatibilities = self._import("compatibilities", "compatibilities.csv", staff)
        self.summary.aliases = load_aliases(staff)
        self.summary.package_rules = self._import("package-rules", "package_rules.csv", staff)
        self.training = Training(
            seed=self.seed,
            today=timezone.localdate(),
            staff=staff,
            recipient=self.actor("ukr-logistics"),
            donor_actor=lambda code: self.actor(liaison_username(code)),
        )
        self.item_types = list(ItemType.objects.select_related("capability_area").order_by("code"))
        self.by_area: dict[str, list[ItemType]] = {}
        for item_type in self.item_types:
            self.by_area.setdefault(item_type.capability_area.code, []).append(item_type)
        self.generate = Generator(self.random, self.by_area)
        self.places = place_index()

    def _at_place(self, fields: dict) -> dict:
        """The generator names destinations as people do; the gazetteer, read once, turns them into places."""
        return {**fields, "destination": self.places.resolve(fields["destination"])}

    def requirements(self) -> None:
        recipient, staff = self.actor("ukr-logistics"), self.actor("hq-staff")
        approved = needs.create_requirement_list(
            actor=recipient, fields={"series": "UA-2026", "title": "Priority requirements 2026–2027"}
        )
        count = round(REQUIREMENTS_PER_SCALE * self.scale)
        for index in range(1, count + 1):
            needs.create_requirement(
                actor=recipient, list_id=approved.pk, fields=self._at_place(self.generate.requirement(self.generate.item_type()))
            )
            self.report("requirements", index, count)
        self.training.add_requirements(approved.pk)  # four cities' packages (demo.training)
        self._package_story_requirements(recipient, approved.pk)
        self._story_requirements(recipient, approved.pk, ROLE_STORY_REQUIREMENTS)
        approved.refresh_from_db()
        needs.propose_requirement_list(actor=recipient, list_id=approved.pk, expected_version=approved.version)
        approved.refresh_from_db()
        needs.approve_requirement_list(actor=staff, list_id=approved.pk, expected_version=approved.version)
        draft = needs.create_requirement_list(
            actor=recipient,
            fields={"series": "UA-WINTER", "title": "Winterisation and energy (draft)", "marking": Marking.COORDINATION},
        )
        for _ in range(round(DRAFT_REQUIREMENTS_PER_SCALE * self.scale)):
            area = self.random.choice(["humanitarian", "medical", "other"])
            fields = self._at_place(self.generate.requirement(self.random.choice(self.by_area[area])))
            needs.create_requirement(actor=recipient, list_id=draft.pk, fields=fields)
        self.summary.requirements = (
            count
            + self.training.requirement_count
            + len(PACKAGE_STORY_REQUIREMENTS)
            + len(ROLE_STORY_REQUIREMENTS)
            + round(DRAFT_REQUIREMENTS_PER_SCALE * self.scale)
        )

    def _package_story_requirements(self, recipient: Actor, list_id: int) -> None:
        self._story_requirements(recipient, list_id, PACKAGE_STORY_REQUIREMENTS)

    def _story_requirements(self, recipient: Actor, list_id: int, rows) -> None:
        item = {t.code: t for t in self.item_types}
        for code, quantity, priority, days, destination in rows:
            fields = {
                "item_type": item[code],
                "quantity": quantity,
                "priority": priority,
                "needed_by": BASE_DATE + dt.timedelta(days=days),
                "destination": self.places.resolve(destination),
                "accept_substitutes": False,  # the missile these launchers fire, as its crews train on it
            }
            needs.create_requirement(actor=recipient, list_id=list_id, fields=fields)

    def _package_story_pledges(self) -> None:
        """Accepted after the first match run (see PACKAGE_STORY_REQUIREMENTS)."""
        item = {t.code: t for t in self.item_types}
        for number, (iso3, code, quantity, days) in enumerate(PACKAGE_STORY_PLEDGES, start=1):
            donor_actor = self.actor(liaison_username(iso3))
            reference = f"{iso3}-PKG-{number:02d}"
            source = {"kind": SourceKind.OFFICIAL, "date": BASE_DATE, "document_reference": f"{reference} (demo)"}
            fields = {
                "item_type": item[code],
                "quantity": quantity,
                "available_from": BASE_DATE + dt.timedelta(days=days),
                "marking": Marking.COORDINATION,
                "retransfer_requires_consent": True,
                "reference": reference,
            }
            pledge = pledges.create_pledge(actor=donor_actor, fields=fields, sources=[source])
            self._advance(pledge, ("offer",), donor_actor)
            self.accepted_later.append(pledge.pk)
        self.summary.pledges += len(PACKAGE_STORY_PLEDGES)
        self.summary.sources += len(PACKAGE_STORY_PLEDGES)  # one source each

    def _role_story_pledges(self) -> None:
        """Offered and accepted before the first match run (see ROLE_STORY_PLEDGES); the joint purchase is then
        half handed over (`matching`)."""
        item = {t.code: t for t in self.item_types}
        for reference, iso3, code, quantity, days, instrument, supplier, origin, payers in ROLE_STORY_PLEDGES:
            donor_actor = self.actor(liaison_username(iso3))
            source = {"kind": SourceKind.OFFICIAL, "date": BASE_DATE, "document_reference": f"{reference}: {ROLE_STORY_SOURCE}"}
            fields = {
                "item_type": item[code],
                "quantity": quantity,
                "available_from": BASE_DATE + dt.timedelta(days=days),
                "marking": Marking.PARTICIPANTS,
                "retransfer_requires_consent": True,
                "reference": reference,
                "instrument": instrument,
                "supplier": supplier,
                "origin": origin,
                "payers": list(payers),
            }
            pledge = pledges.create_pledge(actor=donor_actor, fields=fields, sources=[source])
            pledge = self._advance(pledge, ("offer", "accept"), donor_actor)
            if instrument == "joint-purchase":
                self.joint_purchase = pledge.pk
        self.summary.pledges += len(ROLE_STORY_PLEDGES)
        self.summary.sources += len(ROLE_STORY_PLEDGES)  # one source each

    def _donor_weights(self) -> tuple[list[dict[str, str]], list[float]]:
        donors = read_donors()
        return donors, [math.sqrt(float(d["gdp_usd_bn"])) for d in donors]

    def _sources(self, iso3: str, number: int) -> list[dict]:
        sources = []
        for extra in range(self.random.choice((1, 1, 1, 2))):
            kind = self.random.choice(list(SourceKind))
            date = BASE_DATE - dt.timedelta(days=self.random.randrange(0, 400))
            if kind == SourceKind.MEDIA or (kind == SourceKind.OFFICIAL and self.random.random() < 0.6):
                sources.append(
                    {
                        "kind": kind,
                        "date": date,
                        "url": f"https://{iso3.lower()}.announcements.invalid/{date.year}/{number:05d}-{extra}",
                    }
                )
            else:
                sources.append({"kind": kind, "date": date, "document_reference": f"{iso3}-{date.year}-{number:05d}/{extra + 1}"})
        return sources

    def pledges(self) -> None:
        donors, weights = self._donor_weights()
        count = round(PLEDGES_PER_SCALE * self.scale)
        stages = list(STAGES)
        stage_weights = [STAGES[s][1] for s in stages]
        markings = list(MARKING_WEIGHTS)
        moves = []  # (pledge, its steps, its liaison, accepted after the first run?, its stage after that run or None)
        # Created on the bulk path (as an import of pledges writes them: one ledger entry per record, inserted
        # together), then moved on one by one, each step an update of a row now in the table.
        with bulk.deferred_writes():
            for number in range(1, count + 1):
                donor = self.random.choices(donors, weights=weights)[0]
                donor_actor = self.actor(liaison_username(donor["iso3"]))
                offer = self.generate.offer()
                fields = {
                    "item_type": offer["item_type"],
                    "quantity": offer["quantity"],
                    "available_from": offer["available_from"],
                    "allowed_destinations": [self.places.resolve(name) for name in offer["allowed_destinations"]],
                    "marking": self.random.choices(markings, weights=[MARKING_WEIGHTS[m] for m in markings])[0],
                    "retransfer_requires_consent": self.random.random() < 0.9,
                    "end_use_restrictions": "Not for use outside the recipient's internationally recognised territory."
                    if self.random.random() < 0.2
                    else "",
                    "reference": f"{donor['iso3']}-P-{number:05d}",
                }
                sources = self._sources(donor["iso3"], number)
                pledge = pledges.create_pledge(actor=donor_actor, fields=fields, sources=sources)
                self.summary.sources += len(sources)
                stage = self.random.choices(stages, weights=stage_weights)[0]
                if fields["marking"] == Marking.OWNER and stage not in DONOR_ONLY_STAGES:
                    stage = "offered"  # no one but the donor sees it, so no one else can move it on
                steps, later, after = STAGES[stage][0], False, None
                if stage == "accepted" and self.random.random() < 0.4:
                    steps, later = ("offer",), True  # accepted after the first match run: news for the second one
                if "allocate" in steps:  # the match run approves allocations; what comes after waits for it
                    steps, after = steps[: steps.index("allocate")], stage
                moves.append((pledge, steps, donor_actor, later, after))
        for pledge, _steps, _donor_actor, later, after in moves:
            if later:
                self.accepted_later.append(pledge.pk)
            if after is not None:
                self.after_allocation[pledge.pk] = after
        self._advance_together([(pledge, steps, donor_actor) for pledge, steps, donor_actor, _later, _after in moves])
        self.training.add_pledges()
        self.summary.pledges = count + len(self.training.pledges)
        self.summary.sources += len(self.training.pledges)  # one source each
        self._package_story_pledges()
        self._role_story_pledges()

    def _advance_together(self, moves: list[tuple[Pledge, tuple[str, ...], Actor]]) -> None:
        """Each party takes each step for all its pledges at once (`pledges.advance_pledges`), as a coordinator
        accepts a morning's offers: every pledge's first step, then every second step."""
        versions = {pledge.pk: pledge.version for pledge, _steps, _donor in moves}
        total, done = sum(len(steps) for _pledge, steps, _donor in moves), 0
        for position in range(max((len(steps) for _pledge, steps, _donor in moves), default=0)):
            groups: dict[tuple[str, str], tuple[Actor, list[int]]] = {}
            for pledge, steps, donor_actor in moves:
                if position < len(steps):
                    step = steps[position]
                    party = self._party(step, donor_actor)
                    groups.setdefault((step, party.label()), (party, []))[1].append(pledge.pk)
            for (step, _label), (party, ids) in groups.items():
                chosen = {pk: versions[pk] for pk in ids}
                for pledge in pledges.advance_pledges(actor=party, versions=chosen, step=step, reason=CLOSING_REASONS.get(step)):
                    versions[pledge.pk] = pledge.version
                done += len(ids)
                self.summary.steps += len(ids)
                self.report("pledges", done, total)

    def _party(self, step: str, donor_actor: Actor) -> Actor:
        return {"hq": self.actor("hq-staff"), "recipient": self.actor("ukr-logistics"), "donor": donor_actor}[STEP_BY[step]]

    def _advance(self, pledge, steps, donor_actor: Actor):
        for step in steps:
            pledge = pledges.advance_pledge(
                actor=self._party(step, donor_actor),
                pledge_id=pledge.pk,
                step=step,
                expected_version=pledge.version,
                reason=CLOSING_REASONS.get(step),
            )
            self.summary.steps += 1
        return pledge

    def matching(self) -> None:
        """The first match run is approved and its pledges move on consignments; pledges accepted afterwards go
        into a second run, left proposed for coordination staff to review."""
        staff = self.actor("hq-staff")
        first = matching.run_match(actor=staff, progress=lambda stage: self.report("matching", 1, 4))
        matching.approve_proposals(actor=staff, run_id=first.pk, expected_version=first.version)
        self.report("matching", 2, 4)
        # The joint purchase, half handed over at Zhytomyr before the showcases' deliveries there (which take what is
        # still only allocated), on a random stream of its own.
        joint = Pledge.objects.visible_to(staff).select_related("owner", "item_type").get(pk=self.joint_purchase)
        story = Shipments(random.Random(self.seed), timezone.localdate(), reader=staff)
        story.hand_over_half(joint, Parties(recipient=self.actor("ukr-logistics"), donor=self.actor(liaison_username("CZE"))))
        self.training.deliver()
        shipments = Shipments(self.random, timezone.localdate(), reader=staff)
        moving = [pk for pk, stage in self.after_allocation.items() if stage in Shipments.STAGES]
        for pledge in Pledge.objects.filter(pk__in=moving, state="allocated").select_related("owner", "item_type").order_by("pk"):
            parties = Parties(recipient=self.actor("ukr-logistics"), donor=self.actor(liaison_username(pledge.owner.code)))
            shipments.move(pledge, self.after_allocation[pledge.pk], parties)
        self.summary.consignments = shipments.consignments + story.consignments
        accepted = Pledge.objects.filter(pk__in=self.accepted_later).visible_to(staff)
        pledges.advance_pledges(actor=staff, versions=dict(accepted.values_list("pk", "version")), step="accept")
        self.summary.steps += len(self.accepted_later)
        self.report("matching", 3, 4)
        matching.run_match(actor=staff, progress=lambda stage: None)
        self.report("matching", 4, 4)
        self.summary.match_runs = 2
        self.summary.allocations = Allocation.objects.count()

    def courses(self) -> None:
        """Course types, courses at real training sites, nominations and graduates (demo.training)."""
        self.training.run()
        self.summary.courses = self.training.courses
        self.summary.nominations = self.training.nominations

    def end_use(self) -> None:
        """The serials the handovers registered, inspected, some lost, moved and asked about (demo.end_use)."""
        self.summary.serials = EndUse(
            self.random,
            timezone.localdate(),
            scale=self.scale,
            inspector=self.actor("hq-auditor"),
            recipient=self.actor("ukr-logistics"),
            staff=self.actor("hq-staff"),
            donor_actor=lambda code: self.actor(liaison_username(code)),
        ).run()

    def funding(self) -> None:
        """Exchange rates, the 2025 and 2026 floors shared by the NATO allies, and each donor's funding of
        those years: a few portions in its categories and channels, adding up to somewhere between a fifth
        and one and a half times its share (partners, outside the floor, give less)."""
        staff = self.actor("hq-staff")
        self._import("fx-rates", "fx_rates.csv", staff)
        donors = read_donors()
        allies = [d for d in donors if d["nato_member"] == "yes"]
        allied_gdp = sum(float(d["gdp_usd_bn"]) for d in allies)
        for year in FUNDING_YEARS:
            funding.configure_year(
                actor=staff,
                fields={
                    "year": year,
                    "participants": [d["iso3"] for d in allies],
                    "notes": "The NATO allies' baseline of at least EUR 40 bn a year of military support, shared by GDP.",
                },
            )
        self._announced_aid_package()
        earlier = random.Random(self.seed + 2024)  # 2024 draws from a stream of its own: 2025 and 2026 draw as before it
        for donor in donors:
            liaison = self.actor(liaison_username(donor["iso3"]))
            share = 40e9 * float(donor["gdp_usd_bn"]) / allied_gdp * (1 if donor["nato_member"] == "yes" else 0.3)
            currency = CURRENCY_OF.get(donor["iso3"], "EUR")
            for year in FUNDING_YEARS:
                rng = earlier if year == 2024 else self.random
                self._donor_year(liaison, donor["iso3"], year, share * rng.uniform(0.2, 1.5), currency, rng)
        self._era_loan()

    def _era_loan(self) -> None:
        """The United States' ERA loan (ERA_LOAN), disbursed: the default rule set leaves it uncounted."""
        liaison = self.actor(liaison_username("USA"))
        record = funding.create_funding(actor=liaison, fields=ERA_LOAN)
        for step in ("commit", "disburse"):
            record = funding.advance_funding(actor=liaison, funding_id=record.pk, step=step, expected_version=record.version)
        self.summary.funding += 1

    def _announced_aid_package(self) -> None:
        """The United States' aid package of 19 January 2023 as announced: up to USD 2.5 bn, the vehicles counted
        and the ammunition not (AID_PACKAGE_LINES), valued at the demo's one dollar rate. Its two lines of
        undisclosed quantity share what the announcement leaves after the counted ones."""
        liaison = self.actor(liaison_username("USA"))
        source = {"kind": SourceKind.OFFICIAL, "date": AID_PACKAGE_ANNOUNCED, "document_reference": AID_PACKAGE_SOURCE}
        package = pledges.create_aid_package(
            actor=liaison,
            fields={
                "reference": "USA-2023-01-19",
                "announced_on": AID_PACKAGE_ANNOUNCED,
                "announced_amount": Decimal("2500000000"),
                "currency": "USD",
                "fx_date": AID_PACKAGE_RATE_DATE,
                "marking": Marking.PUBLIC,
                "notes": "Presidential drawdown; ammunition quantities not disclosed in the announcement.",
            },
            sources=[source],
        )
        item = {t.code: t for t in self.item_types}
        lines = []
        for code, quantity in AID_PACKAGE_LINES:
            fields = {
                "item_type": item[code],
                "quantity": quantity,
                "available_from": AID_PACKAGE_ANNOUNCED,
                "marking": Marking.PUBLIC,
                "aid_package": package,
                "reference": f"USA-2023-01-19-{code}",
            }
            lines.append(pledges.create_pledge(actor=liaison, fields=fields, sources=[source]))
        offered = Pledge.objects.filter(pk__in=[line.pk for line in lines]).visible_to(liaison)
        pledges.advance_pledges(actor=liaison, versions=dict(offered.values_list("pk", "version")), step="offer")
        self.summary.pledges += len(lines)
        self.summary.sources += len(lines)  # one source each
        self.summary.aid_packages += 1

    def _donor_year(self, liaison: Actor, iso3: str, year: int, eur: float, currency: str, rng: random.Random) -> None:
        categories, weights = list(Category), (30, 25, 12, 10, 8, 10, 5)
        portions = rng.randint(1, 4)
        fx_date = max(dt.date(year, 1, 15), AID_PACKAGE_RATE_DATE)  # the demo's one rate per currency is of 2024
        rate = float(rates.rate_on(currency, fx_date))
        for number in range(1, portions + 1):
            amount = Decimal(str(round(eur / portions * rate * rng.uniform(0.6, 1.4), -3) or 1000))
            record = funding.create_funding(
                actor=liaison,
                fields={
                    "reference": f"{iso3}-{year}-{number:02d}",
                    "year": year,
                    "amount": amount,
                    "currency": currency,
                    "fx_date": fx_date,
                    "category": rng.choices(categories, weights=weights)[0],
                    "channel": rng.choices(list(Channel), weights=(70, 20, 10))[0],
                    "source_document": f"{iso3}-MOD-{year}-{number:03d}",
                    "marking": rng.choices([Marking.COORDINATION, Marking.PUBLIC, Marking.PARTICIPANTS], weights=(50, 35, 15))[0],
                },
            )
            steps = FUNDING_STEPS[year]
            for step in rng.choices(steps, weights=(1, 2, 3)[: len(steps)])[0]:
                record = funding.advance_funding(actor=liaison, funding_id=record.pk, step=step, expected_version=record.version)
            self.summary.funding += 1

    def statements(self) -> None:
        """Coordination staff publish the fair-share statements of 2025 (the year closed) and of 2026 (mid-year), so
        that whoever may not see every record reads whole figures on the Fair share page and the dashboards."""
        staff = self.actor("hq-staff")
        funding.publish_statement(actor=staff, year=2025, reason="The year 2025 as closed, for the allies' annual review.")
        funding.publish_statement(actor=staff, year=2026, reason="Mid-year figures for the defence ministers' meeting.")


def load(*, scale: float = 1.0, seed: int = 2026, report: Report | None = None) -> Summary:
    return Loader(scale=scale, seed=seed, report=report).run()
