"""The calls of service tasks' HTTP connectors (engine.core.connectors), made by the worker.

Each due call is prepared in a short transaction (engine.usecases.connectors), sent here with
no transaction open, and its outcome recorded in another.  Before sending, the host is
resolved and every address checked against the admins' list again (DNS may have changed
since publish), and the request goes to the address that was checked, the URL's host kept
for the Host header and TLS's server name: a name cannot resolve to a public address for
the check and to 169.254.169.254 for the call.  No redirects are followed (a redirect could
lead anywhere), no proxy from the environment is used, the response is read up to
MAX_RESPONSE_BYTES and the call given up after the connector's timeout.

Each failure is worded by an entry of engine.core.lint.wording (`say`), so the incident and
the connectors page say it in their reader's language; what the other side said (an error's
text, the start of an error answer's body) is kept inside that wording as it is.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from engine.core.connectors import MAX_RESPONSE_BYTES, Request, address_refusal
from engine.core.lint.wording import Said, say
from engine.usecases.connectors import CallOutcome, PreparedCall

if TYPE_CHECKING:
    from engine.usecases.service import Service

__all__ = ["BATCH", "resolve", "run_due_calls", "send"]

log = logging.getLogger(__name__)

BATCH = 20  # calls per run: each may take up to its timeout
SHOWN_BODY = 200  # characters of an error answer's body kept in the failure


def run_due_calls(service: Service, now: datetime | None = None) -> int:
    """Make the calls that are due; how many were made."""
    made = 0
    for call_id in service.due_connector_calls(now=now, limit=BATCH):
        prepared = service.prepare_connector_call(call_id, now=now)
        if prepared is None:
            continue
        outcome = send(prepared)
        result = service.finish_connector_call(call_id, outcome, now=now)
        log.info("connector call %s to %s: %s", call_id, prepared.request.host, result)
        made += 1
    return made


def resolve(host: str, port: int) -> list[str]:
    """Every address of `host` (an address resolves to itself); empty when it has none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    found: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


def send(prepared: PreparedCall) -> CallOutcome:
    """Make one call; its outcome, never an exception for what the other side does."""
    request = prepared.request
    url = httpx.URL(request.url)
    host = request.host
    addresses = resolve(host, url.port or (443 if url.scheme == "https" else 80))
    refused = address_refusal(host, addresses, prepared.hosts)
    if refused is not None:
        return CallOutcome(error=str(say("call.refused", reason=refused)), final=True)
    address = addresses[0]
    headers = {**request.headers, "Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    started = time.monotonic()
    try:
        with (
            httpx.Client(
                timeout=prepared.connector.timeout, follow_redirects=False, trust_env=False
            ) as client,
            client.stream(
                request.method,
                url.copy_with(host=address),
                headers=headers,
                json=request.json_body if request.json_body is not None else None,
                auth=request.auth,
                extensions=extensions,
            ) as response,
        ):
            body = _read(response)
    except httpx.TimeoutException:
        timeout = f"{prepared.connector.timeout:g}"
        return CallOutcome(error=str(say("call.timeout", seconds=timeout)), millis=_since(started))
    except httpx.HTTPError as exc:
        return CallOutcome(error=str(_transport_failure(exc)), millis=_since(started))
    except _TooLarge:
        too_large = say("call.too_large", limit=f"{MAX_RESPONSE_BYTES:,}")
        return CallOutcome(error=str(too_large), millis=_since(started))
    mimetype = response.headers.get("content-type", "").split(";")[0].strip() or None
    failure = _status_failure(response, body, _carried(request))
    return CallOutcome(
        status=response.status_code,
        body=_parsed(body, mimetype),
        mimetype=mimetype,
        error=str(failure) if failure is not None else None,
        millis=_since(started),
        address=address,
    )


def _transport_failure(exc: httpx.HTTPError) -> Said:
    """Why no answer came: a refused connection in plain words, anything else (a TLS or
    protocol error) in httpx's."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, ConnectionRefusedError):
            return say("call.connection_refused")
        current = current.__cause__ or current.__context__
    return say("call.transport", library=str(exc) or type(exc).__name__)


def _carried(request: Request) -> list[str]:
    """What the request carried that a failure must not show back if the answer echoes it:
    the words of its header values (a secret goes into a header, often after "Bearer")
    and a basic-auth password."""
    words = {w for value in request.headers.values() for w in value.split() if len(w) >= 4}
    if request.auth is not None and request.auth[1]:
        words.add(request.auth[1])
    return sorted(words, key=len, reverse=True)


def _status_failure(response: httpx.Response, body: bytes, hidden: list[str]) -> Said | None:
    """Why an answer that is not a 2xx fails the call: a redirect (never followed), the
    request refused (4xx) or the service failing (5xx), with the start of what it said,
    where anything `hidden` the answer echoes is masked; None for a success (and for 1xx,
    which the use case words itself)."""
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("location", "")[:SHOWN_BODY] or "?"
        return say("call.redirect", status=status, location=location)
    if status < 400:
        return None
    answer = body.decode("utf-8", errors="replace")
    for secret in hidden:
        answer = answer.replace(secret, "••••")
    answer = " ".join(answer.split())
    kind = "call.client_error" if status < 500 else "call.server_error"
    if not answer:
        return say(f"{kind}_bare", status=status)
    return say(kind, status=status, library=answer[:SHOWN_BODY])


class _TooLarge(Exception):
    pass


def _read(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _parsed(body: bytes, mimetype: str | None) -> object:
    text = body.decode("utf-8", errors="replace")
    if (mimetype and ("json" in mimetype)) or text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
