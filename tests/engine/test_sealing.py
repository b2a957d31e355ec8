"""Secrets sealed at rest (engine.core.sealing) and where this machine's key comes from
(engine.store.sealing): sealed text opens with its key only, a plain legacy value opens as
itself, and a wrong, lost or unknown key fails with a message that says what to do.  Keys are
temporary: the environment's or a key file under the test's own folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from engine.core.sealing import PREFIX, Sealer, SealingError, is_sealed
from engine.store import sealing
from engine.store.db import Database

KEY = "a" * 64  # test keys, never anyone's
OTHER = "b" * 64
FIX = "set SALESFLOW_SEALING_KEY to the key it was sealed with"


@pytest.fixture(autouse=True)
def _own_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No key from the environment, and a server database's key file under the test's
    folder (never in the checkout's var/)."""
    monkeypatch.delenv(sealing.ENV, raising=False)
    monkeypatch.setenv("SALESFLOW_VAR_DIR", str(tmp_path / "var"))


def test_sealed_text_opens_with_its_key_and_shows_nothing_of_itself() -> None:
    sealer = Sealer(KEY, "SALESFLOW_SEALING_KEY")
    first, second = sealer.seal("Bearer erp-77"), sealer.seal("Bearer erp-77")
    assert first.startswith(PREFIX) and is_sealed(first)
    assert "erp-77" not in first
    assert first != second  # a fresh IV each time: equal secrets do not look equal
    assert sealer.open(first, "secret 'erp'") == "Bearer erp-77"
    assert Sealer(KEY, "elsewhere").open(second, "secret 'erp'") == "Bearer erp-77"
    assert sealer.open(sealer.seal("数据"), "secret 'zh'") == "数据"


def test_a_plain_legacy_value_opens_as_itself_even_without_a_key() -> None:
    assert not is_sealed("s3cr3t-T0KEN") and not is_sealed(None) and not is_sealed("")
    assert Sealer(None, "/srv/var/sealing_key").open("s3cr3t-T0KEN", "secret 'x'") == (
        "s3cr3t-T0KEN"
    )


@pytest.mark.parametrize(
    ("key", "told"),
    [
        (OTHER, "cannot be opened with this machine's key (/srv/var/sealing_key)"),
        (
            None,
            "cannot be opened: this machine has no sealing key "
            "(neither SALESFLOW_SEALING_KEY nor /srv/var/sealing_key)",
        ),
    ],
    ids=["wrong key", "lost key"],
)
def test_a_wrong_or_lost_key_names_the_secret_the_key_and_what_to_do(
    key: str | None, told: str
) -> None:
    stored = Sealer(KEY, "SALESFLOW_SEALING_KEY").seal("token")
    with pytest.raises(SealingError) as refused:
        Sealer(key, "/srv/var/sealing_key").open(stored, "secret 'erp_token'")
    assert str(refused.value) == f"the sealed secret 'erp_token' {told}: {FIX}"


def test_no_key_seals_nothing() -> None:
    with pytest.raises(SealingError, match="no sealing key to seal with"):
        Sealer(None, "/srv/var/sealing_key").seal("token")


def test_a_damaged_value_or_a_later_format_is_refused() -> None:
    sealer = Sealer(KEY, "SALESFLOW_SEALING_KEY")
    stored = sealer.seal("token")
    damaged = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]
    for bad in (damaged, PREFIX + "not-a-token", PREFIX + "数据"):
        with pytest.raises(SealingError, match="cannot be opened with this machine's key"):
            sealer.open(bad, "secret 'x'")
    with pytest.raises(SealingError) as later:
        sealer.open("sealed:v9:abc", "secret 'x'")
    assert "sealed in a format (v9) this version of salesflow cannot read" in str(later.value)


def test_the_key_file_sits_beside_the_sqlite_file_else_in_the_var_folder(
    tmp_path: Path,
) -> None:
    env = {"SALESFLOW_VAR_DIR": str(tmp_path / "shared")}
    sqlite_file = make_url(f"sqlite:///{tmp_path / 'data' / 'sales.sqlite3'}")
    assert sealing.key_file(sqlite_file, env) == tmp_path / "data" / "sealing_key"
    server = make_url("postgresql+psycopg://sales@db.example/salesflow")
    assert sealing.key_file(server, env) == tmp_path / "shared" / "sealing_key"
    assert sealing.key_file(make_url("sqlite://"), env) == tmp_path / "shared" / "sealing_key"
    assert sealing.key_file(server, {}) == Path("var").resolve() / "sealing_key"


def test_the_key_file_is_made_once_private_and_found_by_every_process(db: Database) -> None:
    path = sealing.key_file(db.engine.url, os.environ)
    with db.read() as s:
        assert sealing.sealer(s).key is None  # reading makes no key
    assert not path.exists()
    with db.write() as s:
        stored = sealing.sealed(s, "token")
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".sealing_key")] == []
    again = Database(db.url)  # another process opening the same database
    try:
        with again.read() as s:
            assert sealing.sealer(s).open(stored, "secret 'x'") == "token"
    finally:
        again.dispose()


def test_two_processes_making_the_key_at_once_end_with_one(tmp_path: Path) -> None:
    path = tmp_path / "sealing_key"
    first = sealing._new_key_file(path)
    second = sealing._new_key_file(path)  # lost the race: takes the key that is there
    assert first == second == path.read_text(encoding="ascii").strip()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sealing_key"]


def test_the_environment_s_key_wins_over_the_file(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.write() as s:
        from_file = sealing.sealed(s, "token")
    monkeypatch.setenv(sealing.ENV, KEY)
    with db.read() as s:
        sealer = sealing.sealer(s)
        assert (sealer.key, sealer.source) == (KEY, "SALESFLOW_SEALING_KEY")
        with pytest.raises(SealingError, match=r"this machine's key \(SALESFLOW_SEALING_KEY\)"):
            sealer.open(from_file, "secret 'x'")
        assert Sealer(KEY, "test").open(sealing.sealed(s, "t2"), "secret 'y'") == "t2"
