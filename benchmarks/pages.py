"""Page speed: every page rendered at demo scale 1 and 10, with its server time and query count.

    python benchmarks/pages.py [--scales 1 10] [--repeat 5] [--json FILE]

For each scale, a fresh data directory gets `umbrella demo --no-serve --scale N` (SQLite); then each page is
requested in-process through Django's test client as the persona who would open it: once to warm up, then
`--repeat` times, reporting the median time. A query count that is the same at both scales shows that no
page makes a query per row (no N+1). Budget: 300 ms per page at scale 10.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_MS = 300


def pages() -> list[tuple[str, str, str]]:
    """(name, persona, URL) for every page, the URLs of records taken from the loaded scenario."""
    from umbrella.catalog.models import ItemType
    from umbrella.eum.models import Serial
    from umbrella.funding.models import Funding
    from umbrella.logistics.models import Consignment, ConsignmentState
    from umbrella.matching.models import Allocation, MatchRun
    from umbrella.needs.models import Requirement, RequirementList
    from umbrella.places.models import Place
    from umbrella.pledges.models import AidPackage, Pledge
    from umbrella.scenarios.models import WithdrawalScenario
    from umbrella.training.models import Course

    approved = RequirementList.objects.filter(series="UA-2026").first()
    handed_over = Consignment.objects.filter(state=ConsignmentState.HANDED_OVER).first()
    run = MatchRun.objects.order_by("-id").first()
    scenario = WithdrawalScenario.objects.order_by("-id").first()
    course = Course.objects.filter(state="confirmed").order_by("id").first() or Course.objects.order_by("id").first()
    return [
        ("dashboard (coordination)", "hq-staff", "/"),
        ("dashboard (donor)", "deu-liaison", "/"),
        ("dashboard (recipient)", "ukr-logistics", "/"),
        ("dashboard (public)", "", "/"),
        ("requirement lists", "hq-staff", "/requirements/"),
        ("requirement list (approved)", "hq-staff", approved.get_absolute_url()),
        ("requirement", "hq-staff", Requirement.objects.filter(requirement_list=approved).first().get_absolute_url()),
        ("pledges", "hq-staff", "/pledges/"),
        ("pledges, filtered and sorted", "hq-staff", "/pledges/?state=accepted&sort=-value_eur"),
        ("pledge", "hq-staff", Pledge.objects.filter(state="allocated").first().get_absolute_url()),
        ("aid packages", "hq-staff", "/pledges/aid-packages/"),
        ("aid package (public)", "", AidPackage.objects.first().get_absolute_url()),
        ("catalog", "hq-staff", "/catalog/"),
        ("item type", "hq-staff", ItemType.objects.first().get_absolute_url()),
        ("match runs", "hq-staff", "/matching/"),
        ("match run", "hq-staff", run.get_absolute_url()),
        ("allocations", "hq-staff", "/matching/allocations/"),
        ("allocation", "hq-staff", Allocation.objects.first().get_absolute_url()),
        ("consignments", "hq-staff", "/consignments/"),
        ("consignments, late ones", "ukr-logistics", "/consignments/?late=True"),
        ("consignment", "hq-staff", Consignment.objects.order_by("id").first().get_absolute_url()),
        ("hub board", "hq-staff", "/consignments/hubs/"),
        ("what is coming", "ukr-logistics", "/consignments/coming/"),
        ("funding", "hq-staff", "/funding/"),
        ("funding row", "hq-staff", Funding.objects.filter(marking="public").first().get_absolute_url()),
        ("fair share", "hq-staff", "/funding/fair-share/?year=2025"),
        ("donors compared", "hq-staff", "/history/donors/"),
        ("scenarios", "hq-staff", "/scenarios/"),
        ("scenario", "hq-staff", scenario.get_absolute_url()),
        ("import", "deu-liaison", "/import/"),
        ("readiness board", "hq-staff", "/readiness/"),
        ("readiness board (recipient)", "ukr-logistics", "/readiness/"),
        ("readiness board, one destination", "ukr-logistics", "/readiness/?destination=UA-ODESA"),
        ("training plan", "hq-staff", "/readiness/training-plan/"),
        ("training plan, late crews", "hq-staff", "/readiness/training-plan/?flagged=on"),
        ("run-a-match form", "hq-staff", "/matching/new/"),
        ("courses", "hq-staff", "/training/"),
        ("courses, a donor's offers", "deu-liaison", "/training/?donor=DEU"),
        ("course types", "hq-staff", "/training/course-types/"),
        ("trainees", "ukr-logistics", "/training/trainees/"),
        ("qualified people", "ukr-logistics", "/training/qualified/"),
        ("places", "hq-staff", "/places/"),
        ("place", "hq-staff", Place.objects.get(code="UA").get_absolute_url()),
        ("end-use overview", "hq-auditor", "/eum/"),
        ("end-use overview (donor)", "deu-liaison", "/eum/"),
        ("serials", "hq-auditor", "/eum/serials/"),
        ("serial", "hq-auditor", Serial.objects.order_by("id").first().get_absolute_url()),
        ("end-use report (donor)", "deu-liaison", "/eum/report/DEU/"),
        ("end-use figures (public)", "", "/eum/public/"),
        # A demo without courses (before the training scenario is loaded) has no course page to draw.
        *([("course (recipient)", "ukr-logistics", course.get_absolute_url())] if course else []),
        # A demo without handovers (before its consignments arrive) has no certificate to draw.
        *([("handover certificate", "ukr-logistics", f"/consignments/{handed_over.pk}/certificate/")] if handed_over else []),
    ]


def measure(scale: str, repeat: int) -> list[dict]:
    import django
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    django.setup()
    from umbrella.core.access import Actor  # noqa: F401  (apps ready)
    from umbrella.orgs.queries import actor_for
    from umbrella.scenarios.services import save_scenario

    staff = get_user_model().objects.get(username="hq-staff")
    import datetime as dt

    save_scenario(actor=actor_for(staff), name="United States stops", donors=["USA"], as_of=dt.date(2026, 1, 1))
    results = []
    clients: dict[str, Client] = {}
    for name, persona, url in pages():
        if persona not in clients:
            clients[persona] = Client(HTTP_HOST="127.0.0.1")
            if persona:
                clients[persona].force_login(get_user_model().objects.get(username=persona))
        client = clients[persona]
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        timings = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
        results.append(
            {
                "page": name,
                "persona": persona or "public",
                "url": url,
                "scale": scale,
                "median_ms": round(statistics.median(timings), 1),
                "queries": len(queries),
            }
        )
    return results


def run_scale(scale: str, repeat: int) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix=f"umbrella-pages-{scale}-") as data_dir:
        env = {**os.environ, "UMBRELLA_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "umbrella.settings"}
        env.pop("UMBRELLA_DATABASE_URL", None)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "umbrella", "demo", "--no-serve", "--scale", scale],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"demo at scale {scale} loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        output = subprocess.run(
            [sys.executable, __file__, "--measure", scale, "--repeat", str(repeat)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(output.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["1", "10"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat)))
        return 0
    by_scale = {scale: run_scale(scale, args.repeat) for scale in args.scales}
    first, last = args.scales[0], args.scales[-1]
    print(f"page | persona | queries (scale {first}) | queries (scale {last}) | median ms (scale {last}) | within {BUDGET_MS} ms")
    over = 0
    for small, large in zip(by_scale[first], by_scale[last], strict=True):
        within = large["median_ms"] <= BUDGET_MS
        over += not within
        print(
            f"{large['page']} | {large['persona']} | {small['queries']} | {large['queries']} | "
            f"{large['median_ms']} | {'yes' if within else 'NO'}"
        )
    if args.json:
        args.json.write_text(json.dumps(by_scale, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
