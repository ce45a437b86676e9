from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from umbrella.core.access import OrganizationKind
from umbrella.core.api import Pagination
from umbrella.core.errors import NotFound
from umbrella.orgs.models import Organization

router = Router()


class OrganizationOut(Schema):
    code: str
    name: str
    kind: str
    iso3: str


class OrganizationFilters(Schema):
    kind: OrganizationKind | None = Field(None, description="donor, recipient, coordinator or observer")
    q: str | None = Field(None, description="Search in code and name")


@router.get("", response=list[OrganizationOut], summary="List organizations (a public directory)")
@paginate(Pagination, page_size=100)
def list_organizations(request, filters: Query[OrganizationFilters]):
    organizations = Organization.objects.order_by("name")
    if filters.kind:
        organizations = organizations.filter(kind=filters.kind)
    if filters.q:
        organizations = organizations.filter(name__icontains=filters.q) | organizations.filter(code__icontains=filters.q)
    return organizations


@router.get("/{code}", response=OrganizationOut, summary="One organization")
def get_organization(request, code: str):
    organization = Organization.objects.filter(code=code).first()
    if organization is None:
        raise NotFound(_("No such organization."))
    return organization
