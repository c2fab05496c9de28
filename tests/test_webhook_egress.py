"""Group-robot webhooks cannot be pointed at internal addresses (issue 18 point 3).

The attack: a county admin sets a webhook target to ``http://127.0.0.1:…``, the cloud's metadata
service ``169.254.169.254``, ``[::1]``, a name that resolves to loopback, an IPv4-mapped IPv6
address, or an allowed server that redirects inward; every delivery then POSTs there from the
worker. These tests run with the production defaults (only the WeCom and DingTalk robot hosts,
no private network allowed, HTTPS only) unless they say what the operator allowed, and count what
real local servers received. Addresses we cannot serve (169.254.169.254) are watched through the
sockets' ``connect``: the attempt is recorded and cut off, nothing leaves the machine.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django_tenants.utils import tenant_context

from duban.notifications.models import Delivery, WebhookTarget
from duban.notifications.service import deliver_one
from matter_helpers import PASSWORD, make_cast, to_state

pytestmark = pytest.mark.django_db

# What base.py reads from an empty environment (the production defaults).
PRODUCTION_HOSTS = ["qyapi.weixin.qq.com", "oapi.dingtalk.com"]
METADATA = "169.254.169.254"


class RecordingServer:
    """A real HTTP server on a loopback address that records every request, whatever its method,
    and answers like a robot (``errcode 0``) or with a redirect to ``redirect_to``."""

    def __init__(self, host: str = "127.0.0.1", *, redirect_to: str = "", redirect_status: int = 302):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server.lock:
                    server.requests.append({"method": self.command, "path": self.path, "body": body,
                                            "host": self.headers.get("Host")})
                if redirect_to:
                    self.send_response(redirect_status)
                    self.send_header("Location", redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer = json.dumps({"errcode": 0, "errmsg": "internal secret answer"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_HEAD = _any  # noqa: N815

            def log_message(self, *args):
                pass

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family, "daemon_threads": True})
        self.server = server_class((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def connects(monkeypatch):
    """Every address a socket of this process connects to, in order. Connections to anything but
    loopback are recorded and then refused here: the outside world is never reached."""
    seen: list[tuple] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def outside(address) -> bool:
        return isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "::ffff:127.0.0.1")

    def connect(self, address):
        seen.append(address)
        if outside(address):
            raise OSError(101, "outside world cut off by the test")
        return real_connect(self, address)

    def connect_ex(self, address):
        seen.append(address)
        if outside(address):
            return 101
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return seen


@pytest.fixture
def production(settings):
    """The operator settings as production has them by default."""
    settings.DUBAN_WEBHOOK_ALLOWED_HOSTS = list(PRODUCTION_HOSTS)
    settings.DUBAN_WEBHOOK_HTTP_HOSTS = []
    settings.DUBAN_WEBHOOK_ALLOWED_NETWORKS = []
    settings.DUBAN_WEBHOOK_TIMEOUT = 3
    return settings


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        cast = make_cast()
        cast.lead_clerk.phone = "13800000001"
        cast.lead_clerk.save(update_fields=["phone"])
        yield cast


def webhook_delivery(cast, url: str) -> Delivery:
    """A target stored as it is (as one saved before the guard, or straight in the database), a
    matter assigned to the clerk, and the clerk's webhook delivery."""
    WebhookTarget.objects.create(name="督查群", kind="wecom", url=url)
    matter = to_state(cast, "assigned")
    return Delivery.objects.get(channel="webhook", notification__recipient=cast.lead_clerk,
                                notification__matter=matter)


INTERNAL = [  # (id, host of the listening server or None, URL template)
    ("loopback", "127.0.0.1", "http://127.0.0.1:{port}/cgi-bin/webhook/send?key=x"),
    ("localhost-name", "127.0.0.1", "http://localhost:{port}/cgi-bin/webhook/send?key=x"),
    ("ipv6-loopback", "::1", "http://[::1]:{port}/cgi-bin/webhook/send?key=x"),
    ("ipv4-mapped-ipv6", "127.0.0.1", "http://[::ffff:127.0.0.1]:{port}/cgi-bin/webhook/send?key=x"),
    ("metadata", None, f"http://{METADATA}/latest/meta-data/iam/security-credentials/"),
]


def attempted(connects, port, server_host) -> list:
    if server_host is None:
        return [a for a in connects if isinstance(a, tuple) and a[0] == METADATA]
    return [a for a in connects if isinstance(a, tuple) and a[1] == port]


@pytest.mark.parametrize("server_host, template", [case[1:] for case in INTERNAL], ids=[case[0] for case in INTERNAL])
@pytest.mark.parametrize("operator", ["defaults", "names-allowed"])
def test_a_delivery_to_an_internal_address_is_refused_and_nothing_is_sent(
        cast, production, connects, server_host, template, operator):
    server = RecordingServer(server_host) if server_host else None
    with server or RecordingServer() as listening:
        url = template.format(port=listening.port)
        if operator == "names-allowed":
            # The operator allowed the very host names (even over http) but no private network:
            # the address the name resolves to still decides.
            names = ["localhost", "127.0.0.1", "::1", "::ffff:127.0.0.1", METADATA]
            production.DUBAN_WEBHOOK_ALLOWED_HOSTS = PRODUCTION_HOSTS + names
            production.DUBAN_WEBHOOK_HTTP_HOSTS = names
        delivery = webhook_delivery(cast, url)
        outcome = deliver_one(delivery.pk)
        delivery.refresh_from_db()
        assert listening.requests == []  # nothing reached the internal server…
        assert attempted(connects, listening.port, server_host) == []  # …not even a connection
        assert outcome == "pending" and delivery.status == "pending"
        assert "已拒绝" in delivery.last_error and "地址不允许" in delivery.last_error
        assert "internal secret answer" not in delivery.last_error


@pytest.mark.parametrize("status", [301, 302, 303])
@pytest.mark.parametrize("inward", ["loopback-name", "metadata"])
def test_a_redirect_from_an_allowed_robot_is_not_followed(cast, production, connects, status, inward):
    # The operator allowed an on-premises robot at 127.0.0.1 over http (as the test settings do).
    production.DUBAN_WEBHOOK_ALLOWED_HOSTS = PRODUCTION_HOSTS + ["127.0.0.1"]
    production.DUBAN_WEBHOOK_HTTP_HOSTS = ["127.0.0.1"]
    production.DUBAN_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with RecordingServer() as inside:
        location = (f"http://localhost:{inside.port}/admin/secret" if inward == "loopback-name"
                    else f"http://{METADATA}/latest/meta-data/")
        with RecordingServer(redirect_to=location, redirect_status=status) as robot:
            delivery = webhook_delivery(cast, f"http://127.0.0.1:{robot.port}/cgi-bin/webhook/send?key=x")
            outcome = deliver_one(delivery.pk)
            delivery.refresh_from_db()
            assert [r["method"] for r in robot.requests] == ["POST"]  # the allowed robot got the message…
            assert inside.requests == []  # …and the redirect went nowhere
            assert [a for a in connects if isinstance(a, tuple) and a[0] == METADATA] == []
            assert outcome == "pending"
            assert "已拒绝" in delivery.last_error and "重定向" in delivery.last_error
            assert "localhost" not in delivery.last_error and METADATA not in delivery.last_error


BAD_URLS = [
    "http://127.0.0.1:8080/cgi-bin/webhook/send?key=x",
    f"http://{METADATA}/latest/meta-data/",
    "http://[::1]:8080/robot/send",
    "http://localhost:6379/",
    "http://[::ffff:127.0.0.1]:5432/",
    "https://intranet.example.gov.cn/robot/send",   # a host the operator did not allow
    "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",  # an allowed host, but not over plain http
    "https://user:pass@qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_target_that_is_not_allowed_cannot_be_saved(cast, production, url):
    target = WebhookTarget(name="督查群", kind="wecom", url=url)
    with pytest.raises(ValidationError) as error:
        target.full_clean()
    assert list(error.value.message_dict) == ["url"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in " ".join(error.value.message_dict["url"]))  # said in Chinese


def test_the_robot_hosts_and_what_the_operator_allows_can_be_saved(cast, production):
    for url in ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
                "https://oapi.dingtalk.com/robot/send?access_token=abc"):
        WebhookTarget(name="督查群", kind="wecom", url=url).full_clean()
    production.DUBAN_WEBHOOK_ALLOWED_HOSTS = PRODUCTION_HOSTS + ["robot.intranet.example.gov.cn"]
    production.DUBAN_WEBHOOK_HTTP_HOSTS = ["robot.intranet.example.gov.cn"]
    WebhookTarget(name="内网群", kind="generic", url="http://robot.intranet.example.gov.cn/send").full_clean()


def test_the_county_admin_site_refuses_an_internal_target(cast, production, world):
    client = Client()
    login = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD},
                        HTTP_HOST=world.owner.host)
    assert login.status_code == 302
    response = client.post("/admin/notifications/webhooktarget/add/",
                           {"name": "督查群", "kind": "wecom", "url": f"http://{METADATA}/latest/meta-data/",
                            "secret": "", "is_active": "on"}, HTTP_HOST=world.owner.host)
    assert response.status_code == 200  # the form again, with the error on the address
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["url"]
    assert not WebhookTarget.objects.filter(name="督查群").exists()
