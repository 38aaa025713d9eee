from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_openapi_schema_lists_the_apis(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Encore API"
    for path in ("/api/jobs/", "/api/jobs/{id}/", "/api/songs/", "/api/soundtrack/videos/"):
        assert path in schema["paths"], path


@pytest.mark.django_db
def test_api_docs_page_is_served_without_a_cdn(client: Client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "swagger-ui" in body
    assert "cdn.jsdelivr" not in body
