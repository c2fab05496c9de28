"""Local stand-ins of the providers' APIs that the channels of plugins/channels_cn call: real HTTP
servers on 127.0.0.1 (threads of the test process) implementing the part of each API the project
uses, checking every request's signature or token the way the provider documents it, and recording
what arrived. Written from the providers' documentation, not from their SDKs' code:

* Alibaba Cloud SMS, ``SendSms`` (API 2017-05-25) signed with the V3 signature ACS3-HMAC-SHA256
  ("请求体和签名机制 V3"): canonical request = method, canonical URI, canonical query string (names
  and values percent-encoded per RFC 3986, sorted by name), canonical headers (``host``,
  ``content-type`` and every ``x-acs-*`` header, lower-case names, trimmed values, sorted), the
  signed header list and the hex SHA-256 of the body (= ``x-acs-content-sha256``); string to sign
  = ``ACS3-HMAC-SHA256\\n`` + hex SHA-256 of the canonical request; signature = hex
  HMAC-SHA256(AccessKey Secret, string to sign). ``x-acs-date`` within 15 minutes, a
  ``x-acs-signature-nonce`` used once.
* Tencent Cloud SMS, ``SendSms`` (2021-01-11) signed with TC3-HMAC-SHA256 ("签名方法 v3"):
  canonical request with lower-case ``content-type`` and ``host`` headers, string to sign =
  algorithm, timestamp, credential scope ``<date>/sms/tc3_request`` and the hex SHA-256 of the
  canonical request; the key derived as HMAC("TC3"+SecretKey, date) → service → "tc3_request".
  Timestamp within 5 minutes, the scope's date the timestamp's UTC date.
* WeCom: ``GET /cgi-bin/gettoken`` (corpid + corpsecret → access_token, expires_in) and
  ``POST /cgi-bin/message/send?access_token=…`` (touser, msgtype, agentid; invaliduser; the
  duplicate check); 40014 for an unknown token, 42001 for an expired one.
* DingTalk: ``GET /gettoken`` (appkey + appsecret) and
  ``POST /topapi/message/corpconversation/asyncsend_v2?access_token=…`` (agent_id, userid_list, msg).

Each server can be told to fail the next requests (``fail_next``) and to expire every token it
gave out (``expire_tokens``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

from notify_helpers import LocalHTTPServer


def _rfc3986(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


class ProviderServer(LocalHTTPServer):
    """A threaded HTTP server whose handler dispatches to ``self.handle(method, path, query,
    headers, body)`` → (status, JSON object, extra headers)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.fail_next = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server.lock:
                    server.requests.append({"method": method, "path": parts.path, "query": dict(query),
                                            "headers": headers, "body": body, "at": time.time()})
                status, answer, extra = server.handle(method, parts.path, query, headers, body, raw_query=parts.query)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", extra.pop("Content-Type", "application/json"))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def log_message(self, *args):
                pass

        self._listen(Handler)

    def take_failure(self) -> bool:
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return True
            return False

    def handle(self, method, path, query, headers, body, *, raw_query):  # pragma: no cover - overridden
        raise NotImplementedError


# --- Alibaba Cloud SMS ----------------------------------------------------------------------------------
class AliyunSmsServer(ProviderServer):
    """Dysmsapi's SendSms behind the V3 signature. ``accounts``: AccessKey ID → Secret;
    ``templates``: (sign name, template code) pairs the account had approved."""

    def __init__(self, accounts: dict[str, str], templates: set[tuple[str, str]]):
        super().__init__()
        self.accounts, self.templates = accounts, templates
        self.nonces: set[str] = set()
        self.sent: list[dict] = []  # the messages accepted: each a dict of SendSms' parameters
        self.refused: list[str] = []  # why requests were refused (signature, parameters)

    def canonical_request(self, method, path, query, headers, signed: list[str], body: bytes) -> str:
        pairs = sorted((_rfc3986(k), _rfc3986(v)) for k, v in query)
        canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed)
        return "\n".join([method, path or "/", canonical_query, canonical_headers, ";".join(signed),
                          hashlib.sha256(body).hexdigest()])

    def verify(self, method, path, query, headers, body) -> str | None:
        """None when the request is signed as documented, else the error code Alibaba Cloud answers."""
        auth = headers.get("authorization", "")
        algorithm, _sep, rest = auth.partition(" ")
        if algorithm != "ACS3-HMAC-SHA256":
            return "IncompleteSignature"
        fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        key_id, signed, signature = fields.get("Credential"), fields.get("SignedHeaders", ""), fields.get("Signature")
        if key_id not in self.accounts:
            return "InvalidAccessKeyId.NotFound"
        signed_list = signed.split(";")
        must = {"host"} | {name for name in headers if name.startswith("x-acs-")}
        if "content-type" in headers:
            must.add("content-type")
        if sorted(signed_list) != signed_list or not must <= set(signed_list):
            return "IncompleteSignature"
        if headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
            return "IncompleteSignature"
        try:
            stamp = datetime.strptime(headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return "InvalidTimeStamp.Format"
        if abs(time.time() - stamp.timestamp()) > 15 * 60:
            return "InvalidTimeStamp.Expired"
        nonce = headers.get("x-acs-signature-nonce", "")
        with self.lock:
            if not nonce or nonce in self.nonces:
                return "SignatureNonceUsed"
            self.nonces.add(nonce)
        canonical = self.canonical_request(method, path, query, headers, signed_list, body)
        to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
        expected = hmac.new(self.accounts[key_id].encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature or ""):
            return "SignatureDoesNotMatch"
        return None

    def handle(self, method, path, query, headers, body, *, raw_query):
        request_id = secrets.token_hex(8)
        problem = self.verify(method, path, query, headers, body)
        if problem is not None:
            with self.lock:
                self.refused.append(problem)
            return 400, {"Code": problem, "Message": "Specified signature is not matched with our calculation.",
                         "RequestId": request_id}, {}
        if headers.get("x-acs-action") != "SendSms" or headers.get("x-acs-version") != "2017-05-25":
            return 400, {"Code": "InvalidAction.NotFound", "Message": "unknown action", "RequestId": request_id}, {}
        if self.take_failure():
            return 500, {"Code": "InternalError", "Message": "The request processing has failed due to some unknown "
                         "error.", "RequestId": request_id}, {}
        params = dict(query)
        if (params.get("SignName"), params.get("TemplateCode")) not in self.templates:
            return 200, {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "template or sign not approved",
                         "RequestId": request_id}, {}
        if not params.get("PhoneNumbers", "").isdigit():
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "bad number", "RequestId": request_id}, {}
        with self.lock:
            self.sent.append(params)
        return 200, {"Code": "OK", "Message": "OK", "BizId": secrets.token_hex(6), "RequestId": request_id}, {}


# --- Tencent Cloud SMS ------------------------------------------------------------------------------------
class TencentSmsServer(ProviderServer):
    """SendSms 2021-01-11 behind TC3-HMAC-SHA256. ``accounts``: SecretId → SecretKey;
    ``apps``: SdkAppId → (sign name, template id) pairs approved."""

    def __init__(self, accounts: dict[str, str], apps: dict[str, set[tuple[str, str]]]):
        super().__init__()
        self.accounts, self.apps = accounts, apps
        self.sent: list[dict] = []
        self.refused: list[str] = []

    @staticmethod
    def _hmac(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    def verify(self, method, path, raw_query, headers, body) -> str | None:
        auth = headers.get("authorization", "")
        algorithm, _sep, rest = auth.partition(" ")
        if algorithm != "TC3-HMAC-SHA256":
            return "AuthFailure.SignatureFailure"
        fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        credential = fields.get("Credential", "").split("/")
        if len(credential) != 4 or credential[3] != "tc3_request":
            return "AuthFailure.SignatureFailure"
        secret_id, day, service, _terminator = credential
        if secret_id not in self.accounts:
            return "AuthFailure.SecretIdNotFound"
        try:
            stamp = int(headers.get("x-tc-timestamp", ""))
        except ValueError:
            return "AuthFailure.InvalidTimestamp"  # not a documented code; never expected
        if abs(time.time() - stamp) > 300:
            return "AuthFailure.SignatureExpire"
        if day != datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d") or service != "sms":
            return "AuthFailure.SignatureFailure"
        signed = fields.get("SignedHeaders", "").split(";")
        if not {"content-type", "host"} <= set(signed):
            return "AuthFailure.SignatureFailure"
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed)
        canonical = "\n".join([method, path or "/", raw_query if method == "GET" else "", canonical_headers,
                               ";".join(signed), hashlib.sha256(body).hexdigest()])
        scope = f"{day}/{service}/tc3_request"
        to_sign = "\n".join(["TC3-HMAC-SHA256", str(stamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = self._hmac(self._hmac(self._hmac(("TC3" + self.accounts[secret_id]).encode(), day), service),
                         "tc3_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            return "AuthFailure.SignatureFailure"
        return None

    def handle(self, method, path, query, headers, body, *, raw_query):
        request_id = secrets.token_hex(8)

        def error(code, message):
            return 200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}, {}

        problem = self.verify(method, path, raw_query, headers, body)
        if problem is not None:
            with self.lock:
                self.refused.append(problem)
            return error(problem, "The provided credentials could not be validated.")
        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return error("InvalidAction", "unknown action")
        if self.take_failure():
            return error("InternalError.Timeout", "request timed out")
        params = json.loads(body or b"{}")
        if (params.get("SignName"), params.get("TemplateId")) not in self.apps.get(params.get("SmsSdkAppId"), set()):
            return error("FailedOperation.TemplateIncorrectOrUnapproved", "template not approved")
        statuses = []
        for number in params.get("PhoneNumberSet") or []:
            ok = number.startswith("+861") and len(number) == 14
            statuses.append({"SerialNo": secrets.token_hex(8), "PhoneNumber": number, "Fee": 1 if ok else 0,
                             "SessionContext": params.get("SessionContext", ""),
                             "Code": "Ok" if ok else "InvalidParameterValue.IncorrectPhoneNumber",
                             "Message": "send success" if ok else "bad number", "IsoCode": "CN"})
            if ok:
                with self.lock:
                    self.sent.append({**params, "PhoneNumber": number})
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}, {}


# --- WeCom and DingTalk: tokens, then messages ------------------------------------------------------------
class TokenServer(ProviderServer):
    """Access tokens as WeCom and DingTalk hand them out: one per fetch, valid ``expires_in``."""

    token_path = ""
    send_path = ""

    def __init__(self, apps: dict[str, tuple[str, int]], users: set[str], *, expires_in: int = 7200):
        super().__init__()
        self.apps = apps  # app id (corpid / appkey) → (secret, agent id)
        self.users = users
        self.expires_in = expires_in
        self.tokens: dict[str, tuple[str, float]] = {}  # token → (app id, valid until)
        self.issued = 0
        self.sent: list[dict] = []  # messages shown to people
        self.duplicates = 0

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {token: (app, 0.0) for token, (app, _until) in self.tokens.items()}

    def token_of(self, query) -> tuple[str | None, int]:
        """(app id, 0) for a valid token; (None, errcode) otherwise."""
        token = dict(query).get("access_token", "")
        with self.lock:
            found = self.tokens.get(token)
        if found is None:
            return None, 40014
        app, until = found
        if until <= time.time():
            return None, 42001
        return app, 0

    def issue(self, app_id: str, secret: str) -> tuple[int, dict]:
        known = self.apps.get(app_id)
        if known is None or not hmac.compare_digest(known[0], secret):
            return 200, {"errcode": 40001, "errmsg": "invalid credential"}
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = (app_id, time.time() + self.expires_in)
            self.issued += 1
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expires_in}


class WeComServer(TokenServer):
    def __init__(self, apps, users, **kwargs):
        super().__init__(apps, users, **kwargs)
        self.recent: dict[tuple[str, str], float] = {}  # (touser, content) → when first shown

    def handle(self, method, path, query, headers, body, *, raw_query):
        args = dict(query)
        if method == "GET" and path == "/cgi-bin/gettoken":
            status, answer = self.issue(args.get("corpid", ""), args.get("corpsecret", ""))
            return status, answer, {}
        if method == "POST" and path == "/cgi-bin/message/send":
            app, errcode = self.token_of(query)
            if app is None:
                return 200, {"errcode": errcode, "errmsg": "access_token expired" if errcode == 42001 else
                             "invalid access_token"}, {}
            if self.take_failure():
                return 200, {"errcode": -1, "errmsg": "system busy"}, {}
            message = json.loads(body)
            if message.get("agentid") != self.apps[app][1]:
                return 200, {"errcode": 301002, "errmsg": "not allow operate another agent with this accesstoken."}, {}
            wanted = [u for u in str(message.get("touser", "")).split("|") if u]
            invalid = [u for u in wanted if u not in self.users]
            if wanted and len(invalid) == len(wanted):
                return 200, {"errcode": 81013, "errmsg": "user & party & tag all invalid", "invaliduser": "|".join(invalid)}, {}
            content = json.dumps(message.get(message.get("msgtype"), {}), sort_keys=True, ensure_ascii=False)
            for user in wanted:
                if user in invalid:
                    continue
                with self.lock:
                    seen = self.recent.get((user, content))
                    window = message.get("duplicate_check_interval", 1800)
                    if message.get("enable_duplicate_check") and seen is not None and time.time() - seen < window:
                        self.duplicates += 1
                        continue
                    self.recent[(user, content)] = time.time()
                    self.sent.append({"touser": user, **message, "key": headers.get("idempotency-key", "")})
            return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid), "msgid": secrets.token_hex(8)}, {}
        return 404, {"errcode": 404, "errmsg": "not found"}, {}


class DingTalkServer(TokenServer):
    def handle(self, method, path, query, headers, body, *, raw_query):
        args = dict(query)
        if method == "GET" and path == "/gettoken":
            status, answer = self.issue(args.get("appkey", ""), args.get("appsecret", ""))
            return status, answer, {}
        if method == "POST" and path == "/topapi/message/corpconversation/asyncsend_v2":
            app, errcode = self.token_of(query)
            if app is None:
                return 200, {"errcode": errcode, "errmsg": "不合法的access_token" if errcode == 40014 else
                             "access_token超时"}, {}
            if self.take_failure():
                return 200, {"errcode": -1, "errmsg": "系统繁忙"}, {}
            message = json.loads(body)
            if message.get("agent_id") != self.apps[app][1]:
                return 200, {"errcode": 854001, "errmsg": "agent_id mismatch"}, {}
            for user in [u for u in str(message.get("userid_list", "")).split(",") if u]:
                if user in self.users:
                    with self.lock:
                        self.sent.append({"userid": user, **message, "key": headers.get("idempotency-key", "")})
            return 200, {"errcode": 0, "errmsg": "ok", "task_id": secrets.randbelow(10**9),
                         "request_id": secrets.token_hex(8)}, {}
        return 404, {"errcode": 404, "errmsg": "not found"}, {}
