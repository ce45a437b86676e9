"""The demo's sign-ins: one per persona of DESIGN.md, plus a liaison officer for every donor nation."""

from __future__ import annotations

from dataclasses import dataclass

from umbrella.core.access import Role

DEMO_PASSWORD = "umbrella-demo"
HQ_CODE = "HQ"
RECIPIENT_CODE = "UKR"
OBSERVER_CODE = "OBS"


@dataclass(frozen=True)
class Persona:
    username: str
    organization: str
    role: str
    description: str


PERSONAS = (
    Persona("hq-admin", HQ_CODE, Role.ADMIN, "headquarters administrator: organizations and members"),
    Persona("hq-staff", HQ_CODE, Role.APPROVER, "coordination staff: approve lists, accept pledges, run and approve matches"),
    Persona("hq-auditor", HQ_CODE, Role.VIEWER, "inspector: reads everything released to the headquarters"),
    Persona("ukr-logistics", RECIPIENT_CODE, Role.EDITOR, "recipient logistics officer: requirements, deliveries"),
    Persona("deu-liaison", "DEU", Role.EDITOR, "donor liaison officer (Germany): pledges"),
    Persona("deu-viewer", "DEU", Role.VIEWER, "donor viewer (Germany): reads Germany's data"),
    Persona("pol-liaison", "POL", Role.EDITOR, "second donor (Poland): pledges"),
    Persona("obs-analyst", OBSERVER_CODE, Role.VIEWER, "observer: sees what is shared with all participants"),
)


def liaison_username(iso3: str) -> str:
    return f"{iso3.lower()}-liaison"
