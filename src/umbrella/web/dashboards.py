"""What each person sees first: a dashboard for coordination staff, for a donor, for the recipient, and the
public figures for everyone else. Every figure is read through `visible_to`, so each shows only what its
reader may see; each query runs once per dashboard, whatever the number of rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from umbrella.core.access import Actor, OrganizationKind, Role
from umbrella.core.errors import DomainError, Invalid
from umbrella.core.ledger import recent_changes
from umbrella.core.numbers import format_eur_short, number, percent
from umbrella.eum import queries as eum_queries
from umbrella.funding.queries import fair_share, statements_of
from umbrella.logistics.models import ConsignmentState
from umbrella.logistics.queries import coming, coming_rows, consignments, flow_by_priority, late
from umbrella.matching.models import Allocation, AllocationState, MatchRun, RunState
from umbrella.matching.queries import decided_coverage
from umbrella.needs import queries as needs_queries
from umbrella.needs.models import ListState, Requirement, RequirementList
from umbrella.pledges import queries as pledge_queries
from umbrella.pledges.models import Pledge, PledgeState
from umbrella.ui.charts import Bar, bar_chart
from umbrella.ui.pages import change_rows

TOP = 10
DONORS_CHARTED = 15
LIVE_STATES = (
    PledgeState.ANNOUNCED,
    PledgeState.OFFERED,
    PledgeState.ACCEPTED,
    PledgeState.ALLOCATED,
    PledgeState.SHIPPED,
    PledgeState.PARTLY_DELIVERED,
    PledgeState.DELIVERED,
    PledgeState.HANDED_OVER,
)
ALLOCATED_OR_LATER = (
    PledgeState.ALLOCATED,
    PledgeState.SHIPPED,
    PledgeState.PARTLY_DELIVERED,
    PledgeState.DELIVERED,
    PledgeState.HANDED_OVER,
)
DELIVERED = (PledgeState.PARTLY_DELIVERED, PledgeState.DELIVERED, PledgeState.HANDED_OVER)
COMING = (PledgeState.ALLOCATED, PledgeState.SHIPPED, PledgeState.PARTLY_DELIVERED)
# What arrived of a pledge is worth its share of the pledge's value: a pledge closed short at 6 of 14 delivered 6/14.
DELIVERED_VALUE = ExpressionWrapper(F("value_eur") * F("quantity_delivered") / F("quantity"), output_field=DecimalField())


def _coverage(actor: Actor) -> dict | None:
    """What the approved allocations cover; a run awaiting review is drawn only as the tick it would move to."""
    coverage = decided_coverage(actor, unmet_limit=TOP)
    if not any(cell.total for cell in coverage.by_priority.values()):
        return None  # no approved requirement yet
    for gap in coverage.unmet:  # each is short of its quantity: past its date, it is overdue
        gap["overdue"] = gap["needed_by"] < timezone.localdate()
    proposed = coverage.proposed_run
    if proposed is None:
        chart = bar_chart(
            _("Coverage by approved allocations, by priority (%)"),
            [Bar(f"P{p}", cell.percent, percent(cell.percent)) for p, cell in coverage.by_priority.items()],
        )
    else:
        chart = bar_chart(
            _("Coverage by approved allocations, by priority (%%) (bar); if run %(number)s were approved (tick)")
            % {"number": proposed.pk},
            [
                Bar(
                    f"P{p}",
                    cell.percent,
                    percent(cell.percent),
                    marker=cell.percent_with_run,
                    marker_text=_("if run %(number)s were approved: %(percent)s")
                    % {"number": proposed.pk, "percent": percent(cell.percent_with_run)},
                )
                for p, cell in coverage.by_priority.items()
            ],
        )
    flow = flow_by_priority(actor)
    for priority, cell in coverage.by_priority.items():
        cell.flow = flow.get(priority)
    return {"coverage": coverage, "proposed": proposed, "chart": chart}


def _by_donor(actor: Actor) -> dict:
    rows = (
        Pledge.objects.visible_to(actor)
        .filter(state__in=LIVE_STATES)
        .values("owner__code", "owner__name")
        .annotate(
            pledged=Sum("value_eur"),
            allocated=Sum("value_eur", filter=Q(state__in=ALLOCATED_OR_LATER)),
            delivered=Sum(DELIVERED_VALUE, filter=Q(state__in=DELIVERED)),
        )
        .order_by("-pledged")
    )
    rows = [{**row, "allocated": row["allocated"] or Decimal(0), "delivered": row["delivered"] or Decimal(0)} for row in rows]
    chart = bar_chart(
        _("Pledged value (bar) and delivered value (tick), largest %(n)d donors") % {"n": DONORS_CHARTED},
        [
            Bar(
                r["owner__name"],
                float(r["pledged"]),
                format_eur_short(r["pledged"]),
                marker=float(r["delivered"]),
                marker_text=_("delivered %(value)s") % {"value": format_eur_short(r["delivered"])},
            )
            for r in rows[:DONORS_CHARTED]
        ],
    )
    complete = not Pledge.objects.hidden_from(actor).filter(state__in=LIVE_STATES).exists()
    return {"rows": rows, "chart": chart, "complete": complete}


def _fair_share(actor: Actor, donor: str | None = None) -> dict | None:
    """This year's shares: live only to a reader who sees every record behind them (a donor's own share: every
    record behind it); to anyone else the latest published statement, or a plain word that there is none."""
    year = dt.date.today().year
    try:
        report, problems = fair_share(actor, year, donor=donor), []
    except Invalid as error:  # the year cannot be reported: say what it lacks, as `umbrella fair-share` does
        report, problems = None, [message for messages_ in error.field_errors.values() for message in messages_]
    except DomainError as error:
        report, problems = None, [error.message]
    if report is not None and report.complete:
        if not report.shares:
            return None
        largest_first = sorted(report.shares, key=lambda s: -s.gap_eur)[:TOP]
        return {
            "year": year,
            "live": True,
            "rows": [{"name": s.name, "gap_eur": s.gap_eur, "percent": s.percent} for s in largest_first],
        }
    statement = statements_of(actor, year).first()
    if statement is None:
        return {"year": year, "live": False, "statement": None, "problems": problems}
    published = [d for d in statement.donors if donor is None or d["code"] == donor]
    if not published:
        return None
    largest_first = sorted(published, key=lambda d: -Decimal(d["gap_eur"] or 0))[:TOP]
    return {
        "year": year,
        "live": False,
        "statement": statement,
        "rows": [
            {"name": d["name"], "gap_eur": Decimal(d["gap_eur"]), "percent": Decimal(str(d["percent"]))} for d in largest_first
        ],
    }


def _open_requirements(actor: Actor) -> list[dict]:
    """Approved requirements not yet fully allocated, most urgent first, with what is still missing: the first few,
    chosen by the database (a donor sees thousands of requirements, most of them covered)."""
    requirements = (
        needs_queries.with_coverage(Requirement.objects.visible_to(actor).filter(requirement_list__state=ListState.APPROVED))
        .filter(Q(covered__isnull=True) | Q(covered__lt=F("quantity")))
        .select_related("item_type", "destination")
        .order_by("priority", "needed_by", "id")[:TOP]
    )
    return [
        {
            "requirement": requirement,
            "missing": requirement.quantity - (requirement.covered or 0),
            "overdue": needs_queries.is_overdue(requirement),
        }
        for requirement in requirements
    ]


def _coming(actor: Actor) -> dict:
    allocations = Allocation.objects.visible_to(actor).filter(state=AllocationState.ACTIVE, pledge__state__in=COMING)
    by_month = list(
        allocations.annotate(month=TruncMonth("pledge__available_from")).values("month").annotate(n=Count("id")).order_by("month")
    )
    upcoming = [
        (allocation, allocation.pledge.is_overdue(timezone.localdate()))
        for allocation in allocations.select_related("pledge__owner", "pledge__item_type", "requirement__destination").order_by(
            "pledge__available_from", "id"
        )[:TOP]
    ]
    chart = bar_chart(
        _("Allocated consignments by month they are available"),
        [Bar(row["month"].strftime("%Y-%m"), row["n"], number(row["n"])) for row in by_month[:18]],
    )
    return {"upcoming": upcoming, "chart": chart, "total": sum(row["n"] for row in by_month)}


def _consignments_coming(actor: Actor) -> dict:
    """Consignments not yet arrived, late ones first: the first few, and how many there are and are late."""
    on_the_way = coming(actor)
    return {
        "rows": coming_rows(on_the_way[:TOP]),
        "total": on_the_way.count(),
        "late": on_the_way.filter(late(actor)).count(),
    }


@dataclass(frozen=True)
class QueueItem:
    """What waits for the reader: how many records, and the list showing exactly those."""

    label: str
    count: int
    url: str
    overdue: bool = False


def _list_url(name: str, **params: str) -> str:
    return f"{reverse(name)}?{urlencode(params)}"


def _by_state(queryset, states: list[str]) -> dict[str, int]:
    # distinct: a queryset annotated over a relation (a consignment's legs) has a row per related record
    counts = dict(
        queryset.filter(state__in=states)
        .order_by()
        .values("state")
        .annotate(n=Count("pk", distinct=True))
        .values_list("state", "n")
    )
    return {state: counts.get(state, 0) for state in states}


def _overdue_requirements(actor: Actor, owned: bool = False) -> list[QueueItem]:
    """Requirements past their needed-by date and not fully covered, per approved list, linked to the list filtered so."""
    requirements = Requirement.objects.visible_to(actor).filter(
        needs_queries.overdue(actor), requirement_list__state=ListState.APPROVED
    )
    if owned:
        requirements = requirements.filter(requirement_list__owner=actor.organization)
    per_list = (
        requirements.values("requirement_list", "requirement_list__title").annotate(n=Count("pk")).order_by("requirement_list")
    )
    return [
        QueueItem(
            _("Requirements past their needed-by date, not fully covered (%(list)s)") % {"list": row["requirement_list__title"]},
            row["n"],
            f"{reverse('requirement-list', args=[row['requirement_list']])}?overdue=True",
            overdue=True,
        )
        for row in per_list
    ]


def _coordination_queue(actor: Actor) -> list[QueueItem]:
    queue: list[QueueItem] = []
    if actor.has_role(Role.APPROVER):
        pledges = _by_state(Pledge.objects.visible_to(actor), [PledgeState.OFFERED])
        lists = _by_state(RequirementList.objects.visible_to(actor), [ListState.PROPOSED])
        runs = _by_state(MatchRun.objects.visible_to(actor), [RunState.PROPOSED])
        queue += [
            QueueItem(_("Pledges to accept"), pledges[PledgeState.OFFERED], _list_url("pledges", state=PledgeState.OFFERED)),
            QueueItem(
                _("Requirement lists to approve"),
                lists[ListState.PROPOSED],
                _list_url("requirement-lists", state=ListState.PROPOSED),
            ),
            QueueItem(_("Match runs to review"), runs[RunState.PROPOSED], _list_url("match-runs", state=RunState.PROPOSED)),
        ]
    overdue_pledges = Pledge.objects.visible_to(actor).filter(pledge_queries.overdue(actor)).count()
    return [
        *queue,
        QueueItem(
            _("Pledges past their availability date, not shipped"),
            overdue_pledges,
            _list_url("pledges", overdue="True"),
            overdue=True,
        ),
        *_overdue_requirements(actor),
    ]


def _donor_queue(actor: Actor) -> list[QueueItem]:
    own = Pledge.objects.visible_to(actor).filter(owner=actor.organization)
    code = actor.organization.code
    queue: list[QueueItem] = []
    if actor.has_role(Role.EDITOR):
        counts = _by_state(own, [PledgeState.ANNOUNCED, PledgeState.ALLOCATED])
        queue += [
            QueueItem(
                _("Announced pledges to offer"),
                counts[PledgeState.ANNOUNCED],
                _list_url("pledges", state=PledgeState.ANNOUNCED, donor=code),
            ),
            QueueItem(
                _("Allocated pledges to ship"),
                counts[PledgeState.ALLOCATED],
                _list_url("pledges", state=PledgeState.ALLOCATED, donor=code),
            ),
        ]
    overdue = own.filter(pledge_queries.overdue(actor)).count()
    decisions = f"{reverse('eum-overview')}#eum-decisions"
    return [
        *queue,
        QueueItem(
            _("Your pledges past their availability date, not shipped"),
            overdue,
            _list_url("pledges", overdue="True", donor=code),
            overdue=True,
        ),
        QueueItem(
            _("Consent requests on your items, waiting for your decision"),
            eum_queries.pending_consent_requests(actor).count(),
            decisions,
        ),
        QueueItem(
            _("Losses of your items reported, to acknowledge"), eum_queries.unacknowledged_losses(actor).count(), decisions
        ),
    ]


def _recipient_queue(actor: Actor) -> list[QueueItem]:
    queue: list[QueueItem] = []
    if actor.has_role(Role.EDITOR):
        lists = _by_state(RequirementList.objects.visible_to(actor), [ListState.DRAFT])
        waiting = _by_state(consignments(actor), [ConsignmentState.ARRIVED, ConsignmentState.RECEIVED])
        queue += [
            QueueItem(
                _("Requirement lists to propose"), lists[ListState.DRAFT], _list_url("requirement-lists", state=ListState.DRAFT)
            ),
            QueueItem(
                _("Consignments arrived, to receive"),
                waiting[ConsignmentState.ARRIVED],
                _list_url("consignments", state=ConsignmentState.ARRIVED),
            ),
            QueueItem(
                _("Consignments received, to hand over"),
                waiting[ConsignmentState.RECEIVED],
                _list_url("consignments", state=ConsignmentState.RECEIVED),
            ),
        ]
    return [*queue, *_overdue_requirements(actor, owned=True)]


def _end_use(actor: Actor) -> dict | None:
    """Serial-tracked items held and delinquent today (one query); none when the reader sees no item held."""
    figures = eum_queries.card(actor)
    if not figures["held"]:
        return None
    return {
        **figures,
        "held_value_text": format_eur_short(figures["held_value"]),
        "delinquent_value_text": format_eur_short(figures["delinquent_value"]),
        "share": percent(100 * figures["delinquent"] / figures["held"]),
    }


def reads_queue_for_information(actor: Actor) -> bool:
    """A viewer acts on none of what its queue counts (an editor of its organization does): the counts are
    shown to it as information, not as work waiting for it."""
    return not actor.has_role(Role.EDITOR)


def coordination(actor: Actor) -> dict:
    return {
        "kind": "coordination",
        "end_use": _end_use(actor),
        "queue": _coordination_queue(actor),
        "queue_for_information": reads_queue_for_information(actor),
        "coverage": _coverage(actor),
        "donors": _by_donor(actor),
        "fair_share": _fair_share(actor),
        "changes": change_rows(recent_changes(actor, TOP)),
    }


def _in_lifecycle_order(pledges) -> list[dict]:
    """Pledges counted and valued per state, each state by its label, in the order of the lifecycle."""
    rows = {row["state"]: row for row in pledges.order_by().values("state").annotate(n=Count("pk"), value=Sum("value_eur"))}
    return [{**rows[state], "label": state.label} for state in PledgeState if state in rows]


def donor(actor: Actor) -> dict:
    own = Pledge.objects.visible_to(actor).filter(owner=actor.organization)
    return {
        "kind": "donor",
        "end_use": _end_use(actor),
        "queue": _donor_queue(actor),
        "queue_for_information": reads_queue_for_information(actor),
        "own_by_state": _in_lifecycle_order(own),
        "open": _open_requirements(actor),
        "fair_share": _fair_share(actor, donor=actor.organization.code),
        "changes": change_rows(recent_changes(actor, TOP)),
    }


def recipient(actor: Actor) -> dict:
    return {
        "kind": "recipient",
        "end_use": _end_use(actor),
        "queue": _recipient_queue(actor),
        "queue_for_information": reads_queue_for_information(actor),
        "consignments_coming": _consignments_coming(actor),
        "coming": _coming(actor),
        "coverage": _coverage(actor),
        "changes": change_rows(recent_changes(actor, TOP)),
    }


def public(actor: Actor) -> dict:
    return {"kind": "public", "donors": _by_donor(actor), "fair_share": _fair_share(actor)}


def dashboard_for(actor: Actor) -> dict:
    builders = {
        OrganizationKind.COORDINATOR: coordination,
        OrganizationKind.DONOR: donor,
        OrganizationKind.MULTILATERAL: donor,
        OrganizationKind.RECIPIENT: recipient,
    }
    return builders.get(actor.kind, public)(actor)
