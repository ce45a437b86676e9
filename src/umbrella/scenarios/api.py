"""Withdrawal scenarios over HTTP: saved ones to read, a preview that writes nothing, and saving one."""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict

from umbrella.core.access import get_visible
from umbrella.core.api import Pagination, created
from umbrella.scenarios import services
from umbrella.scenarios.analysis import in_reader_language
from umbrella.scenarios.models import WithdrawalScenario
from umbrella.scenarios.queries import lost_total, scenarios

router = Router()


class ScenarioOut(Schema):
    id: int
    name: str
    donors: list[str]
    as_of: dt.date
    role: str = Field(description="The role in which the donors stop: payer, supplier, origin or all")
    requirement_list: int = Field(alias="requirement_list_id")
    requirements_losing_coverage: int
    money_lost_eur: Decimal
    created_at: dt.datetime

    @staticmethod
    def resolve_requirements_losing_coverage(obj) -> int:
        return len(obj.results["uncovered"])

    @staticmethod
    def resolve_money_lost_eur(obj) -> Decimal:
        return lost_total(obj)


class ScenarioDetailOut(ScenarioOut):
    results: dict[str, Any] = Field(
        description="The pledges lost (and why), item types no one else supplies, uncovered requirements with "
        "reasons naming the lost pledges, coverage by area and priority, money lost and top-ups by year, as computed "
        "when the scenario was saved; the sentences (why_text, reason_text) are said in the request's language"
    )

    @staticmethod
    def resolve_results(obj) -> dict[str, Any]:
        return in_reader_language(obj.results)


class ScenarioQuestion(Schema):
    model_config = ConfigDict(extra="forbid")
    donors: list[str] = Field(min_length=1, max_length=100, description="Codes of the donors who stop")
    as_of: dt.date = Field(description="The day they stop: pledges not delivered and funding not disbursed are lost")
    role: Literal["payer", "supplier", "origin", "all"] = Field(
        "payer",
        description="The role in which they stop: payer (the pledges they pay any share of, and their funding), "
        "supplier (the pledges they deliver), origin (the pledges made in their country) or all of them",
    )


class ScenarioIn(ScenarioQuestion):
    name: str = Field(min_length=1, max_length=120)


@router.get("/scenarios", response=list[ScenarioOut], summary="Saved withdrawal scenarios, newest first")
@paginate(Pagination, page_size=50)
def list_scenarios(request):
    return scenarios(request.actor).order_by("-id")


@router.post(
    "/scenarios/preview", response=dict[str, Any], summary="Work out a scenario without saving anything (coordination editors)"
)
def preview_scenario(request, data: ScenarioQuestion):
    return services.preview_scenario(actor=request.actor, donors=data.donors, as_of=data.as_of, role=data.role)


@router.get("/scenarios/{scenario_id}", response=ScenarioDetailOut, summary="One saved scenario with its results")
def get_scenario(request, scenario_id: int):
    return get_visible(WithdrawalScenario.objects.all(), request.actor, pk=scenario_id)


@router.post("/scenarios", response={201: ScenarioDetailOut}, summary="Work out a scenario and save it (coordination editors)")
def create_scenario(request, data: ScenarioIn):
    scenario = services.save_scenario(actor=request.actor, name=data.name, donors=data.donors, as_of=data.as_of, role=data.role)
    return created(ScenarioDetailOut, scenario, f"/api/v1/scenarios/{scenario.pk}")
