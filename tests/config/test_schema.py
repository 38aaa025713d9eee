from __future__ import annotations

from typing import Any

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


def test_uploads_are_documented_as_multipart_and_capture_times_as_numbers(api_user: Any) -> None:
    schema = api_user.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path, method in [("/api/songs/", "post"), ("/api/soundtrack/videos/", "post"),
                         ("/api/songs/{id}/lyrics/", "put"), ("/api/consent/challenges/{id}/frames/", "post")]:
        assert list(schema["paths"][path][method]["requestBody"]["content"]) == ["multipart/form-data"], path
    frames = schema["components"]["schemas"]["FramesUploadRequest"]["properties"]["capture_ms"]
    assert frames["type"] == "array" and frames["items"]["type"] == "integer"
    for operation in (schema["paths"]["/api/songs/"]["post"], schema["paths"]["/api/jobs/{id}/"]["get"]):
        assert {"400", "403", "404", "429"} <= set(operation["responses"])
