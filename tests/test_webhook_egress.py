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

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import ValidationError
from django.test import Client
from django_tenants.utils import tenant_context
from matter_helpers import PASSWORD, make_cast, to_state

from duban.audit.models import AuditEvent
from duban.notifications.egress import address_allowed, host_listed
from duban.notifications.models import Delivery, WebhookTarget
from duban.notifications.tasks import deliver_one
from duban.settings.env import ConfigError, Env

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

            do_GET = do_POST = do_PUT = do_HEAD = _any

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


# --- how a delivery that is allowed gets there --------------------------------------------------

@pytest.mark.parametrize("address", [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1", "0.0.0.0", "127.8.8.8", "169.254.169.254",
    "224.0.0.1", "239.1.1.1", "240.0.0.1", "255.255.255.255", "198.18.0.1",
    "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff0e::1", "ff02::1",
    "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::1", "2002:a9fe:a9fe::1",
    "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1",
])
def test_addresses_that_are_not_public_are_refused(production, address):
    assert not address_allowed(ipaddress.ip_address(address))


def test_public_addresses_and_the_operators_networks_are_allowed(production):
    for public in ("8.8.8.8", "101.226.0.1", "2400:3200::1", "::ffff:8.8.8.8", "64:ff9b::808:808"):
        assert address_allowed(ipaddress.ip_address(public)), public
    production.DUBAN_WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16", "fd00:20::/32"]
    assert address_allowed(ipaddress.ip_address("10.20.1.5"))
    assert address_allowed(ipaddress.ip_address("::ffff:10.20.1.5"))
    assert address_allowed(ipaddress.ip_address("fd00:20::5"))
    assert not address_allowed(ipaddress.ip_address("10.21.0.1"))
    assert not address_allowed(ipaddress.ip_address("169.254.169.254"))


@pytest.fixture
def dns(monkeypatch):
    """Answers for names of our own choosing (the outside world's DNS we cannot configure): a list
    of answers per name, one per lookup, the last repeated; every other name goes to the real
    resolver. ``dns.lookups`` counts the lookups of our names."""
    real = socket.getaddrinfo
    answers: dict[str, list[list[str]]] = {}
    lookups: list[str] = []

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host not in answers:
            return real(host, port, family, type, proto, flags)
        lookups.append(host)
        queue = answers[host]
        current = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (ip, port, 0, 0) if ":" in ip else (ip, port)) for ip in current]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    getaddrinfo.answers, getaddrinfo.lookups = answers, lookups
    return getaddrinfo


ROBOT = "robot.example.gov.cn"


def test_the_connection_goes_to_the_address_vetted_so_a_rebinding_name_cannot_turn_inward(
        cast, production, connects, dns):
    production.DUBAN_WEBHOOK_ALLOWED_HOSTS = PRODUCTION_HOSTS + [ROBOT]
    production.DUBAN_WEBHOOK_HTTP_HOSTS = [ROBOT]
    production.DUBAN_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the on-premises robot's address
    dns.answers[ROBOT] = [["127.0.0.1"], [METADATA]]  # vetted answer first, then a rebound one
    with RecordingServer() as robot:
        delivery = webhook_delivery(cast, f"http://{ROBOT}:{robot.port}/robot/send?access_token=t")
        assert deliver_one(delivery.pk) == "sent"
        assert dns.lookups == [ROBOT]  # one lookup only…
        assert [a for a in connects if isinstance(a, tuple) and a[0] == METADATA] == []  # …and its answer used
        assert [(r["method"], r["host"]) for r in robot.requests] == [("POST", f"{ROBOT}:{robot.port}")]
        sent = json.loads(robot.requests[0]["body"])
        assert sent["msgid"] == delivery.idempotency_key and sent["text"]["mentioned_mobile_list"] == ["13800000001"]
        assert robot.requests[0]["path"] == "/robot/send?access_token=t"


def test_one_internal_address_among_public_ones_is_enough_to_refuse(cast, production, connects, dns):
    production.DUBAN_WEBHOOK_ALLOWED_HOSTS = PRODUCTION_HOSTS + [ROBOT]
    dns.answers[ROBOT] = [["203.119.0.10", "127.0.0.1"]]
    with RecordingServer() as inside:
        delivery = webhook_delivery(cast, f"https://{ROBOT}:{inside.port}/robot/send")
        assert deliver_one(delivery.pk) == "pending"
        delivery.refresh_from_db()
        assert delivery.last_error.endswith("已拒绝：地址不允许")
        assert inside.requests == []
        assert [a for a in connects if isinstance(a, tuple) and (a[0] == "203.119.0.10" or a[1] == inside.port)] == []


@pytest.fixture
def tls(tmp_path, monkeypatch):
    """A certificate authority of the test's own (trusted through SSL_CERT_FILE, which OpenSSL's
    default paths read) and a function making a server certificate for some names."""
    now = datetime.datetime.now(datetime.UTC)  # clock: allowed — OpenSSL checks validity against the real time
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "duban test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))

    def server_context(*names: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        sans = []
        for name in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False).sign(ca_key, hashes.SHA256()))
        stem = tmp_path / names[0]
        stem.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        stem.with_suffix(".key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                               serialization.PrivateFormat.PKCS8,
                                                               serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(stem.with_suffix(".crt"), stem.with_suffix(".key"))
        context.sni_seen = []
        context.sni_callback = lambda sock, name, ctx: context.sni_seen.append(name)
        return context

    return server_context


def tls_server(context: ssl.SSLContext) -> RecordingServer:
    server = RecordingServer()
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    return server


def test_https_goes_to_the_vetted_address_with_the_hosts_name_and_certificate(cast, production, dns, tls):
    production.DUBAN_WEBHOOK_ALLOWED_HOSTS = PRODUCTION_HOSTS + [ROBOT]
    production.DUBAN_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    dns.answers[ROBOT] = [["127.0.0.1"]]
    context = tls(ROBOT)
    with tls_server(context) as robot:
        delivery = webhook_delivery(cast, f"https://{ROBOT}:{robot.port}/robot/send?access_token=t")
        assert deliver_one(delivery.pk) == "sent"
        assert context.sni_seen == [ROBOT]
        assert [(r["method"], r["host"], r["path"]) for r in robot.requests] == [
            ("POST", f"{ROBOT}:{robot.port}", "/robot/send?access_token=t")]


def test_https_to_a_server_whose_certificate_is_for_another_name_sends_nothing(cast, production, dns, tls):
    production.DUBAN_WEBHOOK_ALLOWED_HOSTS = PRODUCTION_HOSTS + [ROBOT]
    production.DUBAN_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    dns.answers[ROBOT] = [["127.0.0.1"]]
    with tls_server(tls("impostor.example.com", "127.0.0.1")) as robot:
        delivery = webhook_delivery(cast, f"https://{ROBOT}:{robot.port}/robot/send")
        assert deliver_one(delivery.pk) == "pending"
        delivery.refresh_from_db()
        assert "CERTIFICATE_VERIFY_FAILED" in delivery.last_error
        assert robot.requests == []


# --- the operator's settings ----------------------------------------------------------------------

def test_the_settings_are_read_strictly():
    env = Env({"H": "QYAPI.weixin.qq.com., .Example.gov.cn, [::1], 10.0.0.5", "N": "10.20.0.0/16, fd00::1, 10.1.2.3/8"})
    assert env.host_names("H", []) == ["qyapi.weixin.qq.com", ".example.gov.cn", "::1", "10.0.0.5"]
    assert env.networks("N") == ["10.20.0.0/16", "fd00::1/128", "10.0.0.0/8"]
    assert Env({"H": "机器人.政务.cn,.政务.cn"}).host_names("H", []) == ["xn--gmqz0qc7o.xn--zfr164b.cn", ".xn--zfr164b.cn"]
    assert Env({}).host_names("H", ["oapi.dingtalk.com"]) == ["oapi.dingtalk.com"] and Env({}).networks("N") == []
    for bad in ("http://qyapi.weixin.qq.com", "robot_host", "qyapi.weixin.qq.com/path", "-bad.example.com"):
        with pytest.raises(ConfigError, match="^H: "):
            Env({"H": bad}).host_names("H", [])
    for bad in ("10.0.0.0/33", "intranet", "10.0.0.0/8/8"):
        with pytest.raises(ConfigError, match="^N: "):
            Env({"N": bad}).networks("N")


def test_subdomain_entries_and_names_in_chinese():
    assert host_listed("robot.example.gov.cn", [".example.gov.cn"])
    assert host_listed("example.gov.cn", [".example.gov.cn"])
    assert not host_listed("evilexample.gov.cn", [".example.gov.cn"])
    assert not host_listed("example.gov.cn.evil.com", [".example.gov.cn"])
    assert host_listed("[::FFFF:127.0.0.1]", ["::ffff:7f00:1"])
    assert host_listed("机器人.政务.cn", ["xn--gmqz0qc7o.xn--zfr164b.cn"])  # the name's IDNA (ASCII) form
    assert host_listed("机器人.政务.cn", [".政务.cn"]) and host_listed("机器人.政务.cn", [".xn--zfr164b.cn"])


# --- who pointed the robot where ----------------------------------------------------------------

def test_the_county_admin_sites_changes_to_targets_are_audited_without_the_robots_key(cast, production, world):
    client = Client()
    client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD}, HTTP_HOST=world.owner.host)
    form = {"name": "督查群", "kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ROBOTKEY",
            "secret": "", "is_active": "on"}
    assert client.post("/admin/notifications/webhooktarget/add/", form, HTTP_HOST=world.owner.host).status_code == 302
    target = WebhookTarget.objects.get(name="督查群")
    form["url"] = "https://oapi.dingtalk.com/robot/send?access_token=OTHERKEY"
    form["kind"] = "dingtalk"
    changed = client.post(f"/admin/notifications/webhooktarget/{target.pk}/change/", form, HTTP_HOST=world.owner.host)
    assert changed.status_code == 302
    deleted = client.post(f"/admin/notifications/webhooktarget/{target.pk}/delete/", {"post": "yes"},
                          HTTP_HOST=world.owner.host)
    assert deleted.status_code == 302 and not WebhookTarget.objects.filter(pk=target.pk).exists()
    events = list(AuditEvent.objects.filter(object_type="notifications.webhooktarget", object_id=str(target.pk))
                  .order_by("id").values_list("action", "actor_label", "before", "after"))
    assert [(action, actor) for action, actor, _, _ in events] == [
        ("notification.webhook_target.created", "user:admin"),
        ("notification.webhook_target.changed", "user:admin"),
        ("notification.webhook_target.deleted", "user:admin")]
    assert events[1][2]["url"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    assert events[1][3]["url"] == "https://oapi.dingtalk.com/robot/send" and events[1][3]["kind"] == "dingtalk"
    assert "KEY" not in json.dumps(events)
