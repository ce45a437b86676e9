"""Funding as IATI activity XML (standard 2.03): one activity per commitment reference, a transaction for
each step each annual portion has taken (pledge, commitment, disbursement), dated from the ledger."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from xml.etree import ElementTree as ET

from django.utils import timezone

from umbrella.core.access import Actor, OrganizationKind
from umbrella.core.ledger import history
from umbrella.funding.models import Funding, FundingState
from umbrella.orgs.models import Organization

# IATI TransactionType codes for the reporting (donor) organisation's side.
OUTGOING_PLEDGE, OUTGOING_COMMITMENT, DISBURSEMENT = "12", "2", "3"
STEP_TRANSACTIONS = {"create": OUTGOING_PLEDGE, "commit": OUTGOING_COMMITMENT, "disburse": DISBURSEMENT}
GOVERNMENT, FUNDING_ROLE, IMPLEMENTING_ROLE = "10", "1", "4"


def _narrative(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    ET.SubElement(element, "narrative").text = text
    return element


def _transactions(activity: ET.Element, portion: Funding) -> None:
    for change in reversed(history(portion)):
        code = STEP_TRANSACTIONS.get(change.action)
        if code is None or (change.action == "create" and portion.state == FundingState.WITHDRAWN):
            continue
        transaction = ET.SubElement(activity, "transaction")
        ET.SubElement(transaction, "transaction-type", code=code)
        ET.SubElement(transaction, "transaction-date", {"iso-date": change.at.date().isoformat()})
        value = ET.SubElement(transaction, "value", {"currency": portion.currency, "value-date": portion.fx_date.isoformat()})
        value.text = f"{portion.amount:.2f}"
        _narrative(
            transaction, "description", f"{portion.year} portion ({portion.get_category_display()}); EUR {portion.value_eur:.2f}"
        )


def iati_activities(actor: Actor) -> bytes:
    """The XML document of every funding row the actor may see, grouped into activities by reference."""
    recipient = Organization.objects.filter(kind=OrganizationKind.RECIPIENT).first()
    root = ET.Element(
        "iati-activities", {"version": "2.03", "generated-datetime": timezone.now().replace(microsecond=0).isoformat()}
    )
    by_activity: dict[tuple[str, str], list[Funding]] = defaultdict(list)
    for portion in Funding.objects.visible_to(actor).select_related("owner").order_by("owner__code", "reference", "year"):
        by_activity[portion.owner.code, portion.reference].append(portion)
    for (donor_code, reference), portions in by_activity.items():
        donor = portions[0].owner
        activity = ET.SubElement(
            root,
            "iati-activity",
            {
                "default-currency": portions[0].currency,
                "last-updated-datetime": max(p.updated_at for p in portions).replace(microsecond=0).isoformat(),
            },
        )
        ET.SubElement(activity, "iati-identifier").text = f"{donor.iso3 or donor_code}-{reference}"
        _narrative(activity, "reporting-org", donor.name, ref=donor.iso3 or donor_code, type=GOVERNMENT)
        _narrative(activity, "title", reference)
        _narrative(activity, "description", ", ".join(sorted({p.get_category_display() for p in portions})))
        _narrative(activity, "participating-org", donor.name, ref=donor.iso3 or donor_code, role=FUNDING_ROLE, type=GOVERNMENT)
        if recipient is not None:
            _narrative(
                activity,
                "participating-org",
                recipient.name,
                ref=recipient.iso3 or recipient.code,
                role=IMPLEMENTING_ROLE,
                type=GOVERNMENT,
            )
        ET.SubElement(activity, "activity-status", code="2")
        ET.SubElement(
            activity, "activity-date", {"type": "1", "iso-date": dt.date(min(p.year for p in portions), 1, 1).isoformat()}
        )
        for portion in portions:
            _transactions(activity, portion)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
