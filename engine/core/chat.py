"""Team-chat robots: what a message to a WeCom (企业微信), Feishu (飞书) or DingTalk (钉钉)
group robot looks like, how each vendor wants it signed, and how each says it refused.

The three custom-robot webhooks take a JSON POST and answer HTTP 200 even when they refuse,
with a code in the body (`errcode` for WeCom and DingTalk, `code` for Feishu): a non-zero code
is a failed delivery, to be tried again like a network error.

- WeCom group robot: `{"msgtype": "markdown", "markdown": {"content"}}` to
  `.../cgi-bin/webhook/send?key=KEY`; no signature (the key in the URL is the secret).
- DingTalk custom robot: `{"msgtype": "markdown", "markdown": {"title", "text"}}`; with a
  signing secret ("SEC..."), `timestamp` (ms) and `sign` are added to the query: the base64 of
  HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"), URL-encoded.  DingTalk refuses a
  timestamp more than an hour off.
- Feishu custom bot: `{"msg_type": "interactive", "card": {...}}`; with a signing secret,
  `timestamp` (s) and `sign` go in the body: the base64 of HMAC-SHA256 keyed by
  f"{timestamp}\\n{secret}" over an empty message.

Pure: the caller gives the time; no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

from engine.core.translations import CHINESE, ENGLISH

__all__ = [
    "CHAT_EVENTS",
    "VENDORS",
    "ChatMessage",
    "ChatRequest",
    "chat_event",
    "chat_request",
    "dingtalk_sign",
    "feishu_sign",
    "refusal",
]

WECOM, FEISHU, DINGTALK = "wecom", "feishu", "dingtalk"
VENDORS = (WECOM, FEISHU, DINGTALK)

# The events a chat can be told, as the e-mail is: each groups the notification kinds it
# covers (engine.core.notices and the features that notify).
CHAT_EVENTS: dict[str, frozenset[str]] = {
    "assigned": frozenset({"reassigned", "handover", "delegated", "sent_back"}),
    "escalated": frozenset({"escalated"}),
    "incident": frozenset({"incident", "incident_retry", "incident_skip", "cancelled", "lost"}),
    "digest": frozenset({"digest"}),
    "initiative": frozenset({"initiative_flagged", "initiative_reminder"}),
}
_EVENT_OF = {kind: event for event, kinds in CHAT_EVENTS.items() for kind in kinds}

TITLES = {
    ENGLISH: {
        "assigned": "Task for you",
        "escalated": "SLA escalation",
        "incident": "Deal needs attention",
        "digest": "Your day",
        "initiative": "Initiative",
        "test": "Test message",
    },
    CHINESE: {
        "assigned": "你有新任务",
        "escalated": "SLA 升级",
        "incident": "商机需要处理",
        "digest": "今日概览",
        "initiative": "优化项目",
        "test": "测试消息",
    },
}
OPEN = {ENGLISH: "Open in salesflow", CHINESE: "在 salesflow 中打开"}
FOR = {ENGLISH: "For {who}", CHINESE: "发给 {who}"}


def chat_event(kind: str) -> str | None:
    """The chat event a notification kind belongs to (None: chats are not told of it)."""
    return _EVENT_OF.get(kind)


@dataclass(frozen=True)
class ChatMessage:
    """What to say: already in the reader's language (`lang`), with a link back."""

    event: str
    text: str
    lang: str = ENGLISH
    link: str | None = None
    recipient: str | None = None  # whose notification it is, on a team's robot


@dataclass(frozen=True)
class ChatRequest:
    """A POST ready to send: the URL (signed where the vendor wants) and the JSON body."""

    url: str
    body: bytes


def chat_request(
    vendor: str, url: str, secret: str | None, msg: ChatMessage, now_ms: int
) -> ChatRequest:
    """The request that posts `msg` to a `vendor` robot at `url`, signed with `secret` (if
    any) at the time `now_ms` (milliseconds since the epoch)."""
    lang = msg.lang if msg.lang in TITLES else ENGLISH
    title = f"salesflow · {TITLES[lang].get(msg.event, msg.event)}"
    lines = [msg.text]
    if msg.recipient:
        lines.insert(0, FOR[lang].format(who=msg.recipient))
    if vendor == FEISHU:
        body: dict[str, Any] = {"msg_type": "interactive", "card": _card(title, lines, msg, lang)}
        if secret:
            stamp = str(now_ms // 1000)
            body.update(timestamp=stamp, sign=feishu_sign(stamp, secret))
        return ChatRequest(url, _json(body))
    markdown = "\n\n".join([f"**{title}**", *(_escape(line) for line in lines)])
    if msg.link:
        markdown += f"\n\n[{OPEN[lang]}]({msg.link})"
    if vendor == WECOM:
        return ChatRequest(url, _json({"msgtype": "markdown", "markdown": {"content": markdown}}))
    if vendor == DINGTALK:
        body = {"msgtype": "markdown", "markdown": {"title": title, "text": markdown}}
        if secret:
            stamp = str(now_ms)
            url = _with_query(url, timestamp=stamp, sign=dingtalk_sign(stamp, secret))
        return ChatRequest(url, _json(body))
    raise ValueError(f"unknown chat vendor {vendor!r}: one of {', '.join(VENDORS)}")


def dingtalk_sign(timestamp: str, secret: str) -> str:
    """DingTalk's signature, before URL-encoding: base64(HMAC-SHA256(secret, ts\\nsecret))."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(timestamp: str, secret: str) -> str:
    """Feishu's signature: base64(HMAC-SHA256(key=ts\\nsecret, msg=b""))."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def refusal(vendor: str, status: int, text: str) -> str | None:
    """Why the robot refused the message (its status or its error code and message), or
    None when it took it."""
    if not 200 <= status < 300:
        return f"HTTP {status}: {text[:200]}"
    try:
        answer = json.loads(text) if text.strip() else {}
    except ValueError:
        return f"not a JSON answer: {text[:200]}"
    if not isinstance(answer, dict):
        return None
    key = "code" if vendor == FEISHU else "errcode"
    code = answer.get(key, answer.get("StatusCode", 0))
    if code in (0, None):
        return None
    message = answer.get("msg") or answer.get("errmsg") or ""
    return f"{key} {code}: {str(message)[:200]}"


def _card(title: str, lines: list[str], msg: ChatMessage, lang: str) -> dict[str, Any]:
    elements: list[dict[str, Any]] = [
        {"tag": "div", "text": {"tag": "lark_md", "content": _escape(line)}} for line in lines
    ]
    if msg.link:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": OPEN[lang]},
                        "url": msg.link,
                        "type": "primary",
                    }
                ],
            }
        )
    return {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": title}, "template": "blue"},
        "elements": elements,
    }


def _escape(text: str) -> str:
    """A notification's text inside markdown: the names people gave may hold markup, which
    must not turn into links or headings in the group."""
    out = text.replace("\\", "\\\\")
    for char in "[]()*_`#<>":
        out = out.replace(char, "\\" + char)
    return out


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    text = urlencode(query)
    extra = "&".join(f"{k}={quote_plus(v)}" for k, v in params.items())
    return urlunsplit(parts._replace(query=f"{text}&{extra}" if text else extra))
