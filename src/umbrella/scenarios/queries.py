"""The saved scenarios list that the page, the API and the export share."""

from decimal import Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from umbrella.core.access import Actor
from umbrella.core.listing import Column, Listing
from umbrella.core.numbers import format_eur
from umbrella.scenarios.models import WithdrawalScenario


def scenarios(actor: Actor) -> QuerySet[WithdrawalScenario]:
    return WithdrawalScenario.objects.visible_to(actor)


def lost_total(scenario: WithdrawalScenario) -> Decimal:
    return sum((Decimal(year["total_eur"]) for year in scenario.results["lost_by_year"].values()), Decimal(0))


SCENARIOS = Listing(
    columns=(
        Column(gettext_lazy("Scenario"), lambda o: o.name, sort="name", link=True),
        Column(gettext_lazy("Donors who stop"), lambda o: ", ".join(o.donors)),
        Column(gettext_lazy("They stop"), lambda o: o.get_role_display()),
        Column(gettext_lazy("From"), lambda o: o.as_of, sort="as_of"),
        Column(gettext_lazy("Requirements losing coverage"), lambda o: len(o.results["uncovered"]), numeric=True),
        Column(gettext_lazy("Money lost (EUR)"), lambda o: format_eur(lost_total(o)), numeric=True),
        Column(gettext_lazy("Created"), lambda o: o.created_at, sort="created_at"),
    ),
    search=("name",),
    default_sort="-created_at",
)
