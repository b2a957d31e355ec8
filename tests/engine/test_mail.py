"""E-mail of notifications (engine.jobs.mail) against a real SMTP server (aiosmtpd) on localhost."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import event, select, update

from engine.jobs.mail import SmtpSettings, send_pending, settings_from_env
from engine.store.models import Notification, User
from engine.store.notifications import notify
from engine.usecases.service import Service

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Inbox:
    """What the SMTP server received: (envelope recipients, message) per mail, and logins."""

    mails: list[tuple[list[str], Message]] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append((data.login, data.password))
            return AuthResult(success=data.password == b"right", handled=False)
        return AuthResult(success=False, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpSettings]]:
    inbox = Inbox()
    port = free_port()
    server = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    server.start()
    try:
        yield inbox, SmtpSettings(host="127.0.0.1", port=port, sender="crm@example.com")
    finally:
        server.stop()


@pytest.fixture
def people(team: Service) -> Service:
    team.add_user("alice", display_name="Alice Rep")
    with team.db.write() as s:
        for name, email in (("alice", "alice@example.com"), ("mia", "mia@example.com")):
            s.execute(update(User).where(User.username == name).values(email=email))
    return team


def tell(service: Service, username: str, text: str, **kw: Any) -> None:
    with service.db.write() as s:
        notify(s, username, "test", text, now=kw.pop("now", NOW), **kw)


def emailed(service: Service) -> dict[str, bool]:
    with service.db.read() as s:
        return {n.text: n.emailed_at is not None for n in s.scalars(select(Notification))}


def test_every_user_with_an_address_gets_one_mail_of_what_is_new(
    people: Service, smtp: tuple[Inbox, SmtpSettings]
) -> None:
    inbox, settings = smtp
    tell(people, "alice", "mia gave you the task 'Qualify lead' of deal 'ACME'.", instance_id=7)
    tell(people, "alice", "You cover for bob until Friday.")
    tell(people, "mia", "alice is away.")
    tell(people, "bob", "bob has no address.")
    assert send_pending(people.db, NOW + timedelta(minutes=1), settings) == 3

    by_rcpt = {tuple(rcpt): msg for rcpt, msg in inbox.mails}
    assert set(by_rcpt) == {("alice@example.com",), ("mia@example.com",)}
    alice = by_rcpt[("alice@example.com",)]
    assert alice["From"] == "crm@example.com" and alice["To"] == "alice@example.com"
    assert alice["Subject"] == "salesflow: 2 new notifications"
    body = alice.get_payload(decode=True).decode()
    assert body.startswith("Hello Alice Rep,")
    assert "- mia gave you the task 'Qualify lead' of deal 'ACME'. (deal #7)" in body
    assert "- You cover for bob until Friday." in body
    assert by_rcpt[("mia@example.com",)]["Subject"] == "salesflow: alice is away."
    assert emailed(people) == {
        "mia gave you the task 'Qualify lead' of deal 'ACME'.": True,
        "You cover for bob until Friday.": True,
        "alice is away.": True,
        "bob has no address.": False,
    }
    # Sent once: the next run finds nothing.
    assert send_pending(people.db, NOW + timedelta(minutes=2), settings) == 0
    assert len(inbox.mails) == 2


def test_read_or_old_news_is_not_mailed(people: Service, smtp: tuple[Inbox, SmtpSettings]) -> None:
    inbox, settings = smtp
    tell(people, "alice", "seen in the app")
    people.mark_notifications_read("alice")
    tell(people, "alice", "from last week", now=NOW - timedelta(days=7))
    tell(people, "alice", "new")
    assert send_pending(people.db, NOW, settings) == 1
    [(_, msg)] = inbox.mails
    assert msg["Subject"] == "salesflow: new"


def test_a_refused_mail_is_tried_again_at_the_next_run(
    people: Service, smtp: tuple[Inbox, SmtpSettings]
) -> None:
    inbox, settings = smtp
    inbox.refuse.add("alice@example.com")
    tell(people, "alice", "for alice")
    tell(people, "mia", "for mia")
    assert send_pending(people.db, NOW, settings) == 1
    assert emailed(people) == {"for alice": False, "for mia": True}
    inbox.refuse.clear()
    assert send_pending(people.db, NOW + timedelta(minutes=1), settings) == 1
    assert [rcpt for rcpt, _ in inbox.mails] == [["mia@example.com"], ["alice@example.com"]]


def test_no_server_there_keeps_everything_for_later(people: Service) -> None:
    tell(people, "alice", "for alice")
    gone = SmtpSettings(host="127.0.0.1", port=free_port(), sender="crm@example.com")
    assert send_pending(people.db, NOW, gone) == 0
    assert emailed(people) == {"for alice": False}


def test_it_logs_in_when_a_user_is_set(people: Service, smtp: tuple[Inbox, SmtpSettings]) -> None:
    inbox, settings = smtp
    tell(people, "alice", "hello")
    wrong = SmtpSettings(settings.host, settings.port, settings.sender, "crm", "wrong")
    assert send_pending(people.db, NOW, wrong) == 0
    assert inbox.mails == []
    right = SmtpSettings(settings.host, settings.port, settings.sender, "crm", "right")
    assert send_pending(people.db, NOW, right) == 1
    # smtplib tries each mechanism the server offers before it gives up.
    assert set(inbox.logins[:-1]) == {(b"crm", b"wrong")}
    assert inbox.logins[-1] == (b"crm", b"right")
    assert len(inbox.mails) == 1


def test_without_smtp_settings_nothing_is_done(
    people: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SALESFLOW_SMTP_HOST", raising=False)
    tell(people, "alice", "hello")
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(people.db.engine, "before_cursor_execute", seen)
    try:
        assert send_pending(people.db, NOW) == 0
    finally:
        event.remove(people.db.engine, "before_cursor_execute", seen)
    assert statements == []
    assert emailed(people) == {"hello": False}


def test_settings_come_from_the_environment() -> None:
    assert settings_from_env({}) is None
    assert settings_from_env({"SALESFLOW_SMTP_HOST": "  "}) is None
    assert settings_from_env({"SALESFLOW_SMTP_HOST": "mail.example.com"}) == SmtpSettings(
        host="mail.example.com", port=25, sender="salesflow@mail.example.com"
    )
    full = {
        "SALESFLOW_SMTP_HOST": "smtp.example.com",
        "SALESFLOW_SMTP_USER": "crm@example.com",
        "SALESFLOW_SMTP_PASSWORD": "secret",
        "SALESFLOW_SMTP_STARTTLS": "true",
    }
    assert settings_from_env(full) == SmtpSettings(
        "smtp.example.com", 587, "crm@example.com", "crm@example.com", "secret", True
    )
    more = {**full, "SALESFLOW_SMTP_PORT": "2525", "SALESFLOW_SMTP_FROM": "Sales <s@example.com>"}
    assert settings_from_env(more) == SmtpSettings(
        "smtp.example.com", 2525, "Sales <s@example.com>", "crm@example.com", "secret", True
    )
    with pytest.raises(ValueError, match="SALESFLOW_SMTP_PORT must be a number"):
        settings_from_env({**full, "SALESFLOW_SMTP_PORT": "smtp"})
