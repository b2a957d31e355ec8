"""The `salesflow` command: a thin caller of the engine's use cases.

Every command takes `--json` for machine-readable output.  Errors go to stderr with a non-zero
exit code (see EXIT_CODES); with `--json` the error is a JSON object on stderr too.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from diagrams import DiagramError, render_definition, render_instance
from engine.errors import (
    ConflictError,
    DefinitionError,
    EngineError,
    ForbiddenError,
    NotFoundError,
    StorageUnavailableError,
    ValidationError,
)
from engine.jobs.timers import tick
from engine.usecases.definitions import check_paths, database_configured, severity_word
from engine.usecases.forms import load_json_object
from engine.usecases.messages import correlation_pairs
from engine.usecases.service import Service, connect
from engine.usecases.texts import file_texts
from salesflow.forecast_text import backtest_text, forecast_text
from salesflow.output import human, table
from salesflow.render_file import render_file

EXIT_CODES: dict[type[EngineError], int] = {
    NotFoundError: 4,
    ForbiddenError: 5,
    ConflictError: 6,
    ValidationError: 7,
    DefinitionError: 8,
    StorageUnavailableError: 75,  # EX_TEMPFAIL: disk full, read-only, server gone; try later
}


def _exit_code(exc: EngineError) -> int:
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


def _connected(args: argparse.Namespace) -> Service:
    """The command's use cases over one database connection pool (SALESFLOW_DATABASE_URL);
    `main` closes it."""
    if getattr(args, "service", None) is None:
        args.service = connect()
    service: Service = args.service
    return service


def _service(args: argparse.Namespace) -> Service:
    """The use cases, once the database is set up (NotInitialisedError otherwise)."""
    service = _connected(args)
    service.check_initialised()
    return service


# --- commands ----------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> Any:
    return _connected(args).setup_database()


def cmd_users_add(args: argparse.Namespace) -> Any:
    return _service(args).add_user(
        args.name, args.role, password=args.password, display_name=args.display_name
    )


def cmd_users_list(args: argparse.Namespace) -> Any:
    return _service(args).users()


def cmd_users_set(args: argparse.Namespace) -> Any:
    roles = None if args.roles is None else [r for r in args.roles.split(",") if r.strip()]
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ValidationError("no password on standard input", field="--password-stdin")
    return _service(args).set_user(
        args.name,
        roles=roles,
        display_name=args.display_name,
        email=args.email,
        password=password,
    )


def cmd_users_deactivate(args: argparse.Namespace) -> Any:
    return _service(args).deactivate_user(args.name)


def cmd_users_activate(args: argparse.Namespace) -> Any:
    return _service(args).activate_user(args.name)


def cmd_tokens_create(args: argparse.Namespace) -> Any:
    return _service(args).create_token(args.user, args.name or "")


def cmd_tokens_list(args: argparse.Namespace) -> Any:
    return _service(args).tokens(args.user)


def cmd_tokens_revoke(args: argparse.Namespace) -> Any:
    _service(args).revoke_token(args.token_id)
    return {"revoked": args.token_id}


def cmd_webhooks_list(args: argparse.Namespace) -> Any:
    return _service(args).webhooks(user=args.user)


def cmd_webhooks_add(args: argparse.Namespace) -> Any:
    # The secret from the environment, not the command line (shell history, `ps`).
    secret = os.environ.get("SALESFLOW_WEBHOOK_SECRET", "")
    events = [e.strip() for e in args.events.split(",") if e.strip()]
    return _service(args).add_webhook(user=args.user, url=args.url, events=events, secret=secret)


def cmd_webhooks_replay(args: argparse.Namespace) -> Any:
    return _service(args).replay_delivery(args.delivery, user=args.user)


def cmd_webhooks_pause(args: argparse.Namespace) -> Any:
    paused = args.webhooks_command == "pause"
    return _service(args).pause_webhook(args.webhook, paused=paused, user=args.user)


def cmd_deploy(args: argparse.Namespace) -> Any:
    return _service(args).deploy(args.paths, actor=args.user)


def cmd_check(args: argparse.Namespace) -> Any:
    """The designer's Check of files or folders, nothing deployed: every problem with its
    file, line and element, then the verdict; an error in any is exit code 8 (a refused
    deploy's).  The team's roles come from the database when there is one."""
    held = _connected(args).held_roles() if database_configured() else None
    report = check_paths(args.paths, each=args.each, held_roles=held, lang=args.lang)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(_check_text(report, args.lang))
    if report["errors"]:
        raise DefinitionError(report["message"])
    return None


def _check_text(report: dict[str, Any], lang: str | None) -> str:
    """A line "path:line: severity: Name (id): message" per problem, then the verdict."""
    lines = []
    for problem in report["problems"]:
        where = ":".join(str(x) for x in (problem["path"] or problem["file"], problem["line"]) if x)
        severity = severity_word(problem["severity"], lang)
        lines.append(f"{where}: {severity}: {problem['message']}" if where else problem["message"])
    for definition in report["definitions"] if len(report["definitions"]) > 1 else []:
        lines.append(f"{definition['files'][0]}: {definition['message']}")
    lines.append(report["message"])
    return "\n".join(lines)


def cmd_definitions(args: argparse.Namespace) -> Any:
    return _service(args).definitions()


def cmd_export_definitions(args: argparse.Namespace) -> Any:
    """Every process's latest version back as files: `deploy` of the folder changes nothing."""
    files = _service(args).export_definitions()
    folder = Path(args.outdir)
    folder.mkdir(parents=True, exist_ok=True)
    for name in sorted(files):
        # newline="" writes the text exactly as deployed: the files stay byte-identical.
        with (folder / name).open("w", encoding="utf-8", newline="") as out:
            out.write(files[name])
    return {"exported": len(files), "directory": str(folder), "files": sorted(files)}


def cmd_start(args: argparse.Namespace) -> Any:
    return _service(args).start(
        args.process_id,
        deal=args.deal,
        owner=args.owner,
        data=load_json_object(args.data),
        actor=args.user,
        version=args.version,
        amount=args.amount,
        expected_close=args.expected_close,
        customer_id=args.customer,
    )


def cmd_customers(args: argparse.Namespace) -> Any:
    """The customers (all of them, or those --user may see), as a table or --json."""
    found = _service(args).customers(
        args.user, q=args.q, tier=args.tier, owner=args.owner, due=True if args.due else None
    )
    if args.json:
        return found
    return table(
        [{**c, "due": "due" if c["cadence_due"] else ""} for c in found],
        ["id", "name", "tier", "owner", "deals", "won_value", "last_activity_at", "due"],
    )


def cmd_customer(args: argparse.Namespace) -> Any:
    found = _service(args).customer(args.customer_id, args.user)
    if args.json:
        return found
    lines = [
        f"{found['name']} (#{found['id']}), tier {found['tier'] or '-'}, owner "
        f"{found['owner'] or '-'}",
        f"  industry {found['industry'] or '-'}, region {found['region'] or '-'}",
        f"  last activity {found['last_activity_at'] or '-'}, next follow-up "
        f"{found['next_follow_up'] or '-'}" + (" (follow-up due)" if found["cadence_due"] else ""),
        "  contacts:",
        *(
            f"    {c['name']}"
            + "".join(f", {c[k]}" for k in ("role", "phone", "email", "wechat") if c[k])
            for c in found["contacts"]
        ),
        "  deals:",
        table(
            [dict(d) for d in found["deal_list"]],
            ["id", "name", "stage", "status", "outcome", "amount", "owner"],
        ),
    ]
    return "\n".join(lines)


def cmd_add_customer(args: argparse.Namespace) -> Any:
    return _service(args).create_customer(
        args.name,
        actor=args.user,
        owner=args.owner,
        tier=args.tier,
        industry=args.industry,
        region=args.region,
        confirm=args.confirm,
    )


def cmd_forecast(args: argparse.Namespace) -> Any:
    """Each open deal's chance, close date and expected value, and the months' expected won
    value with its band (engine.usecases.forecast)."""
    result = _service(args).forecast(
        args.process, visible_to=args.user, month=args.month, lang=args.lang
    )
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else forecast_text(result))


def cmd_backtest(args: argparse.Namespace) -> Any:
    """The forecast trained before a date against the stage weights on the deals open then."""
    result = _service(args).backtest(args.at, process=args.process, user=args.user)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else backtest_text(result))


def cmd_lose(args: argparse.Namespace) -> Any:
    return _service(args).mark_lost(args.instance_id, user=args.user, reason=args.reason)


def cmd_log_activity(args: argparse.Namespace) -> Any:
    """A call, visit, meeting, e-mail or message with a customer or a deal
    (engine.usecases.activities)."""
    return _service(args).log_activity(
        actor=args.user,
        customer_id=args.customer,
        deal_id=args.deal,
        kind=args.kind,
        at=args.at,
        notes=args.notes or "",
        outcome=args.outcome,
        next_step=args.next_step,
        next_step_at=args.next_step_at,
    )


def cmd_activities(args: argparse.Namespace) -> Any:
    found = _service(args).activities(args.user, customer_id=args.customer, deal_id=args.deal)
    if getattr(args, "json", False):
        return found
    columns = ["id", "at", "kind", "by", "deal_id", "notes", "next_step", "next_step_at"]
    return table([{**a, "notes": a["notes"][:60]} for a in found], columns)


def cmd_import(args: argparse.Namespace) -> Any:
    """Leads from a CSV or XLSX file into deals (engine.usecases.imports); --dry-run shows
    what would be imported and writes nothing."""
    from os import environ

    from webui.config import max_body_bytes  # the request body's limit holds for files too

    path = Path(args.file)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}", field="FILE") from None
    mapping: dict[str, str] = {}
    for given in args.map or []:
        column, sep, key = given.rpartition("=")
        if not sep or not column:
            raise ValidationError(f"'{given}' is not COLUMN=FIELD", field="--map")
        mapping[column] = key
    run = _service(args).preview_import if args.dry_run else _service(args).import_leads
    result = run(
        content,
        args.process,
        actor=args.user,
        mapping=mapping or None,
        owner=args.owner,
        filename=path.name,
        lang=args.lang,
        max_bytes=max_body_bytes(environ),
    )
    return result if args.json else _import_text(result, dry_run=args.dry_run)


def _import_text(result: dict[str, Any], *, dry_run: bool) -> str:
    mapped = ", ".join(f"{c} -> {k}" for c, k in result["mapping"].items() if k)
    lines = [f"columns: {mapped or 'none mapped'}"]
    if dry_run:
        lines.append(
            f"would import {result['valid']} of {result['rows']} rows into "
            f"{result['process_id']} version {result['version']}; nothing was written"
        )
    else:
        lines.append(f"imported {result['started']} of {result['rows']} rows as deals")
    if result["errors"]:
        lines.append(f"skipped {result['invalid']} rows:")
        lines += [
            f"  row {e['row']}, {e['column'] or e['field']}: {e['message']}"
            for e in result["errors"]
        ]
    return "\n".join(lines)


def cmd_instances(args: argparse.Namespace) -> Any:
    return _service(args).instances(process=args.process, status=args.status, owner=args.owner)


def cmd_show(args: argparse.Namespace) -> Any:
    service = _service(args)
    return service.localize_deal(service.show(args.instance_id), args.lang)


def cmd_tasks(args: argparse.Namespace) -> Any:
    return _service(args).tasks(
        user=args.user, role=args.role, instance=args.instance, lang=args.lang
    )


def cmd_complete(args: argparse.Namespace) -> Any:
    return _service(args).complete(
        args.task_id, user=args.user, data=load_json_object(args.data), lang=args.lang
    )


def cmd_message(args: argparse.Namespace) -> Any:
    return _service(args).deliver_message(
        args.name,
        instance_id=args.instance,
        correlate=correlation_pairs(args.correlate),
        data=load_json_object(args.data),
        message_id=args.message_id,
    )


def cmd_handover(args: argparse.Namespace) -> Any:
    service = _service(args)
    if args.dry_run:
        return {
            **service.handover_preview(
                args.from_user, args.to_user, actor=args.user, instance_id=args.deal
            ),
            "dry_run": True,
        }
    return service.hand_over(args.from_user, args.to_user, actor=args.user, instance_id=args.deal)


def cmd_migrate(args: argparse.Namespace) -> Any:
    return _service(args).migrate(
        args.process_id,
        args.to,
        user=args.user,
        instance_ids=args.instance or None,
        stage=args.stage,
        from_version=args.from_version,
        dry_run=args.dry_run,
    )


def cmd_delegate(args: argparse.Namespace) -> Any:
    return _service(args).delegate(
        args.from_user, args.to_user, until=args.until, starts=args.starts, actor=args.user
    )


def cmd_tick(args: argparse.Namespace) -> Any:
    return tick(_service(args))


def cmd_digest(args: argparse.Namespace) -> Any:
    return _service(args).digest(args.user, lang=args.lang)


def cmd_worker(args: argparse.Namespace) -> Any:
    """Fire timers and run the periodic jobs until SIGTERM/SIGINT (or, with --once, until
    nothing is due)."""
    from engine.jobs.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    worker = Worker(_service(args), poll=args.poll)
    worker.install_signal_handlers()
    worker.register()  # refused here when another worker holds a SQLite database
    if not args.json:
        print(f"worker {worker.name} started (Ctrl-C stops it)", file=sys.stderr, flush=True)
    stats = worker.run(until_idle=args.once)
    return {"fired": stats.fired, "deals": stats.deals, "failed": stats.failed}


def cmd_demo(args: argparse.Namespace) -> Any:
    from engine.jobs.timers import fire_due
    from engine.usecases.demo import load_demo

    service = _service(args)
    # The worker's timers fire as the story's time moves (escalations, revisits, nurturing).
    return load_demo(
        service, progress=None if args.json else _progress, tick=lambda: fire_due(service)
    )


def cmd_simulate(args: argparse.Namespace) -> Any:
    """What-if: the process's current version (and its draft) on the team's history."""
    from salesflow.simulation_text import simulation_text

    service = _service(args)
    phases = {"current": "current version", "draft": "draft", "validation": "validation"}

    def progress(phase: str, done: int, total: int) -> None:
        _progress(done, total, f"simulating the {phases.get(phase, phase)}")

    result = service.simulate(
        args.process,
        actor=args.user,
        draft=args.draft,
        weeks=args.weeks,
        seed=args.seed,
        progress=None if args.json else progress,
    )
    if args.json:
        return result
    print(simulation_text(result))
    return None


def cmd_serve(args: argparse.Namespace) -> Any:
    """The web UI: waitress with --workers (or --threads) threads, the production server and
    the default; Flask's development server with --dev; or gunicorn with --processes N
    (N > 1 on PostgreSQL only), each process with --threads threads."""
    from webui.serving import port_taken, serve

    threads = args.workers if args.threads is None else args.threads
    if port_taken(args.host, args.port):
        message = (
            f"{args.host}:{args.port} is in use: another salesflow, or another program, "
            "serves there already; stop it, or choose another port (salesflow serve --port "
            "5001, make run PORT=5001)"
        )
        _report(args, {"error": "UsageError", "message": message}, [])
        raise SystemExit(2)
    if args.processes is not None:
        import os

        from engine.usecases.service import database_url
        from webui.multiprocess import refusal

        problem = refusal(args.processes, database_url(), os.environ, sys.platform)
        if problem is None and args.dev:
            problem = "--dev serves one process: leave out --processes"
        if problem is None and threads < 1:
            problem = "--threads must be 1 or more"
        if problem is not None:  # wrong arguments: said before anything is opened
            _report(args, {"error": "UsageError", "message": problem}, [])
            raise SystemExit(2)
    _service(args).close()  # refuse an uninitialised database before listening
    if args.processes is not None:
        from webui.multiprocess import serve_processes

        serve_processes(args.host, args.port, args.processes, threads)
        return None
    serve(args.host, args.port, None if args.dev else threads)
    return None


# waitress's threads by default: requests wait on SQLite's one writer, not on the CPU, so a
# few more threads than cores keep reads going while a write holds the lock.
SERVE_THREADS = 8

FORMATS = ("svg", "png", "pdf", "dot")


def _format_of(path: Path) -> str:
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValidationError(f"the file name must end in .{', .'.join(FORMATS)}", field="-o")
    return fmt


def _paper(args: argparse.Namespace, fmt: str) -> dict[str, Any]:
    """A PDF's pages: the paper (A4 unless --paper) and the language of their header and
    legend (--lang)."""
    if args.paper is not None and fmt != "pdf":
        raise ValidationError("only a PDF has pages: write to OUT.pdf", field="--paper")
    return {"paper": args.paper or "a4", "lang": args.lang}


def cmd_render(args: argparse.Namespace) -> Any:
    """A chart of a deal, a deployed process or a .bpmn file (no deploy, no database)."""
    out = Path(args.output)
    fmt = _format_of(out)
    target = args.target
    if target.endswith(".bpmn") or Path(target).is_file():
        if args.heatmap:
            raise ValidationError(
                "a heatmap needs a deployed process, not a file", field="--heatmap"
            )
        path = Path(target)
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise NotFoundError(f"cannot read {target}: {exc.strerror}") from None
        result = render_file(
            text,
            path.name,
            out,
            fmt,
            diagram=args.diagram,
            layout=args.layout,
            paper=_paper(args, fmt),
            lang=args.lang,
            translate=file_texts(path, args.lang).graph,
        )
        if not args.json:  # with --json they are in the result
            for warning in result["warnings"]:
                print(f"warning: {path.name}: {warning}", file=sys.stderr)
        return {**result, "file": target}
    if args.diagram is not None:
        raise ValidationError("--diagram chooses a diagram of a .bpmn file", field="--diagram")
    if target.isdigit():
        graph, view, key = _service(args).instance_chart(target, lang=args.lang)
        data = render_instance(
            graph, view, fmt, layout=args.layout, cache_key=key, **_paper(args, fmt)
        )
        what = {"instance_id": target}
    else:
        service = _service(args)
        graph, key = service.definition_chart(target, args.version, lang=args.lang)
        heat = service.heat(target, args.version) if args.heatmap else None
        data = render_definition(
            graph, fmt, layout=args.layout, heat=heat, cache_key=key, **_paper(args, fmt)
        )
        what = {"process_id": target}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return {**what, "output": str(out), "format": fmt, "bytes": len(data)}


def cmd_export_all(args: argparse.Namespace) -> Any:
    """Every open deal's chart into one folder, with a progress bar."""
    service = _service(args)
    deals = [d for status in ("running", "error") for d in service.instances(status=status)]
    folder = Path(args.outdir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for n, deal in enumerate(sorted(deals, key=lambda d: int(d["instance_id"]))):
        graph, view, key = service.instance_chart(deal["instance_id"])
        data = render_instance(graph, view, args.format, cache_key=key)
        path = folder / f"{deal['instance_id']}-{_slug(deal['name'])}.{args.format}"
        path.write_bytes(data)
        written.append(str(path))
        if not args.json:
            _progress(n + 1, len(deals), deal["name"])
    return {"exported": len(written), "directory": str(folder), "files": written}


def _slug(name: str) -> str:
    """A file-name-safe form of a deal name (keeps CJK letters, drops path characters)."""
    kept = "".join(c if c.isalnum() else "-" for c in name.strip())
    return "-".join(part for part in kept.split("-") if part)[:60] or "deal"


def _progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:40]:40}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


# --- parser ------------------------------------------------------------------------------


LANG_HELP = (
    "the language of process content (task names, timeline, chart labels, form errors): "
    "zh for Simplified Chinese, en (the default) as the designer wrote it"
)


def build_parser() -> argparse.ArgumentParser:
    # `--json` is accepted before or after the command; SUPPRESS keeps a subcommand's
    # default from overwriting a `--json` given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    common.add_argument("--lang", default=argparse.SUPPRESS, help=LANG_HELP)
    parser = argparse.ArgumentParser(
        prog="salesflow",
        description="Sales processes as BPMN: deploy definitions, run deals, complete tasks.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--lang", default=None, help=LANG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], Any], help_: str) -> Any:
        p = sub.add_parser(name, help=help_, description=help_, parents=[common])
        p.set_defaults(func=func, command_name=name)
        return p

    add("init", cmd_init, "create or migrate the database")

    users = sub.add_parser("users", help="manage users and their roles", parents=[common])
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    ua = users_sub.add_parser("add", help="add a user or give roles", parents=[common])
    ua.add_argument("name")
    ua.add_argument("--role", action="append", default=[], help="a role (lane name); repeatable")
    ua.add_argument("--password")
    ua.add_argument("--display-name")
    ua.set_defaults(func=cmd_users_add, command_name="users add")
    ul = users_sub.add_parser("list", help="list users", parents=[common])
    ul.set_defaults(func=cmd_users_list, command_name="users list")
    us = users_sub.add_parser(
        "set", help="change a user: roles replace the held ones", parents=[common]
    )
    us.add_argument("name")
    us.add_argument("--roles", metavar="R,R", help="the roles, comma-separated ('' for none)")
    us.add_argument("--display-name")
    us.add_argument("--email", help="an e-mail address ('' clears it)")
    us.add_argument(
        "--password-stdin", action="store_true", help="read a new password from standard input"
    )
    us.set_defaults(func=cmd_users_set, command_name="users set")
    ud = users_sub.add_parser(
        "deactivate",
        help="no more log-ins or API tokens; lists the open tasks that stay the user's",
        parents=[common],
    )
    ud.add_argument("name")
    ud.set_defaults(func=cmd_users_deactivate, command_name="users deactivate")
    uc = users_sub.add_parser(
        "activate", help="let a deactivated user log in again", parents=[common]
    )
    uc.add_argument("name")
    uc.set_defaults(func=cmd_users_activate, command_name="users activate")

    tokens = sub.add_parser("tokens", help="API tokens (Authorization: Bearer ...)")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    tc = tokens_sub.add_parser("create", help="issue a token for a user", parents=[common])
    tc.add_argument("user")
    tc.add_argument("--name", help="what the token is for")
    tc.set_defaults(func=cmd_tokens_create, command_name="tokens create")
    tl = tokens_sub.add_parser(
        "list", help="a user's tokens (never the tokens themselves)", parents=[common]
    )
    tl.add_argument("user")
    tl.set_defaults(func=cmd_tokens_list, command_name="tokens list")
    tr = tokens_sub.add_parser("revoke", help="revoke a token by its id", parents=[common])
    tr.add_argument("token_id", type=int)
    tr.set_defaults(func=cmd_tokens_revoke, command_name="tokens revoke")

    hooks = sub.add_parser("webhooks", help="deal events sent to other systems (admins)")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    hl = hooks_sub.add_parser(
        "list", help="the webhooks and their recent deliveries", parents=[common]
    )
    hl.add_argument("--user", required=True, help="who asks (an admin)")
    hl.set_defaults(func=cmd_webhooks_list, command_name="webhooks list")
    ha = hooks_sub.add_parser(
        "add",
        help="register a URL for deal events; the signing secret is read from "
        "SALESFLOW_WEBHOOK_SECRET (16 characters or more)",
        parents=[common],
    )
    ha.add_argument("url")
    ha.add_argument("--events", required=True, help="comma-separated, e.g. deal.started,deal.won")
    ha.add_argument("--user", required=True, help="who registers it (an admin)")
    ha.set_defaults(func=cmd_webhooks_add, command_name="webhooks add")
    hr = hooks_sub.add_parser("replay", help="send a delivery again (same id)", parents=[common])
    hr.add_argument("delivery", type=int, help="the delivery's number (`id` in the list)")
    hr.add_argument("--user", required=True, help="who asks (an admin)")
    hr.set_defaults(func=cmd_webhooks_replay, command_name="webhooks replay")
    for action, what in (
        ("pause", "nothing is queued for it or sent to it until it is resumed"),
        ("resume", "what waited for it is sent"),
    ):
        hp = hooks_sub.add_parser(action, help=f"{action} a webhook: {what}", parents=[common])
        hp.add_argument("webhook", type=int, help="the webhook's id (`id` in the list)")
        hp.add_argument("--user", required=True, help="who asks (an admin)")
        hp.set_defaults(func=cmd_webhooks_pause, command_name=f"webhooks {action}")

    p = add("deploy", cmd_deploy, "deploy BPMN/DMN/form files or folders")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--user", help="who deploys (recorded with the version)")

    p = add("check", cmd_check, "check BPMN/DMN/form files or folders as the designer does")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--each",
        action="store_true",
        help="check every .bpmn file on its own, with the .dmn/.json files of its folder",
    )

    add("definitions", cmd_definitions, "list deployed processes")
    p = add("export-definitions", cmd_export_definitions, "write every current version as files")
    p.add_argument("outdir", metavar="DIR")

    p = add("start", cmd_start, "start a deal")
    p.add_argument("process_id")
    p.add_argument("--deal", help="the deal's name (default: the company in --data)")
    p.add_argument("--owner", help="the user who owns the deal")
    p.add_argument("--data", help="initial data as a JSON object")
    p.add_argument("--version", type=int, help="a version other than the latest")
    p.add_argument("--amount", metavar="CNY", help="the deal's value, a number from 0")
    p.add_argument("--expected-close", metavar="YYYY-MM-DD", help="when it should close")
    p.add_argument(
        "--customer",
        metavar="ID",
        help="the customer the deal is for (default: found or added by the data's company)",
    )
    p.add_argument(
        "--user",
        help="who starts it (checked: a role the process lets start it, or admin; "
        "without --user the owner is checked)",
    )

    p = add("customers", cmd_customers, "list customers: deals, won value, follow-up due")
    p.add_argument("--user", help="only the customers this user may see")
    p.add_argument("--q", metavar="TEXT", help="whose name contains this text")
    p.add_argument("--tier", choices=["A", "B", "C"])
    p.add_argument("--owner")
    p.add_argument("--due", action="store_true", help="only those due a follow-up")

    p = add("customer", cmd_customer, "show one customer: contacts, deals, activities")
    p.add_argument("customer_id", metavar="ID")
    p.add_argument("--user", help="as this user sees it (a customer they may not see: 4)")

    p = add("add-customer", cmd_add_customer, "add a customer (similar names are refused)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--tier", choices=["A", "B", "C"])
    p.add_argument("--owner", help="who owns it (default: --user)")
    p.add_argument("--industry")
    p.add_argument("--region")
    p.add_argument("--user", help="who adds it (checked: a sales rep, a manager or an admin)")
    p.add_argument("--confirm", action="store_true", help="add it although similar names exist")

    p = add("forecast", cmd_forecast, "each open deal's chance of a win, close date and value")
    p.add_argument("--process", default="sales_pipeline", metavar="ID")
    p.add_argument("--month", metavar="YYYY-MM", help="that month and the deals closing in it")
    p.add_argument("--user", help="only the deals this user may see (checked: reads reports)")

    p = add("backtest", cmd_backtest, "score the forecast against the stage weights")
    p.add_argument("--at", required=True, metavar="YYYY-MM-DD", help="train on deals closed before")
    p.add_argument("--process", default="sales_pipeline", metavar="ID")
    p.add_argument("--user", help="who runs it (checked: a sales manager or an admin)")

    p = add("lose", cmd_lose, "mark an open deal lost, from any stage, with a reason")
    p.add_argument("instance_id", metavar="ID")
    p.add_argument("--reason", required=True, help="a reason from the process's lost-reason list")
    p.add_argument("--user", required=True, help="who does it (checked: the owner or a manager)")

    p = add("import", cmd_import, "import leads from a CSV or XLSX file, one deal a valid row")
    p.add_argument("file", metavar="FILE", help="a CSV (UTF-8 or GBK) or XLSX file")
    p.add_argument("--process", required=True, metavar="ID", help="the process to start")
    p.add_argument("--user", required=True, help="who imports (may start the process)")
    p.add_argument("--owner", help="the owner of rows that name none (default: --user)")
    p.add_argument(
        "--map",
        action="append",
        metavar="COLUMN=FIELD",
        help="a column's field (over the guess from the column names; FIELD empty: leave "
        "the column out); repeatable",
    )
    p.add_argument("--dry-run", action="store_true", help="show the preview, write nothing")

    p = add("instances", cmd_instances, "list deals")
    p.add_argument("--process")
    p.add_argument("--status", choices=["running", "completed", "cancelled", "error"])
    p.add_argument("--owner")

    p = add("show", cmd_show, "show one deal: position, data, tasks, history")
    p.add_argument("instance_id")

    p = add("tasks", cmd_tasks, "list open tasks")
    p.add_argument("--user", help="tasks assigned to this user or in the queues of their roles")
    p.add_argument("--role")
    p.add_argument("--instance")

    p = add("complete", cmd_complete, "complete a task with form data")
    p.add_argument("task_id")
    p.add_argument("--user", required=True)
    p.add_argument("--data", help="the form data as a JSON object")

    p = add("message", cmd_message, "deliver a BPMN message to the deal waiting for it")
    p.add_argument("name", metavar="NAME", help="the message name, e.g. contract_signed")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--instance", metavar="ID", help="the deal's id")
    which.add_argument(
        "--correlate",
        action="append",
        metavar="KEY=VALUE",
        help="a deal field (name, owner, process_id) or data field to match; repeatable",
    )
    p.add_argument("--data", help="data to merge into the deal, as a JSON object")
    p.add_argument("--id", dest="message_id", metavar="MESSAGE_ID", help="delivered once per id")

    add("tick", cmd_tick, "fire the timers that are due now")

    p = add("handover", cmd_handover, "give a rep's deals and open tasks to another user")
    p.add_argument("from_user", metavar="FROM")
    p.add_argument("to_user", metavar="TO")
    p.add_argument("--deal", metavar="INSTANCE_ID", help="only this deal")
    p.add_argument("--dry-run", action="store_true", help="show what would move; move nothing")
    p.add_argument("--user", help="who does it (checked: a sales manager or an admin)")

    p = add("migrate", cmd_migrate, "move running deals to another version of their process")
    p.add_argument("process_id", metavar="PROCESS_ID")
    p.add_argument("--to", type=int, required=True, metavar="N", help="the version to move to")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--stage", help="only the deals at this stage")
    which.add_argument(
        "--instance", action="append", metavar="ID", help="only this deal; repeatable"
    )
    p.add_argument("--from", dest="from_version", type=int, metavar="N", help="only from it")
    p.add_argument("--dry-run", action="store_true", help="preview: where each deal would land")
    p.add_argument("--user", help="who does it (checked: a designer or an admin)")

    p = add("delegate", cmd_delegate, "while a rep is away, their work goes to another user")
    p.add_argument("from_user", metavar="FROM")
    p.add_argument("to_user", metavar="TO")
    p.add_argument("--until", required=True, metavar="DATE", help="the last day away (or a time)")
    p.add_argument("--from", dest="starts", metavar="DATE", help="the first day away (default now)")
    p.add_argument("--user", help="who does it (checked: the rep or a sales manager)")
    p = add("digest", cmd_digest, "a rep's day: tasks due, stale deals, timers firing soon")
    p.add_argument("user")

    p = add("log-activity", cmd_log_activity, "log a call, visit, meeting, e-mail or message")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--customer", metavar="ID", help="with this customer")
    which.add_argument("--deal", metavar="ID", help="about this deal (and so its customer)")
    p.add_argument("--kind", required=True, help="call, visit, meeting, email or message")
    p.add_argument(
        "--at", metavar="ISO", help="when (default now; without an offset: the team's time zone)"
    )
    p.add_argument("--notes", help="what was said")
    p.add_argument("--outcome", help="how it went")
    p.add_argument("--next-step", help="what comes next")
    p.add_argument("--next-step-at", metavar="DATE", help="when the next step is due")
    p.add_argument("--user", required=True, help="who did it (checked: may see it)")

    p = add("activities", cmd_activities, "a customer's or a deal's activities, newest first")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--customer", metavar="ID", help="the customer's (its deals' included)")
    which.add_argument("--deal", metavar="ID", help="the deal's")
    p.add_argument("--user", help="as this user sees them (default: all)")
    add("demo", cmd_demo, "load demo users and deals spread over the stages")

    p = add("worker", cmd_worker, "fire due timers and run escalations, e-mail and digests")
    p.add_argument("--poll", type=float, default=0.2, help="longest sleep in seconds (0.2)")
    p.add_argument("--once", action="store_true", help="stop when nothing is due")

    p = add("serve", cmd_serve, "serve the web UI")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument(
        "--workers", type=int, default=SERVE_THREADS, help=f"waitress threads ({SERVE_THREADS})"
    )
    p.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="gunicorn with N processes instead of waitress (N > 1: PostgreSQL and "
        "SALESFLOW_SECRET_KEY)",
    )
    p.add_argument(
        "--threads", type=int, metavar="T", help="threads of each process (default: --workers)"
    )
    p.add_argument("--dev", action="store_true", help="Flask's development server instead")

    p = add("render", cmd_render, "draw a deal, a deployed process or a .bpmn file")
    p.add_argument("target", metavar="INSTANCE_ID|PROCESS_ID|FILE.bpmn")
    p.add_argument("-o", "--output", required=True, metavar="OUT.(svg|png|pdf|dot)")
    p.add_argument(
        "--layout", choices=["drawn", "auto"], help="as drawn (default with BPMN DI) or auto"
    )
    p.add_argument("--heatmap", action="store_true", help="deals here now and time spent")
    p.add_argument("--version", type=int, help="a process version other than the latest")
    p.add_argument(
        "--diagram",
        metavar="ID|NAME|all",
        help="a .bpmn file's diagram to draw, by its id or name (default: the main one, the "
        "collaboration's or the largest); all: every one, as the pages of a PDF, else one "
        "file each when there are several (OUT-name.svg)",
    )
    p.add_argument(
        "--paper",
        choices=["a4", "a3"],
        help="a PDF's landscape pages (default a4): the chart scaled to one page, or tiled "
        "when its names would print below 6 pt; every page with a header and the legend",
    )

    p = add("simulate", cmd_simulate, "what-if: a process and its draft on the team's history")
    p.add_argument("process", metavar="PROCESS")
    p.add_argument("--draft", action="store_true", help="also simulate the designer's draft")
    p.add_argument("--weeks", type=int, default=52, help="weeks to simulate (52)")
    p.add_argument("--seed", type=int, default=1, help="the same seed, the same answer (1)")
    p.add_argument("--user", help="simulate as this user (a manager or designer)")

    p = add("export-all", cmd_export_all, "write every open deal's chart into a folder")
    p.add_argument("outdir", metavar="OUTDIR")
    p.add_argument("--format", choices=["svg", "png", "pdf"], default="svg")

    return parser


def _report(args: argparse.Namespace, error: dict[str, Any], more: list[dict[str, Any]]) -> None:
    """An error on stderr: one JSON object with --json, else a line per problem."""
    if args.json:
        print(json.dumps(error, ensure_ascii=False), file=sys.stderr)
        return
    print(f"error: {error['message']}", file=sys.stderr)
    for item in more:
        print(f"error: {item['field']}: {item['message']}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
    except DiagramError as exc:
        _report(args, {"error": type(exc).__name__, "message": str(exc)}, [])
        return 9
    except StorageUnavailableError as exc:
        # The database's own words for whoever runs the command (they name no one's data).
        detail = f" ({exc.detail})" if exc.detail else ""
        _report(args, {**exc.to_dict(), "message": f"{exc}{detail}", "detail": exc.detail}, [])
        return _exit_code(exc)
    except EngineError as exc:
        extra = exc.errors[1:] if isinstance(exc, ValidationError) else []
        _report(args, exc.to_dict(), extra)
        return _exit_code(exc)
    finally:
        if getattr(args, "service", None) is not None:
            args.service.close()
    if result is None:
        return 0
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(human(args.command_name, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
