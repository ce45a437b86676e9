"""A donor's liaison officer offers a course on the page and confirms it; the recipient nominates three trainees at
once from the text box; the donor, who runs the course, ticks two of them as graduates; the recipient's page of
qualified people counts two for the battalion; another donor sees the course but none of its trainees.

Then the readiness board: the demo's two M777 guns at Rivne have their rounds and spares but no qualified crew. A
donor offers an M777 crew course, the recipient nominates sixteen gunners of a battalion stationed at Rivne, the
donor records them as graduates, and the board's crew element for Rivne's M777 turns from missing to present."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import UMBRELLA, screenshot, sign_in

pytestmark = pytest.mark.browser

# A course type of the headquarters and two battalions of the recipient's own, written through the services as the
# people who would write them (once: the journeys share one server); two donors whose liaison officers sign in.
SETUP = """
import json
from django.contrib.auth import get_user_model
from umbrella.eum import services as eum
from umbrella.eum.models import Unit
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import actor_for
from umbrella.training import services as training
from umbrella.training.models import CourseType

users = get_user_model().objects
staff = actor_for(users.get(username="hq-staff"), request_id="journey-setup")
recipient = actor_for(users.get(username="ukr-logistics"), request_id="journey-setup")
kind = CourseType.objects.filter(code="JOURNEY-AD").first() or training.create_course_type(actor=staff, fields={
    "code": "JOURNEY-AD", "name": "Journey air defence course", "qualification": "Journey launcher crew",
    "weeks": 6, "seat_value_eur": "25000.00",
})
if not Unit.objects.filter(code="JOURNEY-ADB").exists():
    eum.create_unit(actor=recipient, fields={"code": "JOURNEY-ADB", "name": "Journey air defence battalion", "kind": "battalion"})
    eum.create_unit(actor=recipient, fields={
        "code": "JOURNEY-ARTBN", "name": "Journey artillery battalion", "kind": "battalion", "station": "UA-RIVNE",
    })
gun_crews = CourseType.objects.get(code="M777-CREW")
donors = [
    donor for donor in Organization.objects.filter(kind="donor").order_by("code")
    if users.filter(username=donor.code.lower() + "-liaison").exists()
][:2]
print(json.dumps({
    "kind": kind.pk, "gun_crews": gun_crews.pk,
    "liaison": donors[0].code.lower() + "-liaison", "other": donors[1].code.lower() + "-liaison",
}))
"""


def setup(server) -> dict:
    done = subprocess.run([*UMBRELLA, "shell", "-c", SETUP], env=server["env"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def open_as(browser, server):
    contexts = []

    def opened(username: str):
        context = browser.new_context(base_url=server["base"], viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        sign_in(page, username)
        return page

    yield opened
    for context in contexts:
        context.close()


def test_a_course_is_offered_trainees_are_nominated_and_graduates_count_for_their_unit(server, open_as):
    made = setup(server)
    today = dt.date.today()
    donor = open_as(made["liaison"])
    donor.goto("/training/courses/offer/")
    donor.get_by_label("Course type").select_option(str(made["kind"]))
    donor.get_by_label("Reference").fill("JOURNEY-1")
    donor.get_by_label("Provider").fill("Journey school")
    donor.get_by_label("Training site").fill("Poland")
    donor.get_by_label("Starts on").fill((today - dt.timedelta(days=42)).isoformat())
    donor.get_by_label("Ends on").fill((today - dt.timedelta(days=1)).isoformat())
    donor.locator("input[name=seats]").fill("4")
    donor.get_by_role("button", name="Offer the course").click()
    donor.wait_for_url("**/training/courses/*/")
    expect(donor.get_by_text("Course offered.")).to_be_visible()
    course_url = donor.url
    donor.get_by_role("link", name="Confirm…").click()
    donor.get_by_role("button", name="Confirm", exact=True).click()
    donor.wait_for_url(course_url)
    expect(donor.get_by_text("The course is now confirmed.")).to_be_visible()

    recipient = open_as("ukr-logistics")
    recipient.goto(course_url)
    recipient.get_by_role("link", name="Nominate trainees…").click()
    recipient.get_by_label("Trainees").fill("T-J-0001, JOURNEY-ADB\nT-J-0002, journey-adb\nT-J-0003, JOURNEY-ADB\n")
    recipient.get_by_role("button", name="Nominate", exact=True).click()
    recipient.wait_for_url(course_url)
    expect(recipient.get_by_text("3 trainees nominated.")).to_be_visible()
    screenshot(recipient, "training-course-nominated")

    donor.goto(course_url)
    donor.get_by_label("T-J-0001").check()
    donor.get_by_label("T-J-0002").check()
    donor.get_by_role("button", name="Record the ticked trainees as graduates").click()
    donor.wait_for_url(course_url)
    expect(donor.get_by_text("2 graduates recorded.")).to_be_visible()

    recipient.goto("/training/qualified/?unit=JOURNEY-ADB")
    expect(recipient.locator("#qualified [data-total]")).to_have_text("2")
    screenshot(recipient, "training-qualified")

    other = open_as(made["other"])
    other.goto(course_url)
    expect(other.get_by_text("JOURNEY-1").first).to_be_visible()
    expect(other.get_by_text("T-J-0001")).to_have_count(0)


def crew_element(page):
    """The crews cell (the fourth element) of Rivne's M777 package on the readiness board."""
    page.goto("/readiness/?destination=UA-RIVNE")
    return page.locator('[data-readiness-table="UA-RIVNE"] tr[data-system="ART-M777"] td[data-element="4"] span')


def test_graduates_of_a_battalion_stationed_at_rivne_turn_its_guns_crew_element_from_missing_to_present(server, open_as):
    made = setup(server)
    today = dt.date.today()
    recipient = open_as("ukr-logistics")
    expect(crew_element(recipient)).to_have_class("element-missing")

    donor = open_as(made["liaison"])
    donor.goto("/training/courses/offer/")
    donor.get_by_label("Course type").select_option(str(made["gun_crews"]))
    donor.get_by_label("Reference").fill("JOURNEY-GUNS")
    donor.get_by_label("Provider").fill("Journey artillery school")
    donor.get_by_label("Training site").fill("DE-GRAFENWOEHR")
    donor.get_by_label("Starts on").fill((today - dt.timedelta(days=36)).isoformat())
    donor.get_by_label("Ends on").fill((today - dt.timedelta(days=1)).isoformat())
    donor.locator("input[name=seats]").fill("16")
    donor.get_by_role("button", name="Offer the course").click()
    donor.wait_for_url("**/training/courses/*/")
    course_url = donor.url
    donor.get_by_role("link", name="Confirm…").click()
    donor.get_by_role("button", name="Confirm", exact=True).click()
    donor.wait_for_url(course_url)

    gunners = [f"G-J-{number:04d}" for number in range(1, 17)]
    recipient.goto(course_url)
    recipient.get_by_role("link", name="Nominate trainees…").click()
    recipient.get_by_label("Trainees").fill("".join(f"{gunner}, JOURNEY-ARTBN\n" for gunner in gunners))
    recipient.get_by_role("button", name="Nominate", exact=True).click()
    recipient.wait_for_url(course_url)
    expect(recipient.get_by_text("16 trainees nominated.")).to_be_visible()
    expect(crew_element(recipient)).to_have_class("element-missing")  # nominated is not qualified

    donor.goto(course_url)
    for gunner in gunners:
        donor.get_by_label(gunner).check()
    donor.get_by_role("button", name="Record the ticked trainees as graduates").click()
    donor.wait_for_url(course_url)
    expect(donor.get_by_text("16 graduates recorded.")).to_be_visible()

    crews = crew_element(recipient)
    expect(crews).to_have_class("element-present")
    screenshot(recipient, "readiness-rivne-crews-present")
