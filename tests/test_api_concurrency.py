"""16 concurrent writers × 50 conditional updates of one pledge through a live server: no lost update."""

import json
import random
import threading
import urllib.error
import urllib.request
from collections import Counter

import pytest

from tests import factories
from tests.conftest import ensure_base_data
from umbrella.core.access import Actor
from umbrella.core.testing import load_personas
from umbrella.orgs.services import issue_token
from umbrella.pledges.models import Pledge

WRITERS = 16
UPDATES = 50


def request(url: str, method: str = "GET", body: dict | None = None, headers: dict | None = None) -> tuple[int, dict, str | None]:
    data = json.dumps(body).encode() if body is not None else None
    prepared = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(prepared, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null"), response.headers.get("ETag")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), None


@pytest.mark.django_db(transaction=True)
def test_concurrent_conditional_updates_lose_nothing(live_server):
    ensure_base_data()
    personas = load_personas()
    pledge = factories.pledge(personas, quantity=1)
    actor = personas.donor_editor
    _, secret = issue_token(
        actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="race"
    )
    auth = {"Authorization": f"Bearer {secret}"}
    url = f"{live_server.url}/api/v1/pledges/{pledge.pk}"
    statuses: Counter = Counter()
    lock = threading.Lock()

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(UPDATES):
            _, _, etag = request(url, headers=auth)
            status, _, _ = request(url, "PATCH", {"quantity": rng.randint(1, 10_000)}, {**auth, "If-Match": etag})
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pledge = Pledge.objects.get(pk=pledge.pk)
    successes = statuses[200]
    assert sum(statuses.values()) == WRITERS * UPDATES
    assert set(statuses) <= {200, 412}, statuses  # no 5xx, nothing but success or "stale"
    assert pledge.version == 1 + successes, (pledge.version, statuses)  # every 2xx is one version, none lost
    updates = [entry for entry in pledge_updates(pledge.pk)]
    assert len(updates) == successes and [e["after"]["version"] for e in updates] == list(range(2, successes + 2))
    print(f"{WRITERS}x{UPDATES} conditional updates: {dict(statuses)}")


def pledge_updates(pledge_id: int) -> list[dict]:
    from umbrella.core.models import ChangeRecord

    return list(
        ChangeRecord.objects.filter(entity="pledges.pledge", entity_id=str(pledge_id), action="update")
        .order_by("sequence")
        .values("after")
    )
