"""A year's fair shares from Umbrella's own data, as the actor may see it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils.translation import gettext, gettext_lazy

from umbrella.core.access import DONOR_KINDS, Actor, OrganizationKind
from umbrella.core.errors import Invalid
from umbrella.core.listing import Column, Filter, Listing
from umbrella.core.models import ChangeRecord
from umbrella.core.numbers import number
from umbrella.funding import counting, fairshare
from umbrella.funding.models import DEFAULT_FLOOR_EUR, FairShareStatement, FairShareYear, Funding, FundingState
from umbrella.funding.rates import RATE_USED_ON, rate_on
from umbrella.logistics.models import ConsignmentLine, ConsignmentState
from umbrella.orgs.models import GdpFigure, Organization
from umbrella.pledges.models import Pledge, PledgePayer, PledgeState
from umbrella.training import queries as training

BILLION = Decimal(1_000_000_000)
FUNDING_YEARS = range(2014, 2101)  # what a filter may ask for; the model refuses a year before 2014


def funding_records(actor: Actor) -> QuerySet[Funding]:
    """The funding the actor may see, with its donor and the day of the rate that valued it (page and API alike)."""
    return Funding.objects.visible_to(actor).select_related("owner").annotate(rate_used_on=RATE_USED_ON)


FUNDING = Listing(
    columns=(
        Column(gettext_lazy("Funding"), lambda o: f"{o.reference} {o.year}", sort="reference", link=True),
        Column(gettext_lazy("Donor"), lambda o: o.owner.name, sort="owner__name"),
        Column(gettext_lazy("Year"), lambda o: o.year, sort="year", numeric=True),
        Column(gettext_lazy("Amount"), lambda o: f"{number(o.amount, 2)} {o.currency}", sort="amount", numeric=True),
        Column(gettext_lazy("Value (EUR)"), lambda o: number(o.value_eur, 2), sort="value_eur", numeric=True),
        Column(gettext_lazy("Category"), lambda o: o.get_category_display(), sort="category"),
        Column(gettext_lazy("Channel"), lambda o: o.get_channel_display(), sort="channel"),
        Column(gettext_lazy("State"), lambda o: o.get_state_display(), sort="state"),
    ),
    filters=(
        Filter(
            "year",
            gettext_lazy("Year"),
            "year",
            lambda actor: [
                (str(y), str(y))
                for y in Funding.objects.visible_to(actor).order_by("-year").values_list("year", flat=True).distinct()
            ],
            known=lambda: [str(year) for year in FUNDING_YEARS],
        ),
        Filter("state", gettext_lazy("State"), "state", lambda actor: FundingState.choices),
        Filter(
            "donor",
            gettext_lazy("Donor"),
            "owner__code",
            lambda actor: list(Organization.objects.filter(kind__in=DONOR_KINDS).values_list("code", "name")),
            unknown=gettext_lazy("No such donor: %(value)s."),
        ),
    ),
    search=("reference", "notes", "owner__name"),
    states={"state": FundingState},
    default_sort="-year",
)


@dataclass
class FairShareReport:
    """`complete` says whether the reader may see every record that counts towards these shares. When not,
    what is counted is a partial sum (of the records released to the reader), so no gap or share of the target
    is given: a gap worked out from part of the records would present the missing ones as never made."""

    year: int
    floor_eur: Decimal
    configured: bool
    shares: list[fairshare.Share]
    exemptions: dict[str, str]
    gdp_note: str
    missing_gdp: list[str] = field(default_factory=list)
    complete: bool = True
    own_code: str | None = None  # the reader's organization: every record behind its own row is its own, so whole
    rule_set: str = counting.DEFAULT_RULE_SET  # what counted: `counting.RULE_SETS`
    rule_set_title: str = ""

    def whole(self, share: fairshare.Share) -> bool:
        return self.complete or share.code == self.own_code

    def gap_eur(self, share: fairshare.Share) -> Decimal | None:
        return share.gap_eur if self.whole(share) else None

    def percent(self, share: fairshare.Share) -> Decimal | None:
        return share.percent if self.whole(share) else None

    @property
    def counted_total_eur(self) -> Decimal:
        return sum((s.counted_eur for s in self.shares), Decimal(0))

    def as_json(self) -> dict:
        return {
            "year": self.year,
            "floor_eur": str(self.floor_eur),
            "configured": self.configured,
            "rule_set": self.rule_set,
            "rule_set_title": self.rule_set_title,
            "gdp": self.gdp_note,
            "complete": self.complete,
            "targets_total_eur": str(sum((s.target_eur for s in self.shares), Decimal(0))),
            "counted_total_eur": str(self.counted_total_eur),
            "exemptions": self.exemptions,
            "missing_gdp": self.missing_gdp,
            "donors": [
                {
                    "code": s.code,
                    "name": s.name,
                    "gdp_share": float(s.gdp_share),
                    "target_eur": str(s.target_eur),
                    "counted_eur": str(s.counted_eur),
                    "whole": self.whole(s),
                    "gap_eur": None if self.gap_eur(s) is None else str(self.gap_eur(s)),
                    "percent": optional_round(self.percent(s)),
                }
                for s in self.shares
            ],
        }

    def table(self) -> tuple[list[str], list[list]]:
        """The exported table: without gap and share of the target when the reader sees only part of the records."""
        counted = gettext("Counted (EUR)") if self.complete else gettext("Counted among records released to you (EUR)")
        header = [
            gettext("Donor"),
            gettext("Code"),
            gettext("GDP share (%)"),
            gettext("Target (EUR)"),
            counted,
            gettext("Gap (EUR)"),
            gettext("Counted / target (%)"),
        ]
        rows = [
            [
                s.name,
                s.code,
                round(float(s.gdp_share) * 100, 4),
                s.target_eur,
                s.counted_eur,
                self.gap_eur(s),
                optional_round(self.percent(s)),
            ]
            for s in self.shares
        ]
        return header, rows


def optional_round(percent: Decimal | None) -> float | None:
    return None if percent is None else round(float(percent), 2)


def participants_of(actor: Actor, year: int) -> tuple[Decimal, list[Organization], dict[str, str], bool]:
    """The year's floor, participants (states, not exempt), exemptions and whether the year is configured. For a
    year with no configuration released to the actor: the default floor and every state with a GDP figure, read
    only to say what such a year lacks (`missing_for_report`): no fair share or scenario top-up is worked out for
    it."""
    config = FairShareYear.objects.visible_to(actor).filter(year=year).first()
    # States only: a multilateral donor has no GDP of its own, so it is counted in totals but never shares a floor.
    donors = Organization.objects.filter(kind=OrganizationKind.DONOR)
    if config is None:
        with_gdp = donors.filter(gdp_figures__year__lte=year).distinct().order_by("code")
        return DEFAULT_FLOOR_EUR, list(with_gdp), {}, False
    chosen = list(donors.filter(code__in=config.participants).order_by("code"))
    return config.floor_eur, [o for o in chosen if o.code not in config.exemptions], dict(config.exemptions), True


def latest_gdp(year: int, organizations: list[Organization]) -> dict[str, GdpFigure]:
    """Each donor's latest GDP figure at or before the year (public figures, read by everyone alike)."""
    latest: dict[str, GdpFigure] = {}
    for figure in (
        GdpFigure.objects.filter(organization__in=organizations, year__lte=year).select_related("organization").order_by("year")
    ):
        latest[figure.organization.code] = figure
    return latest


def gdp_in_common_unit(year: int, organizations: list[Organization]) -> tuple[dict[str, Decimal], str, list[str]]:
    """Each donor's latest GDP at or before the year, in euros when currencies differ (shares need one unit)."""
    latest = latest_gdp(year, organizations)
    missing = [o.code for o in organizations if o.code not in latest]
    currencies = {f.currency for f in latest.values()}
    years = sorted({f.year for f in latest.values()})
    sources = sorted({f.source for f in latest.values()})
    if len(currencies) <= 1:
        amounts = {code: f.amount_bn * BILLION for code, f in latest.items()}
        unit = next(iter(currencies), "EUR")
    else:
        amounts = {code: f.amount_bn * BILLION / rate_on(f.currency, dt.date(f.year, 12, 31)) for code, f in latest.items()}
        unit = "EUR"
    note = f"GDP {', '.join(map(str, years))} in {unit} ({'; '.join(sources)})" if latest else "no GDP figures"
    return amounts, note, missing


COUNTABLE_MONEY_STATES = (FundingState.COMMITTED, FundingState.DISBURSED)  # what any rule set may count


def rules_for(actor: Actor, year: int) -> counting.RuleSet:
    """The rule set coordination staff chose for the year, or the default when the year is not configured."""
    config = FairShareYear.objects.visible_to(actor).filter(year=year).first()
    return counting.RULE_SETS[config.rule_set if config else counting.DEFAULT_RULE_SET]


def _counting_funding(year: int, codes: list[str], rules: counting.RuleSet) -> Q:
    return Q(year=year, state__in=rules.money_states, instrument__in=rules.money_instruments, owner__code__in=codes)


def _paid_by(codes: list[str]) -> Q:
    """Pledges some of these donors pay for: as recorded payers, or as the donor when no payer is recorded."""
    return Q(payers__organization__code__in=codes) | Q(payers__isnull=True, owner__code__in=codes)


def _handed_over_in(year: int) -> Q:
    """Pledges with a consignment handed over in the year, or handed over in the year by the one-step handover."""
    return Q(
        allocations__consignment_lines__consignment__state=ConsignmentState.HANDED_OVER,
        allocations__consignment_lines__consignment__handover_date__year=year,
    ) | Q(state=PledgeState.HANDED_OVER, quantity_shipped=0, updated_at__year=year)


def handed_over_in_year(actor: Actor, year: int) -> dict[int, int]:
    """Units of each pledge handed over in the year, among what the actor may see: what arrived of the lines of
    consignments handed over that year (`Consignment.handover_date`), and for a pledge handed over by its one-step
    handover (no consignment), what was delivered, in the year of the ledger entry of that step."""
    units: dict[int, int] = defaultdict(int)
    lines = ConsignmentLine.objects.visible_to(actor).filter(
        consignment__state=ConsignmentState.HANDED_OVER, consignment__handover_date__year=year
    )
    for pledge_id, quantity, received in lines.values_list("allocation__pledge_id", "quantity", "quantity_received"):
        units[pledge_id] += min(received or 0, quantity)
    steps = ChangeRecord.objects.visible_to(actor).filter(entity=Pledge._meta.label_lower, action="hand_over", at__year=year)
    manual = Pledge.objects.visible_to(actor).filter(
        pk__in=[int(pk) for pk in steps.values_list("entity_id", flat=True)], state=PledgeState.HANDED_OVER, quantity_shipped=0
    )
    for pledge_id, delivered, quantity in manual.values_list("pk", "quantity_delivered", "quantity"):
        units[pledge_id] += delivered or quantity
    return dict(units)


def _goods(actor: Actor, year: int, codes: list[str]) -> list[counting.Goods]:
    """Read as plain rows, not instances: a year at scale has thousands of pledges handed over."""
    units = handed_over_in_year(actor, year)
    pledges = list(
        Pledge.objects.visible_to(actor)
        .filter(_paid_by(codes), pk__in=list(units))
        .distinct()
        .order_by("pk")
        .values_list("pk", "instrument", "value_eur", "quantity", "owner__code")
    )
    payers: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for pledge_id, code, share in (
        PledgePayer.objects.visible_to(actor)
        .filter(pledge_id__in=[row[0] for row in pledges])
        .values_list("pledge_id", "organization__code", "share")
    ):
        payers[pledge_id].append((code, share))
    # The same shares `Pledge.payer_shares` gives: the payers recorded, or the donor paying all of it.
    return [
        counting.Goods(instrument, units[pk], value / quantity, tuple(payers[pk] or [(owner, Decimal(1))]), f"pledge:{pk}")
        for pk, instrument, value, quantity, owner in pledges
    ]


def counted_records(
    actor: Actor, year: int, codes: list[str], rules: counting.RuleSet | None = None
) -> list[tuple[str, str, Decimal]]:
    """(record, donor, euros) of every record that counts towards these donors' shares under the year's rule set
    (`counting`), among what the actor may see: its funding of the year ("funding:ID") in a counted instrument and
    state; its share, as a payer, of the value of pledges handed over in the year ("pledge:ID": the units handed
    over that year at the pledge's value per unit); and its training ("training:CODE": the seats trainees take on
    its confirmed and completed courses starting that year, at their seat value, `training.queries.training_value`;
    empty seats count for nothing)."""
    rules = rules or rules_for(actor, year)
    money = [
        counting.Money(row["owner__code"], row["instrument"], row["state"], row["value_eur"], f"funding:{row['pk']}")
        for row in Funding.objects.visible_to(actor)
        .filter(year=year, state__in=COUNTABLE_MONEY_STATES, owner__code__in=codes)
        .order_by("pk")
        .values("pk", "owner__code", "instrument", "state", "value_eur")
    ]
    records = [part for part in counting.counted_parts(rules, money, _goods(actor, year, codes)) if part[1] in codes]
    records += [(f"training:{code}", code, value) for code, value in training.training_value(actor, year, codes).items()]
    return records


def counted(actor: Actor, year: int, codes: list[str], rules: counting.RuleSet | None = None) -> dict[str, Decimal]:
    """What counts towards each donor's share (`counted_records`), added up per donor."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for _record, code, value in counted_records(actor, year, codes, rules):
        totals[code] += value
    return totals


def sees_every_counted_record(actor: Actor, year: int, codes: list[str], rules: counting.RuleSet) -> bool:
    """Whether no record that counts towards these donors' shares is withheld from the actor. Only yes or no:
    how many are withheld would itself tell the reader something about records not released to them."""
    handed_over = _handed_over_in(year)
    return not (
        Funding.objects.hidden_from(actor).filter(_counting_funding(year, codes, rules)).exists()
        or Pledge.objects.hidden_from(actor).filter(_paid_by(codes), handed_over).exists()
        or ConsignmentLine.objects.hidden_from(actor)
        .filter(allocation__pledge__in=Pledge.objects.visible_to(actor).filter(_paid_by(codes)))
        .filter(consignment__state=ConsignmentState.HANDED_OVER, consignment__handover_date__year=year)
        .exists()
        or training.training_value_withheld(actor, year, codes)
    )


def missing_for_report(actor: Actor, year: int) -> list[str]:
    """What a published report of the year lacks, every item at once: a floor configured by coordination staff
    (released to the actor), and a GDP figure for the year or before of any participant."""
    missing = []
    if not FairShareYear.objects.visible_to(actor).filter(year=year).exists():
        missing.append(
            gettext("No floor is configured for %(year)s (coordination staff set the year's floor and participants).")
            % {"year": year}
        )
    _floor, organizations, _exemptions, _configured = participants_of(actor, year)
    if not GdpFigure.objects.filter(organization__in=organizations, year__lte=year).exists():
        missing.append(gettext("No participating donor has a GDP figure for %(year)s or before.") % {"year": year})
    return missing


def fair_share(actor: Actor, year: int, *, donor: str | None = None) -> FairShareReport:
    """Every participant's share, or only `donor`'s (then complete when the actor sees all of that donor's records).
    Refused, naming everything missing (`missing_for_report`, `Invalid` on "year"), for a year with no floor
    configured (released to the actor) or no GDP figure: the one rule of the command, the page, the dashboards,
    the API and publishing alike."""
    lacking = missing_for_report(actor, year)
    if lacking:
        raise Invalid({"year": lacking})
    floor, organizations, exemptions, configured = participants_of(actor, year)
    gdp, note, missing = gdp_in_common_unit(year, organizations)
    participants = [fairshare.Participant(o.code, o.name, gdp[o.code]) for o in organizations if o.code in gdp]
    if not participants:
        raise Invalid({"year": [gettext("No participating donor has a GDP figure for %(year)s or before.") % {"year": year}]})
    codes = [p.code for p in participants if donor is None or p.code == donor]
    rules = rules_for(actor, year)
    shares = [s for s in fairshare.fair_shares(floor, participants, counted(actor, year, codes, rules)) if s.code in codes]
    own_code = actor.organization.code if actor.is_member else None
    return FairShareReport(
        year,
        floor,
        configured,
        shares,
        exemptions,
        note,
        missing,
        complete=sees_every_counted_record(actor, year, codes, rules),
        own_code=own_code,
        rule_set=rules.key,
        rule_set_title=rules.title,
    )


def statement_snapshot(actor: Actor, year: int) -> tuple[FairShareReport, dict]:
    """The year's report as the actor computes it, and the data it was computed from: the floor, participants and
    exemptions, each GDP figure used, and each record that counts with the euros it counts for."""
    report = fair_share(actor, year)
    _floor, organizations, _exemptions, _configured = participants_of(actor, year)
    amounts, _note, _missing = gdp_in_common_unit(year, organizations)
    codes = [s.code for s in report.shares]
    records = counted_records(actor, year, codes, counting.RULE_SETS[report.rule_set])
    data = {
        "floor_eur": str(report.floor_eur),
        "configured": report.configured,
        "participants": codes,
        "exemptions": report.exemptions,
        "gdp": [
            {
                "donor": code,
                "figure": figure.pk,
                "year": figure.year,
                "amount_bn": str(figure.amount_bn),
                "currency": figure.currency,
                "source": figure.source,
                "value_used": str(amounts[code]),
            }
            for code, figure in sorted(latest_gdp(year, organizations).items())
        ],
        "records": [{"record": record, "donor": code, "counted_eur": str(value)} for record, code, value in records],
    }
    return report, {"report": report.as_json(), "data": data}


def statements_of(actor: Actor, year: int) -> QuerySet[FairShareStatement]:
    """The year's published statements the actor may read, latest first (the first supersedes the others)."""
    return FairShareStatement.objects.visible_to(actor).filter(year=year).select_related("owner").order_by("-sequence")


def statement_table(statement: FairShareStatement) -> tuple[list[str], list[list]]:
    """A published statement as the exported table: the live report's columns (`FairShareReport.table`), then on
    every row which statement it is (number, time of publishing in UTC, rule set), so a file read on its own
    still says what it is."""
    header = [
        gettext("Donor"),
        gettext("Code"),
        gettext("GDP share (%)"),
        gettext("Target (EUR)"),
        gettext("Counted (EUR)"),
        gettext("Gap (EUR)"),
        gettext("Counted / target (%)"),
        gettext("Statement"),
        gettext("Published (UTC)"),
        gettext("Counting rules"),
    ]
    published = statement.published_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    about = [f"{statement.year}-{statement.sequence}", published, statement.rule_set]
    rows = [
        [d["name"], d["code"], round(d["gdp_share"] * 100, 4), d["target_eur"], d["counted_eur"], d["gap_eur"], d["percent"]]
        + about
        for d in statement.donors
    ]
    return header, rows


def own_share(actor: Actor, year: int) -> tuple[fairshare.Share, bool] | None:
    """A donor's own live row, and whether it is whole (every record behind it released to the actor); None for
    a reader that is no donor, a donor that does not share the year's floor, or a year that cannot be reported."""
    if not actor.is_member or actor.kind not in DONOR_KINDS:
        return None
    try:
        report = fair_share(actor, year, donor=actor.organization.code)
    except Invalid:
        return None
    return (report.shares[0], report.complete) if report.shares else None


def share_as_json(share: fairshare.Share, whole: bool) -> dict:
    """One live row as `FairShareReport.as_json` gives it: without gap and percent when not whole."""
    return {
        "code": share.code,
        "name": share.name,
        "gdp_share": float(share.gdp_share),
        "target_eur": str(share.target_eur),
        "counted_eur": str(share.counted_eur),
        "whole": whole,
        "gap_eur": str(share.gap_eur) if whole else None,
        "percent": optional_round(share.percent) if whole else None,
    }


def statement_as_json(statement: FairShareStatement, *, latest: bool = True) -> dict:
    """A published statement as the API and `umbrella fair-share-publish --json` give it."""
    return {
        "year": statement.year,
        "sequence": statement.sequence,
        "latest": latest,
        "rule_set": statement.rule_set,
        "rule_set_title": statement.rule_set_title,
        "published_at": statement.published_at.isoformat(),
        "published_by": statement.owner.code,
        "reason": statement.reason,
        "report": statement.snapshot["report"],
        "data": statement.snapshot["data"],
    }
