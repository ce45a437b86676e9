"""Reads of training that pages, API, commands and readiness share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count

from umbrella.core.access import Actor
from umbrella.training.models import CourseState, Nomination, NominationState


@dataclass(frozen=True)
class CrewSupply:
    """People of one unit who hold, or are on course for, the qualification of one system from a day on: graduates
    from their graduation day, trainees still on a course from the day it ends."""

    unit_id: int
    system_id: int
    on: dt.date
    people: int
    graduated: bool


def crew_supply(actor: Actor) -> list[CrewSupply]:
    """Every qualified or qualifying person `actor` may see, grouped by unit, system and day."""
    nominations = Nomination.objects.visible_to(actor).filter(course__course_type__system__isnull=False)
    graduates = (
        nominations.filter(state=NominationState.GRADUATED)
        .values_list("unit_id", "course__course_type__system_id", "graduated_on")
        .annotate(people=Count("id"))
    )
    on_course = (
        nominations.filter(state__in=(NominationState.NOMINATED, NominationState.ATTENDING))
        .exclude(course__state=CourseState.CANCELLED)
        .values_list("unit_id", "course__course_type__system_id", "course__ends_on")
        .annotate(people=Count("id"))
    )
    return sorted(
        [CrewSupply(unit, system, on, people, True) for unit, system, on, people in graduates]
        + [CrewSupply(unit, system, on, people, False) for unit, system, on, people in on_course],
        key=lambda supply: (supply.unit_id, supply.system_id, supply.on, not supply.graduated),
    )
