# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese e-mail
"""E-mail for notifications, when SMTP is configured (the worker calls `send_pending`).

Settings come from the environment:

    SALESFLOW_SMTP_HOST      the SMTP server; unset: no e-mail at all
    SALESFLOW_SMTP_PORT      default 587 with STARTTLS, else 25
    SALESFLOW_SMTP_USER      log in with this user (and the password) when set
    SALESFLOW_SMTP_PASSWORD
    SALESFLOW_SMTP_FROM      the sender; default the user when it is an address, else
                             salesflow@<host>
    SALESFLOW_SMTP_STARTTLS  1/true/yes: switch to TLS before logging in

Each run sends every user with an e-mail address one message listing their notifications
that are neither read in the app nor e-mailed yet.  A notification is claimed (its
`emailed_at` set) in a short transaction before the message goes out, so two workers never
send it twice; when the server refuses, the claim is taken back and the next run tries again.
A worker killed between the claim and the send loses that e-mail (the bell still shows it).
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from engine.core.translations import CHINESE, ENGLISH, locale_of
from engine.store import notifications
from engine.store.models import Notification, User

if TYPE_CHECKING:
    from engine.store.db import Database

__all__ = ["MAX_AGE", "SmtpSettings", "send_pending", "settings_from_env"]

log = logging.getLogger(__name__)

BATCH = 500  # notifications per run; the rest wait for the next minute
MAX_AGE = timedelta(days=2)  # older unread news is not worth an e-mail any more
TIMEOUT = 20.0
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = False


def settings_from_env(environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
    """The SMTP settings of SALESFLOW_SMTP_*, or None when no host is set."""
    env = os.environ if environ is None else environ
    host = env.get("SALESFLOW_SMTP_HOST", "").strip()
    if not host:
        return None
    starttls = env.get("SALESFLOW_SMTP_STARTTLS", "").strip().lower() in _TRUE
    port_text = env.get("SALESFLOW_SMTP_PORT", "").strip()
    try:
        port = int(port_text) if port_text else (587 if starttls else 25)
    except ValueError:
        raise ValueError(f"SALESFLOW_SMTP_PORT must be a number, not {port_text!r}") from None
    user = env.get("SALESFLOW_SMTP_USER", "").strip() or None
    sender = env.get("SALESFLOW_SMTP_FROM", "").strip()
    if not sender:
        sender = user if user and "@" in user else f"salesflow@{host}"
    return SmtpSettings(
        host=host,
        port=port,
        sender=sender,
        user=user,
        password=env.get("SALESFLOW_SMTP_PASSWORD") or None,
        starttls=starttls,
    )


def send_pending(db: Database, now: datetime, settings: SmtpSettings | None = None) -> int:
    """E-mail what users have not seen yet; how many notifications went out.  Does nothing
    (not even a query) when SMTP is not configured."""
    settings = settings or settings_from_env()
    if settings is None:
        return 0
    pending = (
        select(Notification.id)
        .join(User, User.username == Notification.username)
        .where(
            Notification.emailed_at.is_(None),
            Notification.read_at.is_(None),
            Notification.created_at >= now - MAX_AGE,
            User.active,
            User.email.is_not(None),
        )
        .order_by(Notification.id)
        .limit(BATCH)
    )
    with db.read() as s:
        candidates = list(s.scalars(pending))
    if not candidates:
        return 0
    with db.write() as s:
        claimed = notifications.claim(s, Notification.emailed_at, candidates, now)
        rows = s.execute(
            select(Notification, User.email, User.display_name, User.language)
            .join(User, User.username == Notification.username)
            .where(Notification.id.in_(claimed))
            .order_by(Notification.id)
        ).all()
    mails: dict[str, list[Notification]] = defaultdict(list)
    names: dict[str, str] = {}
    langs: dict[str, str] = {}
    for note, email, display_name, language in rows:
        if not email:
            continue  # the address was removed meanwhile: the claim stays, nothing is sent
        mails[email].append(note)
        names[email] = display_name or note.username
        langs[email] = locale_of(language)
    sent = 0
    failed: list[int] = []
    try:
        with _connect(settings) as smtp:
            for email, notes in mails.items():
                try:
                    smtp.send_message(
                        _message(settings.sender, email, names[email], notes, langs[email])
                    )
                    sent += len(notes)
                except smtplib.SMTPException:
                    log.exception("the SMTP server refused the e-mail to %s", email)
                    failed += [n.id for n in notes]
    except (OSError, smtplib.SMTPException):
        log.exception("cannot send e-mail through %s:%s", settings.host, settings.port)
        sent, failed = 0, claimed
    if failed:
        with db.write() as s:
            s.execute(
                update(Notification).where(Notification.id.in_(failed)).values(emailed_at=None)
            )
    return sent


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT)
    try:
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _message(
    sender: str, to: str, name: str, notes: list[Notification], lang: str = ENGLISH
) -> EmailMessage:
    """The e-mail of a user's notifications, in the user's language (`User.language`)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    first = notes[0].text
    if lang == CHINESE:
        many = f"{len(notes)} 条新通知"
        msg["Subject"] = f"salesflow：{first if len(notes) == 1 else many}"
        lines = [f"{name}，您好：", ""]
        for note in notes:
            where = f"（商机 #{note.instance_id}）" if note.instance_id is not None else ""
            lines.append(f"- {note.text}{where}")
        lines += ["", "打开 salesflow，点击铃铛查看全部通知。"]
        msg.set_content("\n".join(lines))
        return msg
    msg["Subject"] = (
        f"salesflow: {first}" if len(notes) == 1 else f"salesflow: {len(notes)} new notifications"
    )
    lines = [f"Hello {name},", ""]
    for note in notes:
        where = f" (deal #{note.instance_id})" if note.instance_id is not None else ""
        lines.append(f"- {note.text}{where}")
    lines += ["", "Open salesflow to see them all under the bell."]
    msg.set_content("\n".join(lines))
    return msg
