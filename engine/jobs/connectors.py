"""The calls of service tasks' HTTP connectors (engine.core.connectors), made by the worker.

Each due call is prepared in a short transaction (engine.usecases.connectors), sent here with
no transaction open, and its outcome recorded in another.  Before sending, the host is
resolved and every address checked against the admins' list again (DNS may have changed
since publish), and the request goes to the address that was checked, the URL's host kept
for the Host header and TLS's server name: a name cannot resolve to a public address for
the check and to 169.254.169.254 for the call.  No redirects are followed (a redirect could
lead anywhere), no proxy from the environment is used, the response is read up to
MAX_RESPONSE_BYTES and the call given up after the connector's timeout.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from engine.core.connectors import MAX_RESPONSE_BYTES, address_refusal
from engine.usecases.connectors import CallOutcome, PreparedCall

if TYPE_CHECKING:
    from engine.usecases.service import Service

__all__ = ["BATCH", "resolve", "run_due_calls", "send"]

log = logging.getLogger(__name__)

BATCH = 20  # calls per run: each may take up to its timeout


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
        return CallOutcome(error=f"refused: {refused}", final=True)
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
        return CallOutcome(
            error=f"no answer within {prepared.connector.timeout:g} s (the connector's timeout)",
            millis=_since(started),
        )
    except httpx.HTTPError as exc:
        return CallOutcome(error=f"the call failed: {exc}", millis=_since(started))
    except _TooLarge:
        return CallOutcome(
            error=f"the answer is larger than {MAX_RESPONSE_BYTES:,} bytes", millis=_since(started)
        )
    mimetype = response.headers.get("content-type", "").split(";")[0].strip() or None
    return CallOutcome(
        status=response.status_code,
        body=_parsed(body, mimetype),
        mimetype=mimetype,
        millis=_since(started),
        address=address,
    )


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
