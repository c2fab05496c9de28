"""Locust users of the steady-load benchmark (bench/load.py, which runs this file headless).

Two kinds of county user, on the real REST API (``Authorization: Token …`` on the county's host
``<slug>.localhost``; tokens issued per user by bench/load.py):

* ``UnitStaff`` (weight 7): a unit's clerk (t01…t05, d01…d05). Reads their open matters, a
  matter's detail, their inbox (and marks a few read), their unit's score statement and the weekly
  reports; writes progress: signs for a matter newly assigned to their unit (签收), else gives
  written feedback (反馈进展) on an in-progress matter their unit has signed for.
* ``SupervisionStaff`` (weight 3): the county's supervision staff (``staff``). Reads the matter
  list with varied filters, details, the no-answer list and due steps, their inbox, scores and
  statements, weekly reports; writes a ladder step (records a step the sweep opened, else a manual
  first-tier step — a phone urging — on a matter under way); now and then registers and assigns a
  new matter end to end: proposes it on behalf of the county leader, registers it, the leader
  (``leader``'s token) approves it, staff assign it to a lead and a co-operating unit — which then
  shows up for that unit's clerks to sign.

Every write is chosen to be valid: the candidate comes from a fresh read, the matter is re-read
(detail) right before the write and the write carries that ``expected_version``; and no two users
of this process act on the same matter at once (``claim``) — so a non-2xx answer is a real
failure, never a stale choice. Users are spread round-robin over the counties (and the clerks over
each county's units).

Configuration comes from the JSON file named by ``DUBAN_LOAD_CONFIG`` (written by bench/load.py);
every request's latency and every failure is written to ``result`` of that file when the test
stops, for bench/load.py to summarise.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

from locust import FastHttpUser, between, events, task

_config_path = os.environ.get("DUBAN_LOAD_CONFIG")
if not _config_path:
    raise SystemExit("bench/locustfile.py is run by bench/load.py (DUBAN_LOAD_CONFIG is not set)")
CONFIG = json.loads(Path(_config_path).read_text())
COUNTIES: list[dict] = CONFIG["counties"]
YEAR: int = CONFIG["year"]
TODAY = date.fromisoformat(CONFIG["today"])
THINK: float = CONFIG["think"]
UNDER_WAY = ["assigned", "in_progress", "redo"]

# --- what this process records ----------------------------------------------------------------
LATENCIES: dict[str, list[float]] = defaultdict(list)
FAILURES: dict[str, int] = defaultdict(int)
MESSAGES: list[str] = []
SKIPPED: dict[str, int] = defaultdict(int)  # a write task that found nothing to do (no request sent)
WINDOW: dict[str, float] = {}


@events.request.add_listener
def _on_request(request_type, name, response_time, response_length=0, exception=None, **kwargs):
    key = f"{request_type} {name}"
    LATENCIES[key].append(response_time)
    if exception is not None:
        FAILURES[key] += 1
        if len(MESSAGES) < 20:
            MESSAGES.append(f"{key}: {exception}")


@events.test_start.add_listener
def _on_test_start(**kwargs):
    WINDOW["started"] = time.time()


@events.test_stop.add_listener
def _on_test_stop(**kwargs):
    WINDOW["stopped"] = time.time()
    _write_result()


@events.quitting.add_listener
def _on_quitting(**kwargs):
    if "stopped" not in WINDOW:
        WINDOW["stopped"] = time.time()
        _write_result()


def _write_result() -> None:
    result = {"started": WINDOW.get("started"), "stopped": WINDOW.get("stopped"),
              "latencies": dict(LATENCIES), "failures": dict(FAILURES), "messages": MESSAGES,
              "skipped": dict(SKIPPED)}
    Path(CONFIG["result"]).write_text(json.dumps(result))


# --- shared between the users of this process (gevent: no preemption between these lines) -----
_UNIT_SEQ = itertools.count()
_STAFF_SEQ = itertools.count()
_CLAIMED: set[tuple[str, int]] = set()


@contextmanager
def claim(slug: str, matter_id: int):
    """Act on a matter only if no other user of this process is acting on it."""
    key = (slug, matter_id)
    if key in _CLAIMED:
        yield False
        return
    _CLAIMED.add(key)
    try:
        yield True
    finally:
        _CLAIMED.discard(key)


def claimable(slug: str, matter_id: int) -> bool:
    return (slug, matter_id) not in _CLAIMED


def evidence_for(tier: dict, who: str, unit: str) -> dict:
    """Evidence for every field a tier of the county's rule pack asks for, by the field's kind."""
    values = {"date": (TODAY + timedelta(days=7)).isoformat(), "datetime": f"{TODAY.isoformat()}T10:00",
              "person": who, "unit": unit, "number": 1, "file": "存档材料（基准测试）"}
    return {field["code"]: values.get(field["kind"], "基准测试：督办记录") for field in tier["evidence"]}


class CountyUser(FastHttpUser):
    abstract = True
    wait_time = between(THINK * 0.5, THINK * 1.5)
    # One connection per user, kept alive; no retries (a failure must show).
    concurrency = 1
    max_retries = 0
    network_timeout = 60.0
    connection_timeout = 60.0

    def headers_for(self, token: str) -> dict:
        return {"Host": self.county["host"], "Authorization": f"Token {token}", "Accept": "application/json"}

    def api(self, method: str, path: str, name: str, *, query: dict | None = None, body: dict | None = None,
            expect: int = 200, headers: dict | None = None):
        """One API call; anything but ``expect`` is a failure (its message names the API's error)."""
        url = f"/api/v1/{path}" + (f"?{urlencode(query, doseq=True)}" if query else "")
        kwargs = {"json": body} if body is not None else {}
        with self.client.request(method, url, name=name, headers=headers or self.headers, catch_response=True,
                                 **kwargs) as response:
            if response.status_code != expect:
                text = (response.text or "")[:300] if response.status_code else ""
                response.failure(f"HTTP {response.status_code} (expected {expect}) {text}".strip())
                return None
            try:
                return response.json()
            except ValueError:
                response.failure("the answer is not JSON")
                return None


    def read_inbox(self):
        """The badge's count, then the unread notifications (what the top bar and inbox show)."""
        self.api("GET", "notifications/unread-count/", "notifications/unread-count/")
        return self.api("GET", "notifications/", "notifications/?unread=true",
                        query={"unread": "true", "page_size": 20})

    @task(1)
    def weekly_reports(self):
        self.api("GET", "weekly-reports/", "weekly-reports/")


class UnitStaff(CountyUser):
    """A unit's clerk."""

    weight = 7

    def on_start(self):
        n = next(_UNIT_SEQ)
        self.county = COUNTIES[n % len(COUNTIES)]
        units = self.county["units"]
        self.unit = units[(n // len(COUNTIES)) % len(units)]
        self.headers = self.headers_for(self.unit["token"])
        self.rows: list[dict] = []

    # reads ------------------------------------------------------------------------------------
    def my_open_matters(self) -> list[dict] | None:
        data = self.api("GET", "matters/", "matters/?state=under-way (unit)",
                        query={"state": UNDER_WAY, "page_size": 50})
        if data is not None:
            self.rows = data["results"]
            return self.rows
        return None

    @task(4)
    def list_my_matters(self):
        self.my_open_matters()

    @task(3)
    def matter_detail(self):
        if not self.rows and not self.my_open_matters():
            return
        row = random.choice(self.rows)
        self.api("GET", f"matters/{row['id']}/", "matters/{id}/ (unit)")

    @task(3)
    def inbox(self):
        data = self.read_inbox()
        if data and data["results"] and random.random() < 0.5:
            self.api("POST", "notifications/mark-read/", "notifications/mark-read/",
                     body={"ids": [n["id"] for n in data["results"][:5]]})

    @task(1)
    def score_statement(self):
        self.api("GET", f"scores/{self.unit['code']}/", "scores/{code}/ (unit)", query={"year": YEAR})

    # writes -----------------------------------------------------------------------------------
    @task(3)
    def progress(self):
        """Sign for a matter new to my unit, else give feedback on one my unit has signed for."""
        rows = self.my_open_matters()
        if rows is None:
            return
        code, slug = self.unit["code"], self.county["slug"]

        def mine(row):
            return next((u for u in row["units"] if u["code"] == code), None)

        to_sign = [r for r in rows if mine(r) and not mine(r)["received_at"]]
        to_feed = [r for r in rows if r["state"] in ("in_progress", "redo") and mine(r) and mine(r)["received_at"]]
        for action, candidates in (("sign", to_sign), ("feedback", to_feed)):
            random.shuffle(candidates)
            for row in candidates:
                if not claimable(slug, row["id"]):
                    continue
                with claim(slug, row["id"]) as ours:
                    if not ours:
                        continue
                    # Re-read: the detail is what the clerk looks at before writing.
                    detail = self.api("GET", f"matters/{row['id']}/", "matters/{id}/ (unit)")
                    if detail is None:
                        return
                    link = mine(detail)
                    if action == "sign" and link and not link["received_at"] and detail["state"] in UNDER_WAY:
                        self.api("POST", f"matters/{row['id']}/sign/", "matters/{id}/sign/",
                                 body={"expected_version": detail["version"]})
                        return
                    if (action == "feedback" and link and link["received_at"]
                            and detail["state"] in ("in_progress", "redo")):
                        self.api("POST", f"matters/{row['id']}/feedback/", "matters/{id}/feedback/", expect=201,
                                 body={"kind": "written", "text": f"本周进展：已推进{random.randint(10, 90)}%。",
                                       "expected_version": detail["version"]})
                        return
        SKIPPED["unit progress: nothing to sign or report on"] += 1


class SupervisionStaff(CountyUser):
    """The county's supervision staff (and, for approvals, the county leader's token)."""

    weight = 3

    def on_start(self):
        n = next(_STAFF_SEQ)
        self.county = COUNTIES[n % len(COUNTIES)]
        self.headers = self.headers_for(self.county["staff"])
        self.leader_headers = self.headers_for(self.county["leader"])
        self.codes = [u["code"] for u in self.county["units"]]
        self.ids: list[int] = []
        pack = self.api("GET", "rulepack/", "rulepack/") or {}
        self.tiers = {t["code"]: t for t in pack.get("tiers", [])}
        self.first_tier = pack["tiers"][0] if pack.get("tiers") else None
        self.categories = [c["code"] for c in pack.get("scope", [])] or ["work_report"]

    # reads ------------------------------------------------------------------------------------
    @task(4)
    def browse_matters(self):
        filters = random.choice([
            {"state": "in_progress"},
            {"state": UNDER_WAY, "unit": random.choice(self.codes)},
            {"category": random.choice(self.categories)},
            {"q": random.choice(["改造", "建设", "基准", "落实"])},
            {"deadline_before": (TODAY + timedelta(days=30)).isoformat(), "state": UNDER_WAY},
            {"year": YEAR},
            {},
        ])
        data = self.api("GET", "matters/", "matters/?filters (staff)", query={**filters, "page_size": 50})
        if data and data["results"]:
            self.ids = [row["id"] for row in data["results"]]

    @task(3)
    def matter_detail(self):
        if not self.ids:
            self.browse_matters()
        if self.ids:
            self.api("GET", f"matters/{random.choice(self.ids)}/", "matters/{id}/ (staff)")

    @task(1)
    def overdue(self):
        self.api("GET", "matters/no-answer/", "matters/no-answer/")
        self.api("GET", "steps/", "steps/?status=due", query={"status": "due", "page_size": 50})

    @task(1)
    def inbox(self):
        self.read_inbox()

    @task(1)
    def scores(self):
        self.api("GET", "scores/", "scores/", query={"year": YEAR})
        self.api("GET", f"scores/{random.choice(self.codes)}/", "scores/{code}/ (staff)", query={"year": YEAR})

    # writes -----------------------------------------------------------------------------------
    @task(2)
    def ladder_step(self):
        """Record a step the sweep opened; if none is open, a manual first-tier step."""
        slug = self.county["slug"]
        due = self.api("GET", "steps/", "steps/?status=due", query={"status": "due", "page_size": 200})
        if due is None or self.first_tier is None:
            return
        blocked = {s["matter"] for s in due["results"]}
        steps = [s for s in due["results"] if s["tier"] in self.tiers]
        random.shuffle(steps)
        for step in steps:
            with claim(slug, step["matter"]) as ours:
                if not ours:
                    continue
                fresh = self.api("GET", f"steps/{step['id']}/", "steps/{id}/")
                if fresh is None:
                    return
                if fresh["status"] != "due":
                    continue
                self.api("POST", f"steps/{step['id']}/record/", "steps/{id}/record/",
                         body={"evidence": evidence_for(self.tiers[step["tier"]], "张督查", step["unit"])})
                return
        rows = self.api("GET", "matters/", "matters/?state=under-way (staff)",
                        query={"state": UNDER_WAY, "page_size": 100})
        if rows is None:
            return
        candidates = [r for r in rows["results"] if r["id"] not in blocked]
        random.shuffle(candidates)
        for row in candidates:
            with claim(slug, row["id"]) as ours:
                if not ours:
                    continue
                detail = self.api("GET", f"matters/{row['id']}/", "matters/{id}/ (staff)")
                if detail is None:
                    return
                if detail["state"] not in UNDER_WAY:
                    continue
                lead = next((u["code"] for u in detail["units"] if u["role"] == "lead"), None)
                self.api("POST", "steps/", "steps/ (manual step)", expect=201, body={
                    "matter": row["id"], "tier": self.first_tier["code"], "reason": "临近办理期限，提醒加快进度",
                    "evidence": evidence_for(self.first_tier, f"{lead}联络员", lead or "")})
                return
        SKIPPED["staff ladder step: no matter free to urge"] += 1

    @task(1)
    def new_matter(self):
        """Propose (for the leader), register, approve (the leader), assign — one new matter."""
        slug = self.county["slug"]
        lead, co = random.sample(self.codes, 2)
        matter = self.api("POST", "matters/", "matters/ (propose)", expect=201, body={
            "title": f"基准事项：{random.choice(['推进', '落实', '整改'])}{random.randint(1, 9999)}号任务",
            "content": "基准测试录入的领导交办事项，按期办结。", "category": random.choice(self.categories),
            "proposed_units": [lead], "requested_deadline": (TODAY + timedelta(days=60)).isoformat(),
            "on_behalf_of": "leader", "source_reference": "bench/load.py"})
        if matter is None:
            return
        with claim(slug, matter["id"]):
            mid = matter["id"]
            step = self.api("POST", f"matters/{mid}/register/", "matters/{id}/register/",
                            body={"expected_version": matter["version"]})
            if step is None:
                return
            step = self.api("POST", f"matters/{mid}/approve/", "matters/{id}/approve/ (leader)",
                            headers=self.leader_headers,
                            body={"comment": "同意立项。", "expected_version": step["version"]})
            if step is None:
                return
            self.api("POST", f"matters/{mid}/assign/", "matters/{id}/assign/", body={
                "lead_unit": lead, "co_units": [co], "requirements": "按期办结，每五个工作日反馈一次进展。",
                "deadline_working_days": 20, "feedback_every_working_days": 5, "expected_version": step["version"]})
