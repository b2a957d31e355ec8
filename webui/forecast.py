"""The forecast page (engine.usecases.forecast), a tab of the reports: the months' expected
won value with its 80% band (a chart and a table), the same per rep and per channel, and
each open deal's chance with the factors that moved it, its expected close and value.  The
method is said at the top, and when deals fell back to the stage weights.

Who sees what is the use case's rule (whoever reads reports; a rep the deals they may see):
anyone else gets 403.  The deal page and the board show parts of the same forecast
(`deal_factor_text` is how a factor reads there and here)."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_skeleton
from flask import Blueprint, Flask, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from engine.core.roles import MANAGERS
from engine.errors import ForbiddenError, NotFoundError, ValidationError
from engine.usecases.reports import DEFAULT_PROCESS
from webui.context import engine, user
from webui.formats import locale, money
from webui.i18n import _, language
from webui.labels import person, source
from webui.reports import CHART_STYLE, TITLES, _data_url

bp = Blueprint("forecast", __name__, url_prefix="/reports")


def factor_text(factor: dict[str, Any]) -> str:
    """What moved a deal's chance, in the reader's words."""
    level = factor["level"]
    if level == "age":
        return _("%(days)s days at this step", days=factor["days"])
    if level == "path":
        if not factor["repeats"]:
            return _("No step done again")
        return _(
            "%(step)s done again (%(n)s steps repeated)",
            step=factor["element_name"] or "",
            n=factor["repeats"],
        )
    if level == "tier":
        return _("Tier %(tier)s", tier=factor["value"]) if factor["value"] else _("No tier yet")
    return _("Lead channel: %(channel)s", channel=source(factor["value"]))


def month_name(key: str) -> str:
    """A month (YYYY-MM) in the reader's words: "Dec 2026" / "2026年12月"."""
    year, month = (int(part) for part in key.split("-"))
    return format_skeleton("yMMM", date(year, month, 1), locale=locale())


def points_text(points: float) -> str:
    signed = f"{points:+.0f}"
    return _("%(points)s points", points=signed)


def month_chart(months: list[dict[str, Any]]) -> str:
    """The months' expected won value with its band, as an SVG data URL."""
    import pygal  # here: webui.reports has taken away the import hook pygal installs

    line = pygal.Line(
        style=CHART_STYLE,
        js=[],
        disable_xml_declaration=True,
        width=720,
        height=360,
        legend_at_bottom=True,
        margin=12,
        value_formatter=money,
        show_minor_y_labels=False,
    )
    line.title = _("Expected won value per month, with its 80% band")
    line.no_data_text = _("No data")
    line.x_labels = [month_name(m["month"]) for m in months]
    line.add(_("Expected"), [m["expected_value"] for m in months])
    dashed = {"width": 2, "dasharray": "6, 4"}
    line.add(_("Band: low"), [m["low"] for m in months], stroke_style=dashed)
    line.add(_("Band: high"), [m["high"] for m in months], stroke_style=dashed)
    return _data_url(line)


@bp.get("/forecast")
def page() -> str | tuple[str, int] | BaseResponse:
    me = user()
    service = engine()
    process = request.args.get("process") or DEFAULT_PROCESS
    month = request.args.get("month") or None
    error = None
    try:
        found = service.forecast(process, visible_to=me.username, month=month, lang=language())
    except ValidationError as exc:
        error = exc
        found = service.forecast(process, visible_to=me.username, lang=language())
    except NotFoundError:
        found = service.forecast(DEFAULT_PROCESS, visible_to=me.username, lang=language())
        process = DEFAULT_PROCESS
    page = render_template(
        "forecast/index.html",
        name="forecast",
        titles=TITLES,
        args={},
        team_wide=me.has_any(MANAGERS),
        forecast=found,
        chart=month_chart(found["months"]),
        factor_text=factor_text,
        points_text=points_text,
        person=person,
        source_label=lambda key: source(key) if key else _("No channel"),
        processes=service.localized_definitions(language()),
        process=process,
        month=month or "",
        error=error,
    )
    return (page, 422) if error is not None else page


def deal_forecast(instance_id: int) -> dict[str, Any] | None:
    """The deal page's forecast panel: the deal's row of the forecast, or None for someone
    who reads no forecasts (or a deal that is no longer open)."""
    try:
        return engine().deal_forecast(instance_id, visible_to=user().username, lang=language())
    except (ForbiddenError, NotFoundError):
        return None


def board_forecast(process: str) -> dict[str, Any] | None:
    """The board's forecast summary: the expected won value of the open deals the reader may
    see, and this month's with its band; None for someone who reads no forecasts or a
    process not deployed."""
    try:
        found = engine().forecast_summary(process, visible_to=user().username)
    except (ForbiddenError, NotFoundError):
        return None
    if found is None:  # a large team's forecast, being worked out (engine.usecases.forecast)
        return None
    return {
        "method": found["method"],
        "expected_value": found["expected_value"],
        "months": found["months"],
        "process": process,
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp, name="forecast")
    app.jinja_env.globals["forecast_factor"] = factor_text
    app.jinja_env.globals["forecast_points"] = points_text
    app.jinja_env.filters["month_name"] = month_name
