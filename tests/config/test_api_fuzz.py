"""schemathesis against the served OpenAPI schema, as a logged-in user: no 5xx on any input it
generates, and every answer matches the schema (bounded examples per operation)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from config.wsgi import application

pytestmark = pytest.mark.django_db(transaction=True)

schema = schemathesis.from_pytest_fixture("api_schema")


@pytest.fixture
def api_schema(db: None) -> Any:
    client = Client()
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return schemathesis.from_dict(response.json(), app=application, base_url="/")


@pytest.fixture
def session_cookie(db: None) -> dict[str, str]:
    user = User.objects.create_user(username="fuzz", password="a long enough passphrase")
    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF_TOKEN}


# A fixed CSRF secret sent as both the cookie and the header, as the browser pages do.
CSRF_TOKEN = "k" * 32


@schema.parametrize()
@hypothesis_settings(max_examples=10, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                            HealthCheck.function_scoped_fixture])
def test_api(case: Any, session_cookie: dict[str, str]) -> None:
    case.cookies = {**(case.cookies or {}), **session_cookie}
    case.headers = {**(case.headers or {}), "X-CSRFToken": CSRF_TOKEN}
    response = case.call_wsgi()
    case.validate_response(response, checks=(schemathesis.checks.not_a_server_error,
                                              schemathesis.checks.status_code_conformance,
                                              schemathesis.checks.content_type_conformance,
                                              schemathesis.checks.response_schema_conformance))
