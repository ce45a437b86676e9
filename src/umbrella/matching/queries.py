"""What a match run says, for the page, the CLI and the API alike: coverage, differences, reasons."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, ExpressionWrapper, F, FloatField, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from umbrella.catalog.models import area_label
from umbrella.core.access import Actor
from umbrella.core.collation import alphabetical_key
from umbrella.core.listing import Column, Filter, Listing
from umbrella.core.numbers import number, units
from umbrella.matching import packages as kits
from umbrella.matching import reasons as why
from umbrella.matching.market import Policy
from umbrella.matching.models import (
    Allocation,
    AllocationState,
    MatchRun,
    OfferOutcome,
    PackageMissing,
    PackageOutcome,
    ProposedAllocation,
    RequirementOutcome,
    RunState,
)
from umbrella.needs.models import ListState, Requirement
from umbrella.pledges.models import PledgeState

STATUS_LABELS = {why.MET: gettext_lazy("met"), why.PARTLY_MET: gettext_lazy("partly met"), why.UNMET: gettext_lazy("unmet")}
PRIORITIES = (1, 2, 3, 4, 5)


def match_runs(actor: Actor) -> QuerySet[MatchRun]:
    """The runs the actor may see, with the list each was run against and the points it had approved (page and API alike)."""
    return with_decisions(MatchRun.objects.visible_to(actor).select_related("requirement_list"))


def allocations(actor: Actor) -> QuerySet[Allocation]:
    """The allocations the actor may see, with the pledge and requirement each names (page and API alike)."""
    return Allocation.objects.visible_to(actor).select_related(
        "pledge__owner", "pledge__item_type", "requirement__item_type", "requirement__destination"
    )


RUNS = Listing(
    columns=(
        Column(gettext_lazy("Run"), lambda o: str(o), sort="id", link=True),
        Column(gettext_lazy("State"), lambda o: o.get_state_display(), sort="state"),
        Column(gettext_lazy("Created"), lambda o: o.created_at, sort="created_at"),
        Column(gettext_lazy("Coverage points"), lambda o: run_points_text(o), sort="objective", numeric=True),
        Column(gettext_lazy("Proposals"), lambda o: o.statistics.get("allocated_arcs", 0), numeric=True),
    ),
    filters=(Filter("state", gettext_lazy("State"), "state", lambda actor: RunState.choices),),
    default_sort="-id",
    states={"state": RunState},
)


ALLOCATIONS = Listing(
    columns=(
        Column(gettext_lazy("Allocation"), lambda o: f"{units(o.quantity)} × {o.pledge.item_type.name}", sort="id", link=True),
        Column(gettext_lazy("Donor"), lambda o: o.pledge.owner.name, sort="pledge__owner__name"),
        Column(gettext_lazy("Requirement"), lambda o: requirement_label(o.requirement), sort="requirement__priority"),
        Column(gettext_lazy("Covers"), lambda o: units(o.covers), numeric=True),
        Column(gettext_lazy("Pledge state"), lambda o: o.pledge.get_state_display(), sort="pledge__state"),
        Column(gettext_lazy("State"), lambda o: o.get_state_display(), sort="state"),
    ),
    filters=(
        Filter("state", gettext_lazy("State"), "state", lambda actor: AllocationState.choices),
        Filter(
            "priority", gettext_lazy("Priority"), "requirement__priority", lambda actor: [(str(p), f"P{p}") for p in PRIORITIES]
        ),
    ),
    search=(
        "pledge__item_type__name",
        "pledge__owner__name",
        "requirement__destination__name_en",
        "requirement__destination__code",
        "requirement__item_type__name",
    ),
    states={"state": AllocationState, "pledge__state": PledgeState},
    default_sort="requirement__priority",
)


def reason_text(reason: str, late_days: int, named: list[str]) -> str:
    names = ", ".join(named)
    texts = {
        "": "",
        why.NO_COMPATIBLE_OFFER: _("No accepted pledge offers this item or a substitute for it."),
        why.TAKEN_BY_HIGHER_PRIORITY: _("The compatible supply went to higher-priority requirements: %(names)s.")
        % {"names": names},
        why.TAKEN_BY_OTHER_REQUIREMENTS: _("The compatible supply went to other requirements it serves better: %(names)s.")
        % {"names": names},
        why.SUPPLY_EXHAUSTED: _("Every compatible unit pledged already goes to this requirement; more must be pledged."),
        why.AVAILABLE_TOO_LATE: ngettext(
            "Compatible supply would arrive only %(days)d day after the needed-by date (available, then on the way).",
            "Compatible supply would arrive only %(days)d days after the needed-by date (available, then on the way).",
            late_days,
        )
        % {"days": late_days},
        why.EXCLUDED_BY_DONOR_CONDITION: _("Compatible pledges exist, but their donors' conditions exclude this destination."),
        why.INDIVISIBLE_UNITS: _("What is left cannot be split into whole units to fit."),
        why.FLEET_DIVERSITY: _("Left out to avoid adding another type of system to this area at this destination."),
        why.DELIVERED_LATE: ngettext(
            "Met, but arriving up to %(days)d day after the needed-by date.",
            "Met, but arriving up to %(days)d days after the needed-by date.",
            late_days,
        )
        % {"days": late_days},
        why.NO_OPEN_REQUIREMENT: _("No requirement on the list asks for this item or one it substitutes for."),
        why.REQUIREMENTS_ALREADY_MET: _("Every requirement it could serve is already met."),
        why.SHORT_DELIVERY: _("Short delivery: %(names)s was closed short, so only what it delivered counts.") % {"names": names},
    }
    return texts[reason]


def package_reason_text(missing: str, reason: str, late_days: int, named: list[str]) -> str:
    """Why a package stays incomplete, in words: what is missing and why the run brings none of it."""
    names = ", ".join(named)
    if missing == PackageMissing.MUNITIONS:
        texts = {
            kits.NOT_REQUESTED: _("No munition this system fires is asked for at or around this destination."),
            kits.NOT_OFFERED: _("Munitions it fires are asked for here (%(names)s), but no accepted pledge offers them."),
            kits.TOO_LATE: ngettext(
                "Munitions it fires are asked for here (%(names)s), but would arrive only %(days)d day after they are needed.",
                "Munitions it fires are asked for here (%(names)s), but would arrive only %(days)d days after they are needed.",
                late_days,
            ),
            kits.EXCLUDED: _(
                "Munitions it fires are asked for here (%(names)s), but their donors' conditions exclude this destination."
            ),
            kits.SUPPLY_ELSEWHERE: _(
                "Munitions it fires are asked for here (%(names)s) and pledged, but the run gives them to other requirements."
            ),
        }
    else:
        texts = {
            kits.NOT_REQUESTED: _("No system that fires this munition is asked for at or around this destination."),
            kits.NOT_OFFERED: _("Systems that fire it are asked for here (%(names)s), but no accepted pledge offers one."),
            kits.TOO_LATE: ngettext(
                "Systems that fire it are asked for here (%(names)s), but would arrive only %(days)d day after they are needed.",
                "Systems that fire it are asked for here (%(names)s), but would arrive only %(days)d days after they are needed.",
                late_days,
            ),
            kits.EXCLUDED: _(
                "Systems that fire it are asked for here (%(names)s), but their donors' conditions exclude this destination."
            ),
            kits.SUPPLY_ELSEWHERE: _(
                "Systems that fire it are asked for here (%(names)s) and pledged, but the run gives them to other requirements."
            ),
        }
    return texts[reason] % {"names": names, "days": late_days}


def package_outcomes(run: MatchRun, actor: Actor):
    """The packages the run leaves incomplete, by destination and item type."""
    return (
        PackageOutcome.objects.visible_to(actor)
        .filter(run=run)
        .select_related("destination", "item_type")
        .order_by("destination__path", "item_type__code")
    )


def package_rows(chosen: list[PackageOutcome], run: MatchRun, actor: Actor) -> list[dict]:
    """Incomplete packages as the page, CLI and API show them: what stands where, what is missing and why, and
    the run's proposals that bring the item there (each leaves the package incomplete)."""
    named_ids = {n for outcome in chosen for n in outcome.named}
    named = {
        r.pk: requirement_label(r)
        for r in Requirement.objects.visible_to(actor).filter(pk__in=named_ids).select_related("item_type", "destination")
    }
    flagged: dict[tuple[int, int], list[int]] = defaultdict(list)
    keys = {(o.destination_id, o.item_type_id) for o in chosen}
    if keys:
        for pk, destination, item_type in (
            ProposedAllocation.objects.visible_to(actor)
            .filter(
                run=run,
                requirement__destination_id__in={d for d, _ in keys},
                pledge__item_type_id__in={t for _, t in keys},
            )
            .order_by("id")
            .values_list("pk", "requirement__destination_id", "pledge__item_type_id")
        ):
            if (destination, item_type) in keys:
                flagged[destination, item_type].append(pk)
    return [
        {
            "destination": o.destination.code,
            "destination_name": o.destination.local_name,
            "item_type": o.item_type.code,
            "item_name": o.item_type.name,
            "missing": o.missing,
            "missing_label": str(o.get_missing_display()),
            "held": float(o.held),
            "proposed": float(o.proposed),
            "proposals": flagged[o.destination_id, o.item_type_id],
            "reason": o.reason,
            "named": o.named,
            "reason_text": package_reason_text(o.missing, o.reason, o.late_days, [named.get(n, f"#{n}") for n in o.named]),
        }
        for o in chosen
    ]


def named_labels(outcome: RequirementOutcome, requirements: dict[int, str]) -> list[str]:
    """Who an outcome's reason names: the pledges closed short for a short delivery, else requirements."""
    if outcome.reason == why.SHORT_DELIVERY:
        return [_("pledge #%(pledge)s") % {"pledge": n} for n in outcome.named]
    return [requirements.get(n, f"#{n}") for n in outcome.named]


def requirement_label(requirement: Requirement) -> str:
    return f"#{requirement.pk} P{requirement.priority} {requirement.item_type.name} → {requirement.destination.local_name}"


@dataclass
class CoverageCell:
    met: int = 0
    partly_met: int = 0
    unmet: int = 0
    points: float = 0.0
    points_available: float = 0.0
    covered: Decimal = Decimal(0)  # requirement units
    needed: int = 0
    points_with_run: float = 0.0  # as `points`, were the run awaiting review approved in full

    @property
    def total(self) -> int:
        return self.met + self.partly_met + self.unmet

    @property
    def percent(self) -> float:
        return 100.0 * self.points / self.points_available if self.points_available else 100.0

    @property
    def percent_with_run(self) -> float:
        return 100.0 * self.points_with_run / self.points_available if self.points_available else 100.0


@dataclass
class RunSummary:
    run: MatchRun
    by_area: dict[str, dict[int, CoverageCell]] = field(default_factory=dict)
    by_priority: dict[int, CoverageCell] = field(default_factory=dict)
    unmet: list[dict] = field(default_factory=list)
    unmet_total: int = 0
    unused_reasons: dict[str, int] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)
    incomplete_packages: list[dict] = field(default_factory=list)
    incomplete_packages_total: int = 0

    def as_json(self) -> dict:
        def cell(c: CoverageCell) -> dict:
            return {"met": c.met, "partly_met": c.partly_met, "unmet": c.unmet, "coverage_percent": round(c.percent, 2)}

        run = self.run
        return {
            "run": run.pk,
            "state": run.state,
            "requirement_list": f"{run.requirement_list.series} r{run.requirement_list.revision}",
            "coverage_points": run.objective,
            "points_available": run.statistics.get("points_available"),
            "greedy_points": run.statistics.get("greedy_points"),
            "objective": run.statistics.get("objective"),
            "greedy_objective": run.statistics.get("greedy_objective"),
            "keep_approved": run.keep_approved,
            "diversity_points": run.diversity_points,
            "complete_packages": run.complete_packages,
            "by_priority": {str(p): cell(c) for p, c in self.by_priority.items()},
            "by_area": {area: {str(p): cell(c) for p, c in cells.items()} for area, cells in self.by_area.items()},
            "changes": self.changes,
            "unmet_total": self.unmet_total,
            "unmet": self.unmet,
            "unused_pledges_by_reason": self.unused_reasons,
            "suggestions": run.suggestions,
            "incomplete_packages_total": self.incomplete_packages_total,
            "incomplete_packages": self.incomplete_packages,
            "statistics": run.statistics,
        }


def _cells(rows, area_key: str, priority_key: str) -> tuple[dict[str, dict[int, CoverageCell]], dict[int, CoverageCell]]:
    """Coverage cells by area and priority from rows the database added up by area, priority and status."""
    points = Policy().priority_points
    by_area: dict[str, dict[int, CoverageCell]] = defaultdict(lambda: {p: CoverageCell() for p in PRIORITIES})
    by_priority = {p: CoverageCell() for p in PRIORITIES}
    for row in rows:
        priority = row[priority_key]
        for cell in (by_area[area_label(row[area_key])][priority], by_priority[priority]):
            setattr(cell, row["status"], getattr(cell, row["status"]) + row["n"])
            cell.points += points[priority] * (row["share"] or 0.0)
            cell.points_with_run += points[priority] * (row.get("share_with_run") or 0.0)
            cell.points_available += points[priority] * row["n"]
            cell.covered += Decimal(row.get("covered") or 0)
            cell.needed += row.get("needed") or 0
    return dict(sorted(by_area.items(), key=lambda area: alphabetical_key(area[0]))), by_priority


def _coverage_cells(run: MatchRun, actor: Actor) -> tuple[dict[str, dict[int, CoverageCell]], dict[int, CoverageCell]]:
    """Counts and covered shares by area, priority and outcome, added up by the database (one query)."""
    share = ExpressionWrapper(
        Cast("covered", FloatField()) / Cast("requirement__quantity", FloatField()), output_field=FloatField()
    )
    rows = (
        RequirementOutcome.objects.visible_to(actor)
        .filter(run=run)
        .values("requirement__item_type__capability_area__name", "requirement__priority", "status")
        .annotate(n=Count("id"), share=Sum(share))
        .order_by()
    )
    return _cells(rows, "requirement__item_type__capability_area__name", "requirement__priority")


def run_points_text(run: MatchRun) -> str:
    """A run's coverage points as a list shows them: a decided run by what was approved (needs `approved_points`
    from `with_decisions`), a run awaiting review or superseded by what it planned."""
    if run.state == RunState.DECIDED:
        return _("%(approved)s approved of %(planned)s planned") % {
            "approved": number(getattr(run, "approved_points", None) or 0.0, 1),
            "planned": number(run.objective, 1),
        }
    return _("%(planned)s planned") % {"planned": number(run.objective, 1)}


def with_decisions(runs):
    """Runs with `approved_points`: the coverage points approved, counted as `objective` counts the planned ones,
    so the approved allocations the run kept fixed are in both (their points are what the run's own proposals
    leave of its objective)."""
    return runs.annotate(
        approved_points=ExpressionWrapper(
            F("objective")
            - Coalesce(Sum("proposals__points"), Value(0.0))
            + Coalesce(Sum("proposals__points", filter=Q(proposals__allocation__isnull=False)), Value(0.0)),
            output_field=FloatField(),
        )
    )


def unmet_outcomes(run: MatchRun, actor: Actor):
    """The requirements the run does not fully meet, most urgent first."""
    return (
        RequirementOutcome.objects.visible_to(actor)
        .filter(run=run)
        .exclude(status=why.MET)
        .select_related("requirement__item_type", "requirement__destination")
        .order_by("requirement__priority", "requirement__needed_by", "requirement_id")
    )


def offer_outcomes(run: MatchRun, actor: Actor):
    """The pledges the run leaves (partly) unused, grouped by reason."""
    return (
        OfferOutcome.objects.visible_to(actor)
        .filter(run=run)
        .select_related("pledge__owner", "pledge__item_type")
        .order_by("reason", "pledge_id")
    )


def _unmet(run: MatchRun, actor: Actor, limit: int | None) -> tuple[list[dict], int]:
    """The requirements not fully met, most urgent first (the first `limit`), with their reasons."""
    gaps = unmet_outcomes(run, actor)
    total = gaps.count()
    return unmet_rows(list(gaps if limit is None else gaps[:limit]), actor), total


def unmet_rows(chosen: list[RequirementOutcome], actor: Actor) -> list[dict]:
    """Unmet requirements as the page, CLI and API show them, with the reasons in words."""
    named_ids = {n for outcome in chosen for n in outcome.named}
    named = {
        r.pk: requirement_label(r)
        for r in Requirement.objects.visible_to(actor).filter(pk__in=named_ids).select_related("item_type", "destination")
    }
    return [
        {
            "requirement": o.requirement_id,
            "label": requirement_label(o.requirement),
            "priority": o.requirement.priority,
            "needed_by": o.requirement.needed_by.isoformat(),
            "quantity": o.requirement.quantity,
            "covered": float(o.covered),
            "status": o.status,
            "status_label": str(STATUS_LABELS[o.status]),
            "reason": o.reason,
            "named": o.named,
            "reason_text": reason_text(o.reason, o.late_days, named_labels(o, named)),
        }
        for o in chosen
    ]


def summarize(run: MatchRun, actor: Actor, *, unmet_limit: int | None = None) -> RunSummary:
    """What the run proposes (were every proposal approved); what is decided is `decided_coverage`."""
    summary = RunSummary(run=run)
    summary.by_area, summary.by_priority = _coverage_cells(run, actor)
    summary.unmet, summary.unmet_total = _unmet(run, actor, unmet_limit)
    summary.unused_reasons = dict(
        OfferOutcome.objects.visible_to(actor)
        .filter(run=run)
        .values("reason")
        .annotate(n=Count("id"))
        .order_by("-n", "reason")
        .values_list("reason", "n")
    )
    summary.changes = differences(run, actor)
    packages = package_outcomes(run, actor)
    summary.incomplete_packages_total = packages.count()
    summary.incomplete_packages = package_rows(list(packages if unmet_limit is None else packages[:unmet_limit]), run, actor)
    return summary


def differences(run: MatchRun, actor: Actor) -> dict[str, int]:
    """How the run's proposals differ from the allocations active now (by pledge and requirement)."""
    proposals = ProposedAllocation.objects.visible_to(actor).filter(run=run)
    # Allocations approved from this run are its own proposals, not allocations it found: counted once, as proposals.
    active = (
        Allocation.objects.visible_to(actor)
        .filter(state=AllocationState.ACTIVE, requirement__requirement_list=run.requirement_list)
        .exclude(proposal__run=run)
    )
    if run.keep_approved:  # nothing approved moves: every proposal is new, every allocation stays
        pairs = ("pledge_id", "requirement_id")
        return {
            "new": proposals.values(*pairs).distinct().count(),
            "kept": active.values(*pairs).distinct().count(),
            "changed": 0,
            "dropped": 0,
        }
    proposed, current = defaultdict(Decimal), defaultdict(Decimal)
    for pledge_id, requirement_id, quantity in proposals.values_list("pledge_id", "requirement_id", "quantity"):
        proposed[pledge_id, requirement_id] += quantity
    for pledge_id, requirement_id, quantity in active.values_list("pledge_id", "requirement_id", "quantity"):
        current[pledge_id, requirement_id] += quantity
    new = sum(1 for key in proposed if key not in current)
    changed = sum(1 for key in proposed if key in current and proposed[key] != current[key])
    dropped = sum(1 for key in current if key not in proposed)
    return {"new": new, "kept": len(current) - changed - dropped, "changed": changed, "dropped": dropped}


@dataclass(frozen=True)
class Decision:
    """How a run's proposals were decided: approved ones became allocations; the rest were declined when the
    run was decided, or were never reviewed when a later run superseded it."""

    proposals: int
    approved: int
    approved_points: float  # the kept points included, as the run's objective includes them
    kept_points: float  # of the approved allocations the run kept fixed

    @property
    def not_approved(self) -> int:
        return self.proposals - self.approved


def decision_of(run: MatchRun, actor: Actor) -> Decision:
    proposals = proposals_for(run, actor)
    totals = proposals.aggregate(
        n=Count("id"),
        approved=Count("id", filter=Q(allocation__isnull=False)),
        planned=Sum("points"),
        approved_planned=Sum("points", filter=Q(allocation__isnull=False)),
    )
    kept_points = max(run.objective - (totals["planned"] or 0.0), 0.0)
    return Decision(
        proposals=totals["n"],
        approved=totals["approved"],
        approved_points=kept_points + (totals["approved_planned"] or 0.0),
        kept_points=kept_points,
    )


def proposals_for(run: MatchRun, actor: Actor):
    """A run's proposals; `leaves_incomplete_package` says whether the item it brings stays without its partner
    (munitions for a system, a system for munitions) at its destination."""
    incomplete = PackageOutcome.objects.visible_to(actor).filter(
        run=OuterRef("run"), destination=OuterRef("requirement__destination"), item_type=OuterRef("pledge__item_type")
    )
    return (
        ProposedAllocation.objects.visible_to(actor)
        .filter(run=run)
        .select_related("pledge__owner", "pledge__item_type", "requirement__item_type", "requirement__destination", "allocation")
        .annotate(leaves_incomplete_package=Exists(incomplete))
    )


@dataclass
class DecidedCoverage:
    """Coverage of the approved requirements by the allocations approved so far (what is decided), and what the
    latest match run would change were it approved in full (only while it awaits review)."""

    latest_run: MatchRun | None
    by_area: dict[str, dict[int, CoverageCell]] = field(default_factory=dict)
    by_priority: dict[int, CoverageCell] = field(default_factory=dict)
    unmet: list[dict] = field(default_factory=list)

    @property
    def proposed_run(self) -> MatchRun | None:
        return self.latest_run if self.latest_run is not None and self.latest_run.state == RunState.PROPOSED else None

    @property
    def points_added_by_run(self) -> float:
        return sum(cell.points_with_run - cell.points for cell in self.by_priority.values())


def _approved_requirements(actor: Actor) -> list[dict]:
    """Each of the actor's approved requirements with `decided`, the units its active allocations cover (one
    query, a join: a correlated subquery would be evaluated again for each use of it)."""
    active = Allocation.objects.visible_to(actor).filter(state=AllocationState.ACTIVE)
    return list(
        Requirement.objects.visible_to(actor)
        .filter(requirement_list__state=ListState.APPROVED)
        .values("id", "item_type__capability_area__name", "priority", "quantity", "needed_by")
        .annotate(
            decided=Coalesce(
                Sum("allocations__covers", filter=Q(allocations__in=active)), Value(Decimal(0)), output_field=DecimalField()
            )
        )
        .order_by()
    )


def _status(covered: Decimal, quantity: int) -> str:
    return why.MET if covered >= quantity else why.PARTLY_MET if covered > 0 else why.UNMET


def _decided_cells(
    actor: Actor, requirements: list[dict], proposed: MatchRun | None
) -> tuple[dict[str, dict[int, CoverageCell]], dict[int, CoverageCell]]:
    """Counts and covered shares by area, priority and decided status; with a run awaiting review, also the
    shares were it approved (its outcome where it has one)."""
    planned = (
        {}
        if proposed is None
        else dict(RequirementOutcome.objects.visible_to(actor).filter(run=proposed).values_list("requirement_id", "covered"))
    )
    groups: dict[tuple, dict] = defaultdict(
        lambda: {"n": 0, "share": 0.0, "share_with_run": 0.0, "covered": Decimal(0), "needed": 0}
    )
    for r in requirements:
        group = groups[r["item_type__capability_area__name"], r["priority"], _status(r["decided"], r["quantity"])]
        group["n"] += 1
        group["share"] += float(r["decided"]) / r["quantity"]
        group["share_with_run"] += float(planned.get(r["id"], r["decided"])) / r["quantity"]
        group["covered"] += r["decided"]
        group["needed"] += r["quantity"]
    rows = [{"area": area, "priority": priority, "status": status, **sums} for (area, priority, status), sums in groups.items()]
    return _cells(rows, "area", "priority")


def _decided_gaps(actor: Actor, requirements: list[dict], latest_run: MatchRun | None, limit: int) -> list[dict]:
    """The most urgent approved requirements not fully covered by approved allocations, with what the latest
    run planned for each and why it fell short there."""
    short = sorted(
        (r for r in requirements if r["decided"] < r["quantity"]), key=lambda r: (r["priority"], r["needed_by"], r["id"])
    )[:limit]
    found = {
        r.pk: r
        for r in Requirement.objects.visible_to(actor)
        .filter(pk__in=[r["id"] for r in short])
        .select_related("item_type", "destination")
    }
    outcomes = (
        {}
        if latest_run is None
        else {
            o.requirement_id: o
            for o in RequirementOutcome.objects.visible_to(actor).filter(run=latest_run, requirement__in=list(found))
        }
    )
    named_ids = {n for outcome in outcomes.values() for n in outcome.named}
    named = {
        r.pk: requirement_label(r)
        for r in Requirement.objects.visible_to(actor).filter(pk__in=named_ids).select_related("item_type", "destination")
    }
    rows = []
    for gap in short:
        requirement, outcome = found[gap["id"]], outcomes.get(gap["id"])
        rows.append(
            {
                "requirement": requirement.pk,
                "label": requirement_label(requirement),
                "priority": requirement.priority,
                "quantity": requirement.quantity,
                "covered": gap["decided"],
                "needed_by": requirement.needed_by,
                "in_run": outcome.covered if outcome is not None else None,
                "reason_text": reason_text(outcome.reason, outcome.late_days, named_labels(outcome, named)) if outcome else "",
            }
        )
    return rows


def decided_coverage(actor: Actor, *, unmet_limit: int) -> DecidedCoverage:
    latest_run = (
        MatchRun.objects.visible_to(actor)
        .filter(requirement_list__state=ListState.APPROVED)
        .select_related("requirement_list")
        .order_by("-id")
        .first()
    )
    coverage = DecidedCoverage(latest_run=latest_run)
    requirements = _approved_requirements(actor)
    coverage.by_area, coverage.by_priority = _decided_cells(actor, requirements, coverage.proposed_run)
    coverage.unmet = _decided_gaps(actor, requirements, latest_run, unmet_limit)
    return coverage
