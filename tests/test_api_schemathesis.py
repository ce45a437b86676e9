"""schemathesis, in-process, over every operation of the OpenAPI document, with the tokens of two
organizations: no server errors, and every response matches what the document says."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import factories
from umbrella.core.access import Actor, Marking
from umbrella.orgs.services import issue_token
from umbrella.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def keep_connection():
    """As Django's test client does: requests must not close the test's database connection."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(params=["donor_editor", "coordinator"])
def bearer(request, personas, keep_connection):
    actor = personas[request.param]
    _, secret = issue_token(
        actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="fuzz"
    )
    factories.pledge(personas, marking=Marking.PUBLIC)  # something to find at id 1.. for the generated ids
    factories.requirement_list(personas, requirements=2, marking=Marking.PUBLIC)
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_keeps_its_documented_contract(case, bearer):
    case.call_and_validate(headers=bearer, checks=CHECKS)
