"""A database connection lost mid-request: a clean 503 with ``Retry-After``, not a 500 traceback.

Only connection-level failures count (:func:`is_connection_failure`): the session was ended
by the server (``pg_terminate_backend``, a restart or failover: SQLSTATE 57P01–57P03), the
connection broke or could not be made (SQLSTATE class 08, or libpq's own errors, which carry
no SQLSTATE), or Django was handed a connection that is already closed (``InterfaceError``).
Every other database error — a constraint, a deadlock, a lock or statement timeout — is a
bug or a conflict and stays what it was.

Nothing is half-written: every action runs in one transaction, and a transaction whose session
is gone is rolled back by PostgreSQL. The broken connection is closed here, so that whatever
still uses the database in this request (a session save) and the next request on this thread
open a fresh one.

* ``DatabaseUnavailableMiddleware`` (first in ``MIDDLEWARE``, so that it wraps every other
  layer) answers a view's failure itself (``process_exception``) and turns the 500 of a failure
  in another middleware (session or user loading, the county lookup) into the same 503.
* ``api.errors.exception_handler`` answers for DRF views (DRF catches exceptions before Django
  sees them) with :func:`api_body`, in the API's error shape.

Both log the failure at ERROR with its traceback (Sentry's logging integration reports it).
"""

from __future__ import annotations

import contextlib
import logging
import sys

import psycopg
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connections
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = "The database is unavailable; nothing was saved. Try again in a few seconds."
# admin_shutdown (pg_terminate_backend, a fast shutdown), crash_shutdown, cannot_connect_now.
SHUTDOWN_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
_FAILURE_ATTRIBUTE = "_duban_database_unavailable"


def is_connection_failure(exc: BaseException | None) -> bool:
    """True for a lost or unobtainable database connection; False for any other error."""
    if isinstance(exc, (InterfaceError, psycopg.InterfaceError)):
        return True
    if not isinstance(exc, (OperationalError, psycopg.OperationalError)):
        return False
    # Django re-raises the driver's error as its own, ``from`` the original.
    original = exc if isinstance(exc, psycopg.Error) else exc.__cause__
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith("08") or sqlstate in SHUTDOWN_SQLSTATES
    # No SQLSTATE: the server never answered ("server closed the connection unexpectedly",
    # "connection refused", "consuming input failed") — unless the driver raised it about
    # something else on a connection that is still fine.
    return original is None or _driver_connection_lost(original)


def _driver_connection_lost(error) -> bool:
    if not isinstance(error, psycopg.Error):
        return True
    conn = getattr(error, "pgconn", None)
    if conn is None:  # not tied to a live connection: connecting failed, or it is gone
        return True
    return conn.status != psycopg.pq.ConnStatus.OK


def close_broken_connections() -> None:
    """Close every open connection of this thread that no longer answers."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        with contextlib.suppress(Exception):
            if not conn.is_usable():
                conn.close()


def lost_connection(request, exc: BaseException, *, log_level: int = logging.ERROR) -> None:
    """Log the failure (with its traceback) and drop the broken connection."""
    method = getattr(request, "method", "?")
    path = getattr(request, "path", "?")
    logger.log(log_level, "database connection lost during %s %s (answered 503): %s: %s", method, path,
               type(exc).__name__, str(exc).strip(), exc_info=(type(exc), exc, exc.__traceback__))
    close_broken_connections()


def api_body() -> dict:
    """The API's error shape (``api.errors.body``) for this 503."""
    return {"error": {"code": "unavailable", "message": MESSAGE}}


def unavailable_response(request) -> HttpResponse:
    """JSON under /api/, otherwise a short standalone page (it needs no database to render)."""
    if request.path.startswith("/api/"):
        response = JsonResponse(api_body(), status=503)
    else:
        # The page's <style> carries the request's CSP nonce (it cannot count on /static/ now).
        nonce = getattr(request, "csp_nonce", None)  # lazy: str() makes it, and the header then names it
        context = {"retry_after": RETRY_AFTER_SECONDS, "csp_nonce": "" if nonce is None else str(nonce)}
        response = HttpResponse(render_to_string("web/db_unavailable.html", context),
                                status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, _FAILURE_ATTRIBUTE, False):
            # Another middleware failed; Django already logged it (and rendered its 500).
            return unavailable_response(request)
        return response

    def process_exception(self, request, exception):
        if not is_connection_failure(exception):
            return None
        lost_connection(request, exception)
        return unavailable_response(request)


@receiver(got_request_exception, dispatch_uid="duban.core.dbdown.mark_request")
def _mark_request(sender, request=None, **kwargs):
    """An exception outside the view (a middleware's) becomes a 500 before any middleware
    further out sees it; remember that it was the database, for ``__call__`` above."""
    if request is not None and is_connection_failure(sys.exc_info()[1]):
        setattr(request, _FAILURE_ATTRIBUTE, True)
        close_broken_connections()
