import datetime as dt
from typing import Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict

from umbrella.catalog.api import MarkingChange
from umbrella.catalog.queries import visible_item_type
from umbrella.core.access import get_visible
from umbrella.core.api import Pagination, created, expected_version, idempotent, scope_of, with_etag
from umbrella.core.listing import filtered, params_of, sort_type
from umbrella.needs import services
from umbrella.needs.models import ListState, Requirement, RequirementList
from umbrella.needs.queries import LISTS, REQUIREMENTS, requirement_lists, requirements_on

router = Router()


class RequirementListOut(Schema):
    id: int
    series: str
    revision: int
    title: str
    state: str
    notes: str
    owner: str
    marking: str
    version: int
    approved_at: dt.datetime | None

    @staticmethod
    def resolve_owner(obj) -> str:
        return obj.owner.code


class RequirementListCreate(Schema):
    model_config = ConfigDict(extra="forbid")
    series: str = Field(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    title: str = Field(max_length=200)
    notes: str = ""


class RequirementListChange(Schema):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, max_length=200)
    notes: str | None = None


class RequirementOut(Schema):
    id: int
    requirement_list: int
    item_type: str
    quantity: int
    priority: int
    needed_by: dt.date
    destination: str = Field(description="The destination's place code (see /places)")
    destination_name: str = Field(description="The destination's name in English")
    accept_substitutes: bool
    notes: str
    marking: str
    version: int
    carried_from: int | None = Field(
        None, alias="carried_from_id", description="The row of the earlier revision this one was copied from"
    )

    @staticmethod
    def resolve_requirement_list(obj) -> int:
        return obj.requirement_list_id

    @staticmethod
    def resolve_item_type(obj) -> str:
        return obj.item_type.code

    @staticmethod
    def resolve_destination(obj) -> str:
        return obj.destination.code

    @staticmethod
    def resolve_destination_name(obj) -> str:
        return obj.destination.name_en


class RequirementChange(Schema):
    model_config = ConfigDict(extra="forbid")
    item_type: str | None = Field(None, description="Item type code")
    quantity: int | None = Field(None, ge=1, le=2_000_000_000)
    priority: int | None = Field(None, ge=1, le=5)
    needed_by: dt.date | None = None
    destination: str | None = Field(None, min_length=1, max_length=120, description="A place's code, name or alias")
    accept_substitutes: bool | None = None
    notes: str | None = None


class RequirementCreate(RequirementChange):
    item_type: str = Field(description="Item type code")
    quantity: int = Field(ge=1, le=2_000_000_000)
    priority: int = Field(ge=1, le=5)
    needed_by: dt.date
    destination: str = Field(min_length=1, max_length=120, description="A place's code, name or alias")


class ListFilters(Schema):
    q: str | None = None
    state: ListState | None = None
    sort: sort_type(LISTS) | None = Field(None, description="Prefix - to reverse")


class RequirementFilters(Schema):
    q: str | None = None
    priority: int | None = Field(None, ge=1, le=5)
    area: str | None = Field(None, description="Capability area code; an unknown one is a 422")
    overdue: bool | None = Field(
        None, description="True: requirements past their needed-by date and not fully covered; False: the others"
    )
    sort: sort_type(REQUIREMENTS) | None = Field(None, description="Prefix - to reverse")


def _requirement_fields(actor, data: Schema) -> dict:
    values = data.model_dump(exclude_unset=True)
    if "item_type" in values:
        values["item_type"] = visible_item_type(actor, values["item_type"], "item_type")
    if "notes" in values and values["notes"] is None:
        values["notes"] = ""
    return values


def _list(actor, list_id: int) -> RequirementList:
    return get_visible(RequirementList.objects.select_related("owner"), actor, pk=list_id)


@router.get("/requirement-lists", response=list[RequirementListOut], summary="List requirement lists")
@paginate(Pagination, page_size=50)
def list_requirement_lists(request, filters: Query[ListFilters]):
    return filtered(LISTS, requirement_lists(request.actor), params_of(filters), request.actor)


@router.post("/requirement-lists", response={201: RequirementListOut}, summary="Start a requirement list (the recipient)")
def create_requirement_list(request, data: RequirementListCreate):
    def create():
        lst = services.create_requirement_list(actor=request.actor, fields=data.model_dump())
        return created(RequirementListOut, lst, f"/api/v1/requirement-lists/{lst.pk}")

    return idempotent(request, scope_of(request.actor), create)


@router.get("/requirement-lists/{list_id}", response=RequirementListOut, summary="One requirement list, with its ETag")
def get_requirement_list(request, list_id: int, response: HttpResponse):
    lst = _list(request.actor, list_id)
    with_etag(response, lst.version)
    return lst


@router.patch("/requirement-lists/{list_id}", response=RequirementListOut, summary="Change a draft list (If-Match required)")
def update_requirement_list(request, list_id: int, data: RequirementListChange, response: HttpResponse):
    _list(request.actor, list_id)
    changes = {k: ("" if v is None else v) for k, v in data.model_dump(exclude_unset=True).items()}
    lst = services.update_requirement_list(
        actor=request.actor, list_id=list_id, expected_version=expected_version(request), changes=changes
    )
    with_etag(response, lst.version)
    return lst


@router.put("/requirement-lists/{list_id}/marking", response=RequirementListOut, summary="Change who may see a draft list")
def mark_requirement_list(request, list_id: int, data: MarkingChange, response: HttpResponse):
    _list(request.actor, list_id)
    lst = services.update_requirement_list(
        actor=request.actor, list_id=list_id, expected_version=expected_version(request), changes={"marking": data.marking}
    )
    with_etag(response, lst.version)
    return lst


STEPS = {
    "propose": services.propose_requirement_list,
    "approve": services.approve_requirement_list,
    "return": services.return_requirement_list,
}


@router.post(
    "/requirement-lists/{list_id}/steps/{step}",
    response=RequirementListOut,
    summary="propose (recipient), approve or return (coordination approvers); If-Match required",
)
def step_requirement_list(request, list_id: int, step: Literal["propose", "approve", "return"], response: HttpResponse):
    _list(request.actor, list_id)
    lst = STEPS[step](actor=request.actor, list_id=list_id, expected_version=expected_version(request))
    with_etag(response, lst.version)
    return lst


@router.post(
    "/requirement-lists/{list_id}/revisions",
    response={201: RequirementListOut},
    summary="Start a new draft revision of an approved list",
)
def new_revision(request, list_id: int):
    _list(request.actor, list_id)

    def create():
        draft = services.start_new_revision(actor=request.actor, list_id=list_id)
        return created(RequirementListOut, draft, f"/api/v1/requirement-lists/{draft.pk}")

    return idempotent(request, scope_of(request.actor), create)


@router.delete("/requirement-lists/{list_id}", response={204: None}, summary="Delete a draft list (If-Match required)")
def delete_requirement_list(request, list_id: int):
    _list(request.actor, list_id)
    services.delete_requirement_list(actor=request.actor, list_id=list_id, expected_version=expected_version(request))
    return Status(204, None)


@router.get("/requirement-lists/{list_id}/requirements", response=list[RequirementOut], summary="Requirements on a list")
@paginate(Pagination, page_size=100)
def list_requirements(request, list_id: int, filters: Query[RequirementFilters]):
    lst = _list(request.actor, list_id)
    return filtered(REQUIREMENTS, requirements_on(request.actor, lst), params_of(filters), request.actor)


@router.post(
    "/requirement-lists/{list_id}/requirements", response={201: RequirementOut}, summary="Add a requirement to a draft list"
)
def create_requirement(request, list_id: int, data: RequirementCreate):
    _list(request.actor, list_id)

    def create():
        requirement = services.create_requirement(
            actor=request.actor, list_id=list_id, fields=_requirement_fields(request.actor, data)
        )
        return created(RequirementOut, requirement, f"/api/v1/requirements/{requirement.pk}")

    return idempotent(request, scope_of(request.actor), create)


def _requirement(actor, requirement_id: int) -> Requirement:
    return get_visible(Requirement.objects.select_related("item_type", "destination"), actor, pk=requirement_id)


@router.get("/requirements/{requirement_id}", response=RequirementOut, summary="One requirement, with its ETag")
def get_requirement(request, requirement_id: int, response: HttpResponse):
    requirement = _requirement(request.actor, requirement_id)
    with_etag(response, requirement.version)
    return requirement


@router.patch(
    "/requirements/{requirement_id}", response=RequirementOut, summary="Change a requirement on a draft list (If-Match required)"
)
def update_requirement(request, requirement_id: int, data: RequirementChange, response: HttpResponse):
    _requirement(request.actor, requirement_id)
    requirement = services.update_requirement(
        actor=request.actor,
        requirement_id=requirement_id,
        expected_version=expected_version(request),
        changes=_requirement_fields(request.actor, data),
    )
    with_etag(response, requirement.version)
    return requirement


@router.delete("/requirements/{requirement_id}", response={204: None}, summary="Delete a requirement from a draft list")
def delete_requirement(request, requirement_id: int):
    _requirement(request.actor, requirement_id)
    services.delete_requirement(actor=request.actor, requirement_id=requirement_id, expected_version=expected_version(request))
    return Status(204, None)
