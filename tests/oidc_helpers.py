"""A real OpenID Connect provider for the tests: the `oidc-provider` npm package (tests/oidc/provider.mjs)
run by Node on 127.0.0.1 at a free port, and a user agent that signs in on its pages.

``OidcProvider(clients, users).start()`` → ``.issuer``; ``.stop()``. ``sign_in(url, login, password)``
follows the provider's pages (sign-in form, consent) with ``requests`` and returns the URL the
provider finally redirects to (our callback with ``code`` and ``state``), without following it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "tests" / "oidc" / "provider.mjs"


class OidcProvider:
    def __init__(self, clients: list[dict], users: dict[str, dict], *, conform_id_token_claims: bool = True):
        self.config = {"clients": clients, "users": users, "conformIdTokenClaims": conform_id_token_claims}
        self.process: subprocess.Popen | None = None
        self.issuer = ""
        self.log: list[str] = []

    def start(self) -> OidcProvider:
        node = shutil.which("node")
        assert node, "Node.js is needed for the OpenID Connect provider (apt-get install nodejs)"
        assert (REPO / "node_modules" / "oidc-provider").is_dir(), "run `npm ci` (make static): oidc-provider is missing"
        env = {**os.environ, "OIDC_CONFIG": json.dumps(self.config), "NODE_ENV": "test"}
        self.process = subprocess.Popen([node, str(SCRIPT)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()

        def read():
            for line in self.process.stdout:
                self.log.append(line.rstrip())
                if line.startswith("READY "):
                    self.issuer = line.split(" ", 1)[1].strip()
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30) or not self.issuer:
            self.stop()
            raise RuntimeError("the OpenID Connect provider did not start:\n" + "\n".join(self.log[-40:]))
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tamper(self, mode: str, aud: str = "") -> None:
        """The next token response carries an altered ID token (see provider.mjs)."""
        requests.post(f"{self.issuer}/__test/tamper", json={"mode": mode, "aud": aud}, timeout=10).raise_for_status()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def sign_in(url: str, login: str, password: str, *, agent: requests.Session | None = None,
            issuer: str | None = None) -> str:
    """Open ``url`` (the provider's authorization URL) as a browser would, sign in and consent on the
    provider's pages; return the first redirect that leaves the provider (our callback URL)."""
    agent = agent or requests.Session()
    provider = urlsplit(issuer or url).netloc
    method, data = "GET", None
    for _hop in range(20):
        response = agent.request(method, url, data=data, allow_redirects=False, timeout=15)
        if response.is_redirect:
            target = urljoin(url, response.headers["Location"])
            if urlsplit(target).netloc != provider:
                return target
            method, data, url = "GET", None, target
            continue
        assert response.status_code == 200, (response.status_code, response.text[:500])
        action = FORM_ACTION.search(response.text)
        assert action, f"no form on the provider's page:\n{response.text[:1000]}"
        url = urljoin(url, action.group(1))
        if 'name="login"' in response.text:
            method, data = "POST", {"login": login, "password": password}
        else:  # consent
            method, data = "POST", {}
    raise AssertionError("the provider never sent the browser back")


def confirm_logout(url: str, *, agent: requests.Session) -> str:
    """Open the provider's end-session URL and confirm "sign me out"; return where it sends the browser."""
    response = agent.get(url, allow_redirects=False, timeout=15)
    assert response.status_code == 200, (response.status_code, response.text[:500])
    form = re.search(r'<form id="op.logoutForm" method="post" action="([^"]+)"><input type="hidden" name="xsrf" '
                     r'value="([^"]+)"', response.text)
    assert form, response.text[:1000]
    done = agent.post(urljoin(url, form.group(1)), data={"xsrf": form.group(2), "logout": "yes"},
                      allow_redirects=False, timeout=15)
    assert done.is_redirect, (done.status_code, done.text[:500])
    return urljoin(url, done.headers["Location"])
