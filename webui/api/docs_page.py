"""The OpenAPI document as a page people read at /api/v1/docs.

Plain HTML made from the document by one Jinja template: every operation with its
parameters, request body (and example) and responses, then every schema, linked.  No CDN,
no script; Jinja escapes everything taken from the document.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import render_template_string
from markupsafe import Markup, escape

from webui.api.document import document
from webui.api.schemas import SCHEMAS

__all__ = ["docs_page"]


Part = tuple[str, str | None]  # text, and the anchor it links to


def _resolve(doc: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    ref = item.get("$ref")
    if not isinstance(ref, str):
        return item
    found: Any = doc
    for key in ref.removeprefix("#/").split("/"):
        found = found[key]
    resolved: dict[str, Any] = found
    return resolved


def _type_parts(schema: dict[str, Any]) -> list[Part]:
    """A schema as words: "string or null", "array of Task" (linked), "one of: ..."."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.removeprefix(SCHEMAS)
        return [(name, f"#schema-{name}")]
    if "enum" in schema:
        return [("one of: " + ", ".join(json.dumps(v) for v in schema["enum"]), None)]
    kinds = schema.get("type")
    names = [kinds] if isinstance(kinds, str) else list(kinds or [])
    parts: list[Part] = []
    for n, kind in enumerate(k for k in names if k != "null"):
        if n:
            parts.append((" or ", None))
        if kind == "array" and "items" in schema:
            parts += [("array of ", None), *_type_parts(schema["items"])]
        elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
            parts += [("object of ", None), *_type_parts(schema["additionalProperties"])]
        else:
            detail = schema.get("format") or schema.get("contentMediaType")
            parts.append((f"{kind} ({detail})" if detail else kind, None))
    if not parts:
        parts.append(("any JSON", None))
    if "null" in names:
        parts.append((" or null", None))
    limits = [
        f"{word} {schema[key]}"
        for key, word in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"),
                          ("maxLength", "length ≤"), ("default", "default"))
        if key in schema
    ]  # fmt: skip
    if limits:
        parts.append((f" ({', '.join(limits)})", None))
    return parts


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    base = doc["servers"][0]["url"]
    found = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            params = [_resolve(doc, p) for p in op.get("parameters", [])]
            body = None
            if "requestBody" in op:
                content = op["requestBody"]["content"]
                # JSON when the operation takes it, else its one kind (a multipart upload).
                media_type = (
                    "application/json" if "application/json" in content else next(iter(content))
                )
                media = content[media_type]
                example = media.get("example")
                body = {
                    "media_type": media_type,
                    "type": _type_parts(media["schema"]),
                    "example": json.dumps(example, indent=2, ensure_ascii=False)
                    if example is not None
                    else None,
                }
            responses = []
            for status, response in op["responses"].items():
                resolved = _resolve(doc, response)
                content = resolved.get("content", {})
                responses.append(
                    {
                        "status": status,
                        "description": resolved["description"],
                        "media": [
                            {"type": media_type, "schema": _type_parts(media["schema"])}
                            for media_type, media in content.items()
                        ],
                    }
                )
            found.append(
                {
                    "id": op["operationId"],
                    "method": method.upper(),
                    "path": base + path,
                    "summary": op["summary"],
                    "description": op.get("description", ""),
                    "public": op.get("security") == [],
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": _type_parts(p["schema"]),
                            "description": p.get("description", ""),
                        }
                        for p in params
                    ],
                    "body": body,
                    "responses": responses,
                }
            )
    return found


def _schema_views(doc: dict[str, Any]) -> list[dict[str, Any]]:
    views = []
    for name, schema in doc["components"]["schemas"].items():
        required = set(schema.get("required", []))
        views.append(
            {
                "name": name,
                "description": schema.get("description", ""),
                "closed": schema.get("additionalProperties") is False,
                "properties": [
                    {
                        "name": key,
                        "type": _type_parts(prop),
                        "required": key in required,
                        "description": prop.get("description", ""),
                    }
                    for key, prop in schema.get("properties", {}).items()
                ],
            }
        )
    return views


_PAGE = """\
{%- macro kind(parts) -%}
{%- for text, href in parts -%}
{%- if href %}<a href="{{ href }}">{{ text }}</a>{% else %}{{ text }}{% endif -%}
{%- endfor -%}
{%- endmacro -%}
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ info.title }} {{ info.version }}</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem;
       color: #1f2933; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.92em; }
pre { background: #f4f5f7; padding: 0.6rem; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 0.4rem 0 1rem; }
th, td { text-align: left; vertical-align: top; padding: 0.25rem 0.5rem;
         border-bottom: 1px solid #e1e4e8; }
section { border-top: 1px solid #cbd2d9; padding-top: 0.5rem; margin-top: 1.5rem; }
.method { display: inline-block; min-width: 3.5rem; font-weight: 700; }
.get { color: #1862ab; } .post { color: #1f7a3a; }
.note { color: #52606d; }
nav li { margin: 0.15rem 0; }
</style>
</head>
<body>
<header>
<h1>{{ info.title }} <small>version {{ info.version }}</small></h1>
{% for paragraph in paragraphs %}<p>{{ md(paragraph) }}</p>
{% endfor %}
<p>The machine-readable document: <a href="{{ spec_url }}">{{ spec_url }}</a>
(OpenAPI {{ openapi }}).</p>
</header>
<nav>
<h2>Operations</h2>
<ul>
{% for op in operations %}<li><a href="#{{ op.id }}"><span class="method {{ op.method|lower }}">\
{{ op.method }}</span> <code>{{ op.path }}</code></a> {{ op.summary }}</li>
{% endfor %}</ul>
</nav>
<main>
{% for op in operations %}
<section id="{{ op.id }}">
<h3><span class="method {{ op.method|lower }}">{{ op.method }}</span> \
<code>{{ op.path }}</code></h3>
<p><strong>{{ op.summary }}</strong>{% if op.description %}. {{ md(op.description) }}{% endif %}</p>
<p class="note">{% if op.public %}Public: no token needed.{% else %}\
Needs <code>Authorization: Bearer &lt;token&gt;</code>.{% endif %} Operation id \
<code>{{ op.id }}</code>.</p>
{% if op.parameters %}
<h4>Parameters</h4>
<table>
<tr><th>Name</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr>
{% for p in op.parameters %}<tr><td><code>{{ p.name }}</code></td><td>{{ p.in }}</td>\
<td>{{ kind(p.type) }}</td><td>{{ "yes" if p.required else "no" }}</td>\
<td>{{ md(p.description) }}</td></tr>
{% endfor %}</table>
{% endif %}
{% if op.body %}
<h4>Request body</h4>
<p><code>{{ op.body.media_type }}</code>: {{ kind(op.body.type) }}</p>
{% if op.body.example %}<pre>{{ op.body.example }}</pre>{% endif %}
{% endif %}
<h4>Responses</h4>
<table>
<tr><th>Status</th><th>Description</th><th>Content</th></tr>
{% for r in op.responses %}<tr><td>{{ r.status }}</td><td>{{ md(r.description) }}</td><td>\
{% for m in r.media %}<code>{{ m.type }}</code>: {{ kind(m.schema) }}<br>{% endfor %}</td></tr>
{% endfor %}</table>
</section>
{% endfor %}
<h2>Schemas</h2>
{% for s in schemas %}
<section id="schema-{{ s.name }}">
<h3>{{ s.name }}</h3>
<p>{{ md(s.description) }}{% if s.closed %} No other keys are accepted.{% endif %}</p>
<table>
<tr><th>Key</th><th>Type</th><th>Required</th><th>Description</th></tr>
{% for p in s.properties %}<tr><td><code>{{ p.name }}</code></td><td>{{ kind(p.type) }}</td>\
<td>{{ "yes" if p.required else "no" }}</td><td>{{ md(p.description) }}</td></tr>
{% endfor %}</table>
</section>
{% endfor %}
</main>
</body>
</html>
"""


def _inline_code(text: str) -> Markup:
    """The document's descriptions are CommonMark; of it the page shows `code` spans."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def docs_page(spec_url: str) -> str:
    """The document as a page: every operation with its parameters, body and responses,
    then every schema.  Jinja escapes everything taken from the document."""
    doc = document()
    return render_template_string(
        _PAGE,
        info=doc["info"],
        openapi=doc["openapi"],
        paragraphs=doc["info"]["description"].split("\n\n"),
        spec_url=spec_url,
        operations=_operations(doc),
        schemas=_schema_views(doc),
        md=_inline_code,
    )
