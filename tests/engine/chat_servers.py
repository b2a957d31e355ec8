"""Real HTTP servers on 127.0.0.1 standing in for WeCom, Feishu and DingTalk group robots and
for a webhook receiver, each checking what it receives as the real one does.

The robots follow the vendors' public documentation of custom group robots:
- WeCom (企业微信): POST .../cgi-bin/webhook/send?key=KEY, JSON {"msgtype": "markdown",
  "markdown": {"content"}}; a wrong key answers errcode 93000.
- DingTalk (钉钉): POST /robot/send?access_token=T&timestamp=MS&sign=S, S being the
  URL-encoded base64 of HMAC-SHA256(key=secret, msg="MS\\nsecret"); the timestamp at most
  an hour off; a bad signature answers errcode 310000.
- Feishu (飞书): POST /open-apis/bot/v2/hook/TOKEN, JSON with "timestamp" (s) and "sign": the
  base64 of HMAC-SHA256(key="ts\\nsecret", msg=""), the timestamp within an hour; a bad one
  answers code 19021.
All answer HTTP 200 with the code in the body, as the real ones do.

The webhook receiver checks `X-Salesflow-Signature` against its secret and fails the first
`fail_first` deliveries with HTTP 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOUR_MS = 3600 * 1000


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send_json(handler: BaseHTTPRequestHandler, status: int, answer: Any) -> None:
    """Answer a test server's request with `answer` as JSON."""
    data = json.dumps(answer).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@dataclass
class LocalServer:
    """A server in a thread; `received` lists every request, `accepted` those taken."""

    received: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> LocalServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                got = Received(
                    parts.path, parse_qs(parts.query), dict(self.headers), self.rfile.read(length)
                )
                owner.received.append(got)
                status, answer = owner.answer(got)
                if 200 <= status < 300 and owner.took(answer):
                    owner.accepted.append(got)
                send_json(self, status, answer)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def base(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, got: Received) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def took(self, answer: dict[str, Any]) -> bool:
        return answer.get("errcode", answer.get("code", 0)) == 0


@dataclass
class WeComRobot(LocalServer):
    key: str = "wecom-key-7788"

    @property
    def url(self) -> str:
        return f"{self.base}/cgi-bin/webhook/send?key={self.key}"

    def answer(self, got: Received) -> tuple[int, dict[str, Any]]:
        if got.path != "/cgi-bin/webhook/send" or got.query.get("key") != [self.key]:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        body = got.json()
        content = body.get("markdown", {}).get("content")
        if body.get("msgtype") != "markdown" or not isinstance(content, str) or not content:
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        return 200, {"errcode": 0, "errmsg": "ok"}


@dataclass
class DingTalkRobot(LocalServer):
    token: str = "ding-token-1"
    secret: str = "SECdingtalk-secret-0001"

    @property
    def url(self) -> str:
        return f"{self.base}/robot/send?access_token={self.token}"

    def answer(self, got: Received) -> tuple[int, dict[str, Any]]:
        if got.path != "/robot/send" or got.query.get("access_token") != [self.token]:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        stamp = (got.query.get("timestamp") or [""])[0]
        sign = (got.query.get("sign") or [""])[0]  # parse_qs has URL-decoded it
        if not stamp.isdigit() or abs(time.time() * 1000 - int(stamp)) > HOUR_MS:
            return 200, {"errcode": 310000, "errmsg": "invalid timestamp"}
        digest = hmac.new(
            self.secret.encode(), f"{stamp}\n{self.secret}".encode(), hashlib.sha256
        ).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), sign):
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        body = got.json()
        markdown = body.get("markdown", {})
        if (
            body.get("msgtype") != "markdown"
            or not markdown.get("title")
            or not markdown.get("text")
        ):
            return 200, {"errcode": 40035, "errmsg": "missing parameter"}
        return 200, {"errcode": 0, "errmsg": "ok"}


@dataclass
class FeishuBot(LocalServer):
    token: str = "feishu-hook-42"
    secret: str = "feishu-secret-0002"

    @property
    def url(self) -> str:
        return f"{self.base}/open-apis/bot/v2/hook/{self.token}"

    def answer(self, got: Received) -> tuple[int, dict[str, Any]]:
        if got.path != f"/open-apis/bot/v2/hook/{self.token}":
            return 200, {
                "code": 19001,
                "msg": "param invalid: incoming webhook access token invalid",
            }
        body = got.json()
        stamp = str(body.get("timestamp", ""))
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 3600:
            return 200, {
                "code": 19021,
                "msg": "sign match fail or timestamp is not within one hour",
            }
        digest = hmac.new(f"{stamp}\n{self.secret}".encode(), b"", hashlib.sha256).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), str(body.get("sign", ""))):
            return 200, {
                "code": 19021,
                "msg": "sign match fail or timestamp is not within one hour",
            }
        card = body.get("card", {})
        if body.get("msg_type") != "interactive" or not card.get("elements"):
            return 200, {"code": 9499, "msg": "Bad Request"}
        return 200, {"StatusCode": 0, "StatusMessage": "success", "code": 0, "msg": "success"}


@dataclass
class WebhookReceiver(LocalServer):
    """A system receiving salesflow's webhooks: fails the first `fail_first` deliveries."""

    secret: str = "receiver-secret-0123456789"
    fail_first: int = 0

    @property
    def url(self) -> str:
        return f"{self.base}/hooks/salesflow"

    def answer(self, got: Received) -> tuple[int, dict[str, Any]]:
        expected = "sha256=" + hmac.new(self.secret.encode(), got.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(got.headers.get("X-Salesflow-Signature", ""), expected):
            return 401, {"error": "bad signature"}
        if len(self.received) <= self.fail_first:
            return 500, {"error": "try again later"}
        return 200, {"ok": True}
