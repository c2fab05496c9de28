"""Issue 18 point 8: hostile request bodies get the API's JSON error envelope, never a 500 or
an HTML page — and the web pages keep their HTML answers."""

from __future__ import annotations

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
    # A form body over the limit on the API is the same answer.
    form = Client(raise_request_exception=False).post(
        "/api/v1/matters/", {"title": "长" * 2000}, HTTP_HOST=world.owner.host,
        HTTP_AUTHORIZATION=f"Token {world.owner.token}")
    assert form.status_code == 413 and form.json()["error"]["code"] == "too_large"


def test_a_web_page_keeps_an_html_answer_for_a_body_over_the_limit(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = Client(raise_request_exception=False).post(
        "/login/", {"username": "staff", "password": "x" * 4000}, HTTP_HOST=world.owner.host)
    assert response.status_code in (400, 413)
    assert response["Content-Type"].startswith("text/html")
