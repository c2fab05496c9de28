"""Scaffolding for the browser suite (tests/test_browser.py): a live server the browser reaches on
county hosts, a committed county with its people, matters built through the real actions, and
Debian's Chromium driven by Playwright.

* The server is Django's threaded WSGI server on 127.0.0.1:<free port>, in this process, serving
  the whole middleware stack (``CountyMiddleware`` picks the county from ``Host``, dropping the
  port). Chromium resolves ``*.localhost`` to loopback by itself; we pin it to 127.0.0.1 anyway
  (``--host-resolver-rules``) so that an IPv6-first resolver never tries ``[::1]``.
* Each request runs on its own thread and connection, so the server sees only COMMITTED data:
  everything a journey needs is built with :func:`in_county` (its own thread and connection,
  committed), never inside a test transaction. No ``transactional_db``/``live_server``: their
  flush would empty the public tables (cities, counties, domains) the rest of the suite relies on.
* Playwright's sync API keeps an asyncio loop in the test's thread, where Django refuses ORM
  calls (SynchronousOnlyOperation); :func:`in_county` runs them on a thread of their own.
* The county is dropped again after the module (:func:`drop_county`): other tests count the
  counties beat fans out to, or list a city's counties.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from conftest import REPO
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connections
from django.http import Http404
from sweep_helpers import in_thread

from duban.core import clock

PASSWORD = "Browser-pass-2026"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"

# username → (role, unit code or None, full name)
PEOPLE = {
    "staff": ("supervision_staff", None, "张督办"),
    "leader": ("county_leader", None, "王县长"),
    "office": ("office_leader", None, "李主任"),
    "clerk": ("unit_staff", "D01", "赵科员"),
    "clerk1": ("unit_staff", "T01", "钱干事"),
}


# --- the live server ---------------------------------------------------------------------------
class _StaticThenDjango(StaticFilesHandler):
    """/static/… from the finders (app and project static folders, as `runserver` does); a file
    they do not know (e.g. one only in STATIC_ROOT) goes on to Django and WhiteNoise.

    Each request's database connection is closed when it is answered: the browser keeps its
    HTTP connections (and so the server's request threads) alive between requests, and a
    connection kept for CONN_MAX_AGE would outlive the tests and block dropping the test
    database."""

    def __call__(self, environ, start_response):
        try:
            return super().__call__(environ, start_response)
        finally:
            connections.close_all()

    def get_response(self, request):
        try:
            return self.serve(request)
        except Http404:
            return BaseHandler.get_response(self, request)


class _QuietRequestHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # the server's request log is noise here
        pass


class LiveServer:
    """Django on a free port of 127.0.0.1, serving every host (county hosts included)."""

    def __init__(self):
        self.httpd = ThreadedWSGIServer(("127.0.0.1", 0), _QuietRequestHandler, allow_reuse_address=False)
        self.httpd.set_app(_StaticThenDjango(WSGIHandler()))
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="browser-live-server", daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def url(self, slug: str | None, path: str = "/") -> str:
        from django.conf import settings

        host = f"{slug}.{settings.DUBAN_BASE_DOMAIN}" if slug else settings.DUBAN_BASE_DOMAIN
        return f"http://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


# --- committed data ----------------------------------------------------------------------------
@dataclass
class Site:
    """The county the browser suite works in, and the server that serves it."""

    slug: str
    schema: str
    server: LiveServer
    facts: dict = field(default_factory=dict)  # what the setup built (matter ids, step id…)

    def url(self, path: str = "/") -> str:
        return self.server.url(self.slug, path)

    def run(self, fn):
        """``fn()`` inside this county, on its own thread and connection, committed."""
        return in_county(self.schema, fn)


def in_county(schema: str, fn):
    def work():
        from django_tenants.utils import tenant_context

        from tenants.models import County

        with tenant_context(County.objects.get(schema_name=schema)):
            return fn()

    return in_thread(work, timeout=120)


def build_county(slug: str) -> str:
    """A committed county ``slug`` with units D01/T01, the admin, and one person per role
    (PEOPLE), all with PASSWORD. Returns its schema. Its city is its own (``<slug>city``), so
    that tests listing the counties of conftest's ``testcity`` never see it."""

    def setup():
        from django_tenants.utils import schema_context

        from duban.accounts.actions import do_create_user
        from duban.units.actions import do_create_unit
        from tenants import provisioning

        city = provisioning.create_city(f"{slug}city", "浏览器市", actor="tests").code
        county = provisioning.create_county(slug, "浏览器县", city, actor="tests", admin_username="admin",
                                            admin_password=PASSWORD).county
        with schema_context(county.schema_name):
            units = {"D01": do_create_unit("D01", "县发展和改革局", "department", actor="tests"),
                     "T01": do_create_unit("T01", "城关镇", "township", actor="tests")}
            for username, (role, unit, full_name) in PEOPLE.items():
                do_create_user(username, actor="tests", role=role, password=PASSWORD, full_name=full_name,
                               unit=units[unit] if unit else None)
        return county.schema_name

    return in_thread(setup, timeout=180)


def drop_county(slug: str) -> None:
    """Remove the county ``slug`` (row, host, schema) and its city: the rest of the suite counts
    the counties it fans out to (alpha and beta only)."""

    def drop():
        from django.db import connection

        from tenants.models import City, County

        connection.set_schema_to_public()
        county = County.objects.filter(slug=slug).first()
        if county is not None:
            city = county.city
            county.delete(force_drop=True)
            if not city.counties.exists():
                City.objects.filter(pk=city.pk).delete()

    in_thread(drop, timeout=120)


def people():
    from duban.accounts.models import User

    return {u.username: u for u in User.objects.filter(username__in=[*PEOPLE, "admin"])}


def walk_matter(title: str, state: str, *, deadline_working_days: int = 20, on: date | None = None) -> int:
    """A matter walked through the real actions up to ``state`` (call inside the county);
    ``on`` runs the walk as of that day (``duban.core.clock.as_of``). Returns its id."""
    from contextlib import nullcontext

    from duban.core.clock import as_of
    from duban.matters import actions

    who = people()
    with as_of(on) if on else nullcontext():
        matter = actions.do_propose_matter(
            actor=who["leader"], title=title, content=f"{title}：按县政府部署推进，按期报送办理结果。",
            category="work_report", proposed_units=["D01"])
        walk = [
            ("registered", lambda: actions.do_register_matter(matter.pk, actor=who["staff"])),
            ("approved", lambda: actions.do_approve_matter(matter.pk, actor=who["leader"], comment="同意立项")),
            ("assigned", lambda: actions.do_assign_matter(matter.pk, actor=who["staff"], lead_unit="D01",
                                                          co_units=["T01"], requirements="按期办结，书面报告",
                                                          deadline_working_days=deadline_working_days)),
            ("in_progress", lambda: actions.do_sign_for_receipt(matter.pk, actor=who["clerk"])),
            ("feedback", lambda: actions.do_give_feedback(matter.pk, actor=who["clerk"], kind="written",
                                                          text="已完成方案制定，正在组织实施。")),
            ("reported", lambda: actions.do_report_result(matter.pk, actor=who["clerk"],
                                                          text="已全部完成，验收合格。")),
        ]
        for _name, step in walk:
            matter.refresh_from_db()
            if matter.state == state:
                break
            step()
        matter.refresh_from_db()
    assert matter.state == state, (matter.state, state)
    return matter.pk


def overdue_matter_with_phone_step(title: str) -> dict:
    """A matter assigned ten weeks ago with ten working days (overdue today, whatever today is),
    signed by D01; then the supervision sweep, which opens its phone steps (电话督办): D01's for the
    result and T01's for the part it never reported. Returns D01's."""
    from duban.matters.models import Matter
    from duban.supervision import steps
    from duban.supervision.models import EscalationStep

    matter_id = walk_matter(title, "in_progress", deadline_working_days=10,
                            on=clock.today() - timedelta(days=70))
    opened = steps.sweep(actor="sweep")
    step = EscalationStep.objects.get(matter_id=matter_id, tier="phone", source="sweep", unit__code="D01")
    assert step.status == EscalationStep.Status.DUE and step.pk in [o.step.pk for o in opened]
    matter = Matter.objects.get(pk=matter_id)
    return {"matter_id": matter_id, "number": matter.number, "step_id": step.pk}


# --- the browser -------------------------------------------------------------------------------
def launch_chromium(playwright):
    args = ["--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP localhost 127.0.0.1", "--no-proxy-server"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)


def new_context(browser, *, phone: bool = False):
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  device_scale_factor=2 if phone else 1, is_mobile=phone, has_touch=phone)
    context.set_default_timeout(10_000)
    context.set_default_navigation_timeout(15_000)
    return context


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, site: Site, username: str, password: str = PASSWORD, *, then: str | None = None) -> None:
    """Log in through the login form on the county's host (by the fields' ids, so that it works
    in either language); ``then`` is opened afterwards."""
    from playwright.sync_api import expect

    page.goto(site.url("/login/"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("form[action='/login/'] button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    if then:
        page.goto(site.url(then))
