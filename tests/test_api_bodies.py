"""Issue 18 point 8: hostile request bodies get the API's JSON error envelope, never a 500 or
an HTML page — and the web pages keep their HTML answers."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def post(world, body: bytes, content_type="application/json"):
    return Client(raise_request_exception=False).post(
        "/api/v1/matters/", body, content_type=content_type, HTTP_HOST=world.owner.host,
        HTTP_AUTHORIZATION=f"Token {world.owner.token}")


def test_deeply_nested_json_is_a_400_with_the_envelope(world):
    depth = 5000
    body = ('{"title": ' + "[" * depth + "]" * depth + "}").encode()
    response = post(world, body)
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"]


def test_malformed_json_is_a_400_with_the_envelope(world):
    response = post(world, b'{"title": "\xff\xfe')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_body_over_the_limit_answers_the_json_envelope(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = post(world, ('{"title": "' + "长" * 2000 + '"}').encode())
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "too_large"
    # A form body is refused for its type before its size is read (issue 24 point 3: JSON only).
    form = Client(raise_request_exception=False).post(
        "/api/v1/matters/", {"title": "长" * 2000}, HTTP_HOST=world.owner.host,
        HTTP_AUTHORIZATION=f"Token {world.owner.token}")
    assert form.status_code == 415 and form.json()["error"]["code"] == "unsupported_media_type"


def test_a_web_page_keeps_an_html_answer_for_a_body_over_the_limit(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = Client(raise_request_exception=False).post(
        "/login/", {"username": "staff", "password": "x" * 4000}, HTTP_HOST=world.owner.host)
    assert response.status_code in (400, 413)
    assert response["Content-Type"].startswith("text/html")


# --- issue 24 point 3: JSON bodies (multipart only where a file is uploaded), 415 otherwise ------------
UPLOADS = {"/api/v1/matters/{id}/attach/", "/api/v1/imports/", "/api/v1/imports/preview/"}


def _schema(world) -> dict:
    response = Client().get("/api/v1/schema/", {"format": "json"}, HTTP_HOST=world.owner.host,
                            HTTP_AUTHORIZATION=f"Token {world.owner.token}")
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_the_schema_offers_json_bodies_and_multipart_only_for_uploads(world):
    """A generator given three media types for one body writes a client that does not work
    (openapi-python-client sends the last one, multipart, with a boundary of its own making):
    each write offers exactly one body, JSON, or multipart where a file is uploaded."""
    spec = _schema(world)
    offered = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                offered[f"{method.upper()} {path}"] = sorted(operation["requestBody"]["content"])
    assert len(offered) >= 30, offered
    wrong = {op: types for op, types in offered.items()
             if types != (["multipart/form-data"] if op.split(" ", 1)[1] in UPLOADS else ["application/json"])}
    assert not wrong, f"request bodies other than JSON (multipart for uploads): {wrong}"
    assert {op.split(" ", 1)[1] for op, types in offered.items() if types == ["multipart/form-data"]} == UPLOADS


@pytest.mark.parametrize("content_type, body", [
    ("application/x-www-form-urlencoded", "title=x&content=y&category=work_report"),
    ("multipart/form-data; boundary=BoUnDaRy",
     '--BoUnDaRy\r\nContent-Disposition: form-data; name="title"\r\n\r\nx\r\n--BoUnDaRy--\r\n'),
    ("text/plain", "title=x"),
    ("application/xml", "<matter/>"),
])
def test_a_write_in_another_media_type_is_a_415_in_chinese(world, content_type, body):
    response = post(world, body.encode(), content_type=content_type)
    assert response.status_code == 415, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "application/json" in error["message"] and re.search(r"[\u4e00-\u9fff]", error["message"]), error


def test_an_upload_takes_multipart_only(world):
    """attach/ takes a file: a JSON (or urlencoded) body there is a 415 naming multipart/form-data."""
    from django_tenants.utils import tenant_context
    from matter_helpers import make_cast, to_state

    with tenant_context(world.alpha):
        matter = to_state(make_cast(), "in_progress")
    for content_type, body in (("application/json", b'{"file": "x"}'),
                               ("application/x-www-form-urlencoded", b"file=x")):
        response = Client(raise_request_exception=False).post(
            f"/api/v1/matters/{matter.pk}/attach/", body, content_type=content_type, HTTP_HOST=world.owner.host,
            HTTP_AUTHORIZATION=f"Token {world.colleague.token}")  # the lead unit's clerk
        assert response.status_code == 415, response.content[:300]
        assert "multipart/form-data" in response.json()["error"]["message"]


def test_an_empty_post_needs_no_content_type(world):
    """An action whose input is all optional (mark-read) may be called with no body at all, as
    clients do, whatever Content-Type they send with it."""
    for content_type in ("", "application/octet-stream", "application/json"):
        response = Client(raise_request_exception=False).generic(
            "POST", "/api/v1/notifications/mark-read/", b"", content_type=content_type, HTTP_HOST=world.owner.host,
            HTTP_AUTHORIZATION=f"Token {world.owner.token}")
        assert response.status_code == 200, (content_type, response.content[:300])
        assert response.json() == {"marked": 0}
