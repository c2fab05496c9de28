"""The API's documentation pages (Swagger UI, Redoc from drf-spectacular's sidecar) under the
Content-Security-Policy.

Swagger UI needs nothing beyond the request's nonce (templates/duban/api_swagger.html). Redoc is
given the nonce for the <style> elements styled-components inserts (templates/duban/api_redoc.html),
but its bundle's own CSS loader inserts two <style> elements while the bundle loads, before it can
be told the nonce: their hashes are allowed on this page only (a new sidecar's Redoc shows up as a
refusal in tests/test_browser.py, with the new hash in the message). Its search index runs in a
worker made from a blob: URL: worker-src allows that, here only.
"""

from __future__ import annotations

from csp.constants import SELF
from csp.decorators import csp_update
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.negotiation import DefaultContentNegotiation

REDOC_POLICY = {
    "style-src": [
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # an empty <style>
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # the bundle's base CSS
    ],
    "worker-src": [SELF, "blob:"],
}


def swagger_view(url_name: str):
    return SpectacularSwaggerView.as_view(url_name=url_name, template_name="duban/api_swagger.html")


def redoc_view(url_name: str):
    return csp_update(REDOC_POLICY)(SpectacularRedocView.as_view(url_name=url_name,
                                                                 template_name="duban/api_redoc.html"))


class SchemaFormat(DefaultContentNegotiation):
    """``?format=json`` or ``?format=yaml`` picks the schema's renderer (else the Accept header).

    The API as a whole has no such parameter (``URL_FORMAT_OVERRIDE`` is off: routes have their
    own ``format``, the documents' pdf|docx); the schema view keeps the one its readers use."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return super().select_renderer(request, renderers, format_suffix or request.query_params.get("format") or None)


class SchemaView(SpectacularAPIView):
    content_negotiation_class = SchemaFormat
