"""Issue 13, item 2: log-in was not throttled (50 wrong passwords in 3.8 s, then the right one
worked).  Replayed against the app over a real database; time moves with time-machine."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import time_machine
from flask.testing import FlaskClient

from engine.usecases.service import Service
from engine.usecases.users import (
    FREE_FAILURES_PER_ADDRESS,
    FREE_FAILURES_PER_USER,
    MAX_DELAY,
    LoginThrottled,
)
from tests.webui.conftest import PASSWORD, csrf_token, login, text

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_fifty_wrong_passwords_then_the_right_one_waits_for_the_delay(
    client: FlaskClient,
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        statuses = [login(client, "alice", f"guess-{n}").status_code for n in range(50)]
        assert statuses == [401] * FREE_FAILURES_PER_USER + [429] * (50 - FREE_FAILURES_PER_USER)
        refused = login(client, "alice")
        assert refused.status_code == 429
        wait = int(refused.headers["Retry-After"])
        assert 0 < wait <= MAX_DELAY.total_seconds()
        assert "Too many failed log-ins. Try again in" in text(refused)
        assert 'name="password"' in text(refused)  # the form again, readable
        clock.shift(wait - 1)
        assert login(client, "alice").status_code == 429
        clock.shift(1)
        right = login(client, "alice")
        assert right.status_code == 302 and right.headers["Location"] == "/tasks"


def test_a_guesser_who_keeps_going_waits_longer_and_longer_up_to_the_cap(
    client: FlaskClient,
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        waits = []
        for n in range(20):
            response = login(client, "alice", f"guess-{n}")
            if response.status_code == 429:
                waits.append(int(response.headers["Retry-After"]))
                clock.shift(waits[-1])
                assert login(client, "alice", f"again-{n}").status_code == 401
        assert waits == sorted(waits) and waits[0] <= 2
        assert max(waits) == MAX_DELAY.total_seconds()
        # The real user is kept out at most the cap after the guessing stops.
        assert login(client, "alice").status_code == 429
        clock.shift(MAX_DELAY.total_seconds())
        assert login(client, "alice").status_code == 302
        # ... and a right password clears the count of the user name (this address has its
        # own count still: try from another one).
        elsewhere = client.application.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.8"
        assert login(elsewhere, "alice", "one slip").status_code == 401
        assert login(elsewhere, "alice").status_code == 302


def test_one_address_guessing_many_user_names_is_throttled(client: FlaskClient) -> None:
    names = [f"nobody{n}" for n in range(FREE_FAILURES_PER_ADDRESS)]
    with time_machine.travel(T0, tick=False):
        assert {login(client, name, "guess").status_code for name in names} == {401}
        assert login(client, "bob").status_code == 429  # from the same address
        other = client.application.test_client()
        other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
        assert login(other, "bob").status_code == 302  # from another one


def test_an_api_client_gets_the_json_error_shape_with_retry_after(client: FlaskClient) -> None:
    with time_machine.travel(T0, tick=False):
        for n in range(FREE_FAILURES_PER_USER):
            login(client, "alice", f"guess-{n}")
        token = csrf_token(client, "/login")
        response = client.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": token},
            headers={"Accept": "application/json"},
        )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    assert set(body) == {"error", "message"} and "too many failed log-ins" in body["message"]
    assert body["error"] == "Too many attempts"


def test_the_rule_is_the_engine_s_and_every_attempt_is_logged_without_the_password(
    staff: Service, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="engine.usecases.users")
    with time_machine.travel(T0, tick=False):
        for n in range(FREE_FAILURES_PER_USER):
            assert staff.authenticate("alice", f"secret-guess-{n}", address="198.51.100.4") is None
        with pytest.raises(LoginThrottled) as refused:
            staff.authenticate("alice", PASSWORD, address="198.51.100.9")
    assert refused.value.retry_after > 0
    logged = caplog.text
    assert "log-in failed: user='alice' address=198.51.100.4" in logged
    assert "log-in throttled: user='alice' address=198.51.100.9" in logged
    assert "secret-guess" not in logged and PASSWORD not in logged
    with time_machine.travel(T0.replace(hour=10), tick=False):
        assert staff.authenticate("alice", PASSWORD, address="198.51.100.9") is not None
    assert "log-in: user='alice' address=198.51.100.9" in caplog.text
