"""HTTP connectors of service tasks (issue 18): what a service task asks of an outside
service, read from the BPMN, and the pure steps around the call the worker makes.

A service task with a connector does not call anything inside the engine's step: its task
waits (STARTED, like a task nobody can complete by hand) and the worker (engine.jobs.connectors)
makes the call outside any transaction, then completes the task with the response mapped into
the deal's data, or retries, or opens an incident.  So a slow or dead service never holds a
deal's lock, a web request or the database's write lock.

Three ways to write a connector, all read into one `Connector`:
- ours, kept in the BPMN so that it survives export (the designer's side panel edits it):

      <salesflow:connector method="POST" url="https://crm.example.com/leads/{{lead_id}}"
                           timeout="10" retries="2" retryDelay="PT30S">
        <salesflow:header name="Authorization" value="Bearer {{secret:crm_token}}"/>
        <salesflow:field name="company" expression="company"/>        (the JSON body)
        <salesflow:result name="crm_id" path="body.id"/>               (into the deal's data)
      </salesflow:connector>

  `{{...}}` in the URL and the headers is an expression of the safe language on the deal's
  data (URL-encoded in the URL), or `secret:NAME`, a secret an admin stored (headers only);
- spiff-arena's HTTP operators (`spiffworkflow:serviceTaskOperator id="http/GetRequestV2"`,
  parameters url, headers, params, data/json, basic_auth_username/_password), the whole
  response landing in the operator's resultVariable as spiff-arena's connector puts it;
- Camunda's `camunda:connector` with connectorId `http-connector` (inputs url, method, headers,
  payload; plain values or simple JUEL through engine.core.juel; outputs of `response` or
  `statusCode`), with `camunda:failedJobRetryTimeCycle` ("R3/PT10S") as its retries.

Only hosts an admin allowed are called, and an allowed name that resolves to a loopback,
private, link-local (169.254.169.254, the clouds' metadata service) or otherwise non-public
address is refused unless its entry says it may reach internal addresses (`address_refusal`):
checked at publish by engine.core.lint for URLs whose host is written out, and again before
every call, on the addresses the call then connects to.

Pure: no I/O, no database, no clock.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from engine.core import juel
from engine.core.expressions import SafeEnvironment, check_expression
from engine.errors import DefinitionError, ExpressionError

__all__ = [
    "MAX_RESPONSE_BYTES",
    "SALESFLOW",
    "Connector",
    "ConnectorError",
    "ConnectorParser",
    "ConnectorTask",
    "Reachable",
    "Request",
    "address_refusal",
    "build_operator_request",
    "build_request",
    "connector_of",
    "map_response",
    "operator_connector",
    "read_connector",
    "retry_delay",
    "static_host",
    "template_expressions",
]

SALESFLOW = "http://salesflow.org/bpmn/schema/1.0/connector"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# spiff-arena's connector-http operators, by the method each sends.
SPIFF_HTTP = {
    f"http/{verb.capitalize()}Request{suffix}": verb for verb in METHODS for suffix in ("", "V2")
}
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 60.0
DEFAULT_RETRIES = 2
MAX_RETRIES = 10
DEFAULT_DELAY = 30.0  # seconds before the first retry; doubled for each further one
MAX_DELAY = 6 * 3600.0
# The most of a response read (and kept in the deal's data): larger ones fail the call.
MAX_RESPONSE_BYTES = 1_000_000
MAX_URL = 2000

_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.S)
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_CYCLE = re.compile(r"^R(\d+)/(P.+)$")
_ENVIRONMENT = SafeEnvironment()


class ConnectorError(ExpressionError):
    """A connector could not be prepared or its response not used: the call fails (retried,
    then an incident naming the element).  Its text is an entry of engine.core.lint.wording
    (`say`), so the incident page words it in its reader's language."""


@dataclass(frozen=True)
class Connector:
    """One HTTP request of a service task and what becomes of its response."""

    method: str
    url: str  # a template ({{expr}}), or an expression when url_expression
    headers: tuple[tuple[str, str], ...] = ()  # name -> template
    body: tuple[tuple[str, str], ...] = ()  # JSON field -> expression
    results: tuple[tuple[str, str], ...] = ()  # data name -> path in the response
    result_variable: str | None = None  # the whole response, as spiff-arena keeps it
    url_expression: bool = False
    headers_expression: str | None = None  # spiff: an expression giving a dict
    params_expression: str | None = None  # spiff: query parameters
    body_expression: str | None = None  # spiff/camunda: the whole body
    auth: tuple[str, str] | None = None  # spiff: basic auth (expressions)
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    delay: float = DEFAULT_DELAY
    backoff: bool = True  # double the delay at each retry (Camunda's cycles do not)
    source: str = "salesflow"  # salesflow, spiff, camunda, operator
    # spiff-arena's other operators (slack/PostMessage, ...): the HTTP request an admin
    # mapped the operator to (`operator_connector`), its parameters evaluated on the deal
    operator: str | None = None
    params: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, dct: Mapping[str, Any]) -> Connector:
        values = dict(dct)
        for name in ("headers", "body", "results", "params"):
            values[name] = tuple(tuple(pair) for pair in values.get(name, ()))
        if values.get("auth") is not None:
            values["auth"] = tuple(values["auth"])
        return cls(**values)


class Reachable(dict[str, bool]):
    """What the admins set up, as the designer's Check reads it: host -> internal addresses
    allowed, and the names of the spiff-arena operators mapped to HTTP requests."""

    def __init__(self, hosts: Mapping[str, bool], operators: Iterable[str] = ()) -> None:
        super().__init__(hosts)
        self.operators = frozenset(operators)


@dataclass(frozen=True)
class Request:
    """A request ready to send (secrets filled in: never stored, never shown)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json_body: Any = None
    auth: tuple[str, str] | None = None

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()


# --- reading the XML ---------------------------------------------------------------------


def read_connector(element: etree._Element) -> Connector | None:
    """The connector of a service task, None when it has none salesflow can run; a
    ValueError says what is wrong with one that is there but broken."""
    ext = element.find(f"{{{MODEL}}}extensionElements")
    if ext is None:
        return None
    ours = ext.find(f"{{{SALESFLOW}}}connector")
    if ours is not None:
        return _ours(ours)
    spiff = ext.find(f"{{{SPIFF}}}serviceTaskOperator")
    if spiff is not None and spiff.get("id") in SPIFF_HTTP:
        return _spiff(spiff)
    if spiff is not None and (spiff.get("id") or "").strip():
        return _operator(spiff)
    camunda = ext.find(f"{{{CAMUNDA}}}connector")
    if camunda is not None:
        return _camunda(camunda, element)
    return None


def _number(text: str | None, default: float, low: float, high: float, what: str) -> float:
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(_words("connector.not_number", attribute=what, text=text)) from None
    if not low <= value <= high:
        raise ValueError(
            _words(
                "connector.out_of_range",
                attribute=what,
                low=f"{low:g}",
                high=f"{high:g}",
                value=f"{value:g}",
            )
        )
    return value


def duration_seconds(text: str) -> float:
    """An ISO 8601 duration of days, hours, minutes and seconds ("PT30S")."""
    match = _DURATION.match(text.strip())
    if match is None or text.strip() in ("P", "PT"):
        raise ValueError(_words("connector.not_duration", text=text))
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def _ours(node: etree._Element) -> Connector:
    method = (node.get("method") or "GET").strip().upper()
    if method not in METHODS:
        raise ValueError(_words("connector.method", method=method, methods=", ".join(METHODS)))
    url = (node.get("url") or "").strip()
    delay_text = node.get("retryDelay")
    delay = duration_seconds(delay_text) if delay_text else DEFAULT_DELAY
    return Connector(
        method=method,
        url=url,
        headers=_pairs(node, "header", "value"),
        body=_pairs(node, "field", "expression"),
        results=_pairs(node, "result", "path"),
        timeout=_number(node.get("timeout"), DEFAULT_TIMEOUT, 0.1, MAX_TIMEOUT, "timeout"),
        retries=int(_number(node.get("retries"), DEFAULT_RETRIES, 0, MAX_RETRIES, "retries")),
        delay=min(delay, MAX_DELAY),
    )


def _pairs(node: etree._Element, tag: str, value: str) -> tuple[tuple[str, str], ...]:
    found = []
    for child in node.iterfind(f"{{{SALESFLOW}}}{tag}"):
        name = (child.get("name") or "").strip()
        if not name:
            raise ValueError(_words("connector.unnamed", tag=tag))
        found.append((name, child.get(value) or ""))
    return tuple(found)


def _spiff(node: etree._Element) -> Connector:
    params = {
        p.get("id"): (p.get("value") or "").strip()
        for p in node.iterfind(f"{{{SPIFF}}}parameters/{{{SPIFF}}}parameter")
    }
    user, password = params.get("basic_auth_username"), params.get("basic_auth_password")
    retries = params.get("attempts") or ""
    return Connector(
        method=SPIFF_HTTP[node.get("id", "")],
        url=params.get("url") or "",
        url_expression=True,
        headers_expression=params.get("headers") or None,
        params_expression=params.get("params") or None,
        body_expression=params.get("data") or params.get("json") or None,
        auth=(user, password) if user and password else None,
        result_variable=node.get("resultVariable") or None,
        # spiff-arena's `attempts` counts the first call; a plain number only.
        retries=max(0, int(retries) - 1) if retries.isdigit() else DEFAULT_RETRIES,
        source="spiff",
    )


def _operator(node: etree._Element) -> Connector:
    """A spiff-arena operator salesflow does not know itself: it runs as the HTTP request an
    admin mapped its name to (engine.usecases.connectors), on its parameters' values."""
    params = tuple(
        (p.get("id", ""), (p.get("value") or "").strip())
        for p in node.iterfind(f"{{{SPIFF}}}parameters/{{{SPIFF}}}parameter")
        if p.get("id") and (p.get("value") or "").strip()
    )
    return Connector(
        method="",
        url="",
        result_variable=node.get("resultVariable") or None,
        source="operator",
        operator=(node.get("id") or "").strip(),
        params=params,
    )


def operator_connector(
    method: str, url: str, headers: str, fields: str, results: str, timeout: str, retries: str
) -> Connector:
    """The HTTP request an admin maps an operator to, from the lines of the connectors page
    (headers "Name: value", fields and results "name = expression|path"); its templates and
    expressions read the operator's parameters.  ValueError says what is wrong."""
    method = method.strip().upper() or "POST"
    if method not in METHODS:
        raise ValueError(_words("connector.method", method=method, methods=", ".join(METHODS)))
    connector = Connector(
        method=method,
        url=url.strip(),
        headers=_lines(headers, ":"),
        body=_lines(fields, "="),
        results=_lines(results, "="),
        timeout=_number(timeout, DEFAULT_TIMEOUT, 0.1, MAX_TIMEOUT, "timeout"),
        retries=int(_number(retries, DEFAULT_RETRIES, 0, MAX_RETRIES, "retries")),
    )
    problem = url_problem(connector)
    if problem is not None:
        raise ValueError(problem)
    for where, expression in template_expressions(connector):
        try:
            check_expression(expression)
        except (ExpressionError, DefinitionError) as exc:  # unsafe, or not Python at all
            raise ValueError(
                _words("connector.expression_refused", part=where, detail=str(exc))
            ) from None
    return connector


def _lines(text: str, sign: str) -> tuple[tuple[str, str], ...]:
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        name, found_sign, value = line.partition(sign)
        if not found_sign or not name.strip():
            raise ValueError(_words("connector.line", line=line.strip()[:60], sign=sign))
        found.append((name.strip(), value.strip()))
    return tuple(found)


def _camunda(node: etree._Element, task: etree._Element) -> Connector:
    ident = (node.findtext(f"{{{CAMUNDA}}}connectorId") or "").strip()
    if ident != "http-connector":
        raise ValueError(_words("connector.camunda_kind", ident=ident))
    io = node.find(f"{{{CAMUNDA}}}inputOutput")
    inputs: dict[str, etree._Element] = {}
    outputs: list[tuple[str, str]] = []
    if io is not None:
        inputs = {p.get("name", ""): p for p in io.iterfind(f"{{{CAMUNDA}}}inputParameter")}
        for p in io.iterfind(f"{{{CAMUNDA}}}outputParameter"):
            outputs.append((p.get("name", ""), _camunda_output(p)))
    url = _camunda_text(inputs.get("url"))
    method = _camunda_text(inputs.get("method")).upper() or "GET"
    if method not in METHODS:
        raise ValueError(_words("connector.method", method=method, methods=", ".join(METHODS)))
    headers: list[tuple[str, str]] = []
    header_map = inputs.get("headers")
    if header_map is not None:
        for entry in header_map.iterfind(f"{{{CAMUNDA}}}map/{{{CAMUNDA}}}entry"):
            headers.append((entry.get("key", ""), _template_of(entry.text or "")))
    payload = inputs.get("payload")
    retries, delay = DEFAULT_RETRIES, DEFAULT_DELAY
    cycle = task.findtext(f"{{{MODEL}}}extensionElements/{{{CAMUNDA}}}failedJobRetryTimeCycle")
    backoff = True
    if cycle and cycle.strip():
        match = _CYCLE.match(cycle.strip())
        if match is None:
            raise ValueError(_words("connector.retry_cycle", cycle=cycle.strip()))
        retries = min(int(match.group(1)), MAX_RETRIES)
        delay, backoff = min(duration_seconds(match.group(2)), MAX_DELAY), False
    return Connector(
        method=method,
        url=_template_of(url),
        headers=tuple(headers),
        body_expression=_juel_expression(payload.text or "") if payload is not None else None,
        results=tuple(outputs),
        retries=retries,
        delay=delay,
        backoff=backoff,
        source="camunda",
    )


def _camunda_text(param: etree._Element | None) -> str:
    return (param.text or "").strip() if param is not None else ""


def _template_of(text: str) -> str:
    """A Camunda value (`${expr}` inside text) as our template (`{{expr}}`)."""

    def one(match: re.Match[str]) -> str:
        return "{{" + _juel(match.group(0)) + "}}"

    return re.sub(r"\$\{[^}]*\}", one, text)


def _juel_expression(text: str) -> str:
    text = text.strip()
    if text.startswith(("${", "#{")):
        return _juel(text)
    return json.dumps(text)  # a literal payload, sent as it is written


def _juel(text: str) -> str:
    try:
        return juel.translate_condition(text)
    except juel.NotTranslatable as exc:
        raise ValueError(_words("connector.juel", text=text, part=exc.part)) from None


def _camunda_output(param: etree._Element) -> str:
    text = (param.text or "").strip()
    inner = text[2:-1].strip() if text.startswith("${") and text.endswith("}") else text
    if inner == "statusCode":
        return "status"
    if inner == "response":
        return "body"
    match = re.fullmatch(r"S\(response\)\.prop\(\"(\w+)\"\)(?:\.\w+\(\))?", inner)
    if match:
        return f"body.{match.group(1)}"
    raise ValueError(_words("connector.output", text=text))


def static_host(connector: Connector) -> str | None:
    """The host the connector calls when its URL writes it out (checked at publish); None
    when an expression gives it."""
    url: str | None = connector.url
    if connector.url_expression:
        url = _literal(connector.url)
    if not url:
        return None
    parts = urlsplit(url)
    if "{{" in parts.netloc or not parts.hostname:
        return None
    return parts.hostname.lower()


def _literal(expression: str) -> str | None:
    try:
        value = json.loads(expression.replace("'", '"')) if expression else None
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def url_problem(connector: Connector) -> str | None:
    """What is wrong with a URL written out: not http(s), no host."""
    if connector.source == "operator":
        return None  # the admins' mapping has the URL
    if connector.url_expression:
        if not connector.url:
            return _words("connector.no_url")
        return None
    if not connector.url:
        return _words("connector.no_url")
    head = connector.url.split("{{", 1)[0]
    parts = urlsplit(head)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return _words("connector.url_scheme", url=connector.url[:120])
    return None


def template_expressions(connector: Connector) -> list[tuple[str, str]]:
    """Every expression of the connector, (where, expression), to check at publish."""
    found: list[tuple[str, str]] = []
    if connector.url_expression:
        found.append(("url", connector.url))
    else:
        found.extend(("url", e) for e in _placeholders(connector.url))
    for name, value in connector.headers:
        found.extend((f"header {name}", e) for e in _placeholders(value))
    found.extend((f"field {name}", e) for name, e in connector.body)
    for where, text in (
        ("headers", connector.headers_expression),
        ("params", connector.params_expression),
        ("body", connector.body_expression),
    ):
        if text:
            found.append((where, text))
    if connector.auth is not None:
        found.extend(("basic auth", e) for e in connector.auth)
    found.extend((f"parameter {name}", e) for name, e in connector.params)
    return found


def _placeholders(template: str) -> list[str]:
    return [
        m.group(1).strip()
        for m in _TEMPLATE.finditer(template)
        if not m.group(1).strip().startswith("secret:")
    ]


# --- the call ----------------------------------------------------------------------------


def _words(key: str, /, **args: str | int | BaseException) -> str:
    """The English of the wording entry `key` (engine.core.lint.wording), a Python error
    worded by engine.core.failure_words.  Imported here, not at the top: engine.core.lint
    reads this module's `Reachable`."""
    from engine.core.failure_words import python_said
    from engine.core.lint.wording import say

    return str(
        say(
            key,
            **{n: python_said(v) if isinstance(v, BaseException) else v for n, v in args.items()},
        )
    )


def _evaluate(expression: str, data: Mapping[str, Any], where: str) -> Any:
    try:
        return _ENVIRONMENT.evaluate(expression, dict(data))
    except Exception as exc:  # the safe language's own errors, and a name the data lacks
        raise ConnectorError(
            _words("call.expression_failed", what=where, expression=expression[:80], reason=exc)
        ) from exc


def _fill(
    template: str,
    data: Mapping[str, Any],
    secrets: Mapping[str, str],
    where: str,
    *,
    encode: bool,
) -> str:
    def one(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        if inner.startswith("secret:"):
            if encode:
                raise ConnectorError(_words("call.secret_in_url", what=where))
            name = inner.removeprefix("secret:").strip()
            if name not in secrets:
                raise ConnectorError(_words("call.secret_missing", what=where, name=name))
            return secrets[name]
        value = _evaluate(inner, data, where)
        if not encode:
            value = _secret_text(value, secrets)
        text = value if isinstance(value, str) else json.dumps(value)
        return quote(text, safe="") if encode else text

    return _TEMPLATE.sub(one, template)


def _secret_text(value: Any, secrets: Mapping[str, str]) -> Any:
    """spiff-arena writes a secret as the text 'secret:NAME' in a parameter."""
    if isinstance(value, str) and value.startswith("secret:"):
        name = value.removeprefix("secret:")
        if name not in secrets:
            raise ConnectorError(_words("call.secret_not_stored", name=name))
        return secrets[name]
    return value


def build_operator_request(
    connector: Connector,
    mapped: Connector,
    data: Mapping[str, Any],
    secrets: Mapping[str, str],
) -> Request:
    """The request of a spiff-arena operator: its parameters evaluated on the deal's data,
    then the admins' `mapped` request built on them (a parameter 'secret:NAME' is the
    secret, in a header)."""
    values = {name: _evaluate(e, data, f"parameter {name}") for name, e in connector.params}
    return build_request(mapped, values, secrets)


def build_request(
    connector: Connector, data: Mapping[str, Any], secrets: Mapping[str, str]
) -> Request:
    """The request for a deal's data; ConnectorError when an expression fails or a secret
    is missing.  Header values carry no line breaks (no header injection)."""
    if connector.url_expression:
        url = _evaluate(connector.url, data, "URL")
        if not isinstance(url, str):
            raise ConnectorError(_words("call.url_not_text", type=type(url).__name__))
    else:
        url = _fill(connector.url, data, secrets, "URL", encode=True)
    if connector.params_expression:
        params = _evaluate(connector.params_expression, data, "params")
        if isinstance(params, dict) and params:
            url += ("&" if "?" in url else "?") + urlencode(
                {str(k): str(v) for k, v in params.items()}
            )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL:
        raise ConnectorError(_words("call.url_invalid", url=url[:120], limit=MAX_URL))
    headers: dict[str, str] = {}
    if connector.headers_expression:
        given = _evaluate(connector.headers_expression, data, "headers")
        if isinstance(given, dict):
            headers.update({str(k): str(_secret_text(v, secrets)) for k, v in given.items()})
    for name, template in connector.headers:
        headers[name] = _fill(template, data, secrets, f"header {name}", encode=False)
    for name, value in headers.items():
        if any(c in name + value for c in "\r\n\0"):
            raise ConnectorError(_words("call.header_line_break", name=name))
    body: Any = None
    if connector.body:
        body = {name: _evaluate(expr, data, f"field {name}") for name, expr in connector.body}
    elif connector.body_expression:
        body = _evaluate(connector.body_expression, data, "body")
    auth = None
    if connector.auth is not None:
        user, password = (
            _secret_text(_evaluate(e, data, "basic auth"), secrets) for e in connector.auth
        )
        auth = (str(user), str(password))
    return Request(connector.method, url, headers, body, auth)


def map_response(
    connector: Connector, status: int, body: Any, mimetype: str | None
) -> dict[str, Any]:
    """What the response sets in the deal's data; ConnectorError when a mapped path is not
    in it (or goes into an answer that is not JSON).  `body` is the parsed JSON, else the
    text."""
    response = {"status": status, "body": body}
    found: dict[str, Any] = {}
    for name, path in connector.results:
        if isinstance(body, str) and path.strip().startswith("body."):
            raise ConnectorError(_words("call.not_json", path=path.strip()))
        found[name] = _at(response, path)
    if connector.result_variable:
        found[connector.result_variable] = {
            "body": body,
            "http_status": status,
            "mimetype": mimetype,
        }
    return found


def _at(value: Any, path: str) -> Any:
    current = value
    for step in [p for p in path.strip().split(".") if p]:
        if isinstance(current, dict) and step in current:
            current = current[step]
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            raise ConnectorError(_words("call.path_missing", path=path, step=step))
    return current


def retry_delay(connector: Connector, attempts: int) -> float | None:
    """Seconds to wait before the next call after `attempts` failed ones; None when the
    model's retries are spent (then an incident)."""
    if attempts > connector.retries:
        return None
    if not connector.backoff:
        return connector.delay
    return float(min(connector.delay * 2 ** (attempts - 1), MAX_DELAY))


def address_refusal(host: str, addresses: list[str], allowed: Mapping[str, bool]) -> str | None:
    """Why a call to `host` at `addresses` is refused, None when it may go: the host must be
    on the admins' list (`allowed`: host -> may reach internal addresses), and each of its
    addresses public unless its entry says otherwise."""
    host = host.lower().rstrip(".")
    if host not in allowed:
        return _words("call.host_not_allowed", host=host)
    if not addresses:
        return _words("call.host_no_address", host=host)
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            return _words("call.not_an_address", address=text)
        if not address.is_global and not allowed[host]:
            return _words("call.internal_address", host=host, address=str(address))
    return None


# --- the engine's side -------------------------------------------------------------------


class ConnectorTask(ServiceTask):
    """A service task that waits for the worker: its step never calls out (see the module
    docstring); the worker completes it with the mapped response."""

    def _execute(self, task: Any) -> None:
        return None


class ConnectorTaskParser(ServiceTaskParser):
    """Reads any of the three connector forms into a ConnectorTask; a service task without
    one is refused with the library's own words (engine.core.lint words it)."""

    def create_task(self) -> ConnectorTask:
        try:
            connector = read_connector(self.node)
        except ValueError as exc:
            raise ValidationException(str(exc), node=self.node, file_name=self.filename) from exc
        if connector is None:
            raise ValidationException(
                "A Service Task must have an operator", node=self.node, file_name=self.filename
            )
        extensions = self.parse_extensions()
        return ConnectorTask(
            self.spec,
            self.bpmn_id,
            operation_name=f"salesflow/{connector.source}",
            operation_params={
                "connector": {"type": "json", "value": json.dumps(connector.to_dict())}
            },
            result_variable=connector.result_variable or "",
            prescript=extensions.get("preScript"),
            postscript=extensions.get("postScript"),
            **self.bpmn_attributes,
        )


class ConnectorParser(SpiffBpmnParser):
    """SpiffWorkflow's parser, with service tasks read as connectors."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        f"{{{MODEL}}}serviceTask": (ConnectorTaskParser, ConnectorTask),
    }


def connector_of(spec: Any) -> Connector | None:
    """The connector of a task spec, None for any other spec."""
    if not isinstance(spec, ConnectorTask):
        return None
    return Connector.from_dict(json.loads(spec.operation_params["connector"]["value"]))
