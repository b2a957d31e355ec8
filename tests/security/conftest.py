"""The web app of tests/webui (the test team with passwords, a real database) for the
security replays."""

from tests.webui.conftest import app, client, password_hash, staff  # noqa: F401
