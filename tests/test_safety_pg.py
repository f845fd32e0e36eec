"""PostgreSQL faults (issue 12, items 10 and 11): concurrent first runs on an empty
database, and a connection cut in the middle of a publication. Real server, real
processes; skipped where no server answers (the ``pg_url`` fixture)."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import KB, cli_env, record_text, run_lessons

pytestmark = pytest.mark.pg


def _fresh_database(url: str) -> str:
    """Another empty database beside the fixture's (the caller drops it)."""
    import psycopg

    from tests.conftest import PG_ADMIN

    name = url.rsplit("/", 1)[1] + f"_{int(time.monotonic_ns() % 1_000_000)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def _drop_database(url: str) -> None:
    import psycopg

    from tests.conftest import PG_ADMIN

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_concurrent_first_runs_on_an_empty_database_all_succeed(kb: KB, pg_url: str) -> None:
    # Item 10: six commands of one knowledge base start at once on an empty database;
    # each must find or make the schema, whoever gets there first. Three rounds, each
    # on a database nobody has touched.
    kb.config("name: racers\n")
    for n in range(12):
        kb.add(f"rec-{n}", title=f"Record {n} about the disk")
    commands = [("list",), ("index",), ("search", "disk"), ("list",), ("index",), ("show", "rec-1")]
    urls = [pg_url, _fresh_database(pg_url), _fresh_database(pg_url)]
    try:
        for url in urls:
            with ThreadPoolExecutor(len(commands)) as pool:
                runs = list(
                    pool.map(lambda c, u=url: run_lessons(kb.root, "--db", u, *c), commands)
                )
            failed = [(c, r.returncode, r.stderr) for c, r in zip(commands, runs, strict=True)]
            failed = [f for f in failed if f[1] != 0]
            assert failed == []
            listed = run_lessons(kb.root, "--db", url, "list", "--json")
            assert listed.returncode == 0
            assert '"total": 12' in listed.stdout
    finally:
        for url in urls[1:]:
            _drop_database(url)


def _backend_writing(admin: object, dbname: str, deadline: float) -> int | None:
    """The pid of a server process of ``dbname`` inside a transaction that has written."""
    while time.monotonic() < deadline:
        row = admin.execute(  # type: ignore[attr-defined]
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            " AND backend_xid IS NOT NULL",
            (dbname,),
        ).fetchone()
        if row:
            return int(row[0])
        time.sleep(0.01)
    return None


def test_connection_lost_mid_publication_is_reported_and_changes_nothing(
    kb: KB, pg_url: str
) -> None:
    # Item 11: the server ends the session (pg_terminate_backend) while a sync is
    # writing; the command says so, exit 2, and the index is as it was.
    import psycopg

    from tests.conftest import PG_ADMIN

    kb.config("name: cut\n")
    for n in range(20):
        kb.add(f"first-{n}", title=f"First record {n}")
    assert run_lessons(kb.root, "--db", pg_url, "index").returncode == 0
    before = subprocess.run(
        [sys.executable, "-m", "lessons", "--db", pg_url, "list", "--json", "--sort", "id"],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=kb.root.parent,
        timeout=120,
    ).stdout
    # Enough new files that the publication's transaction stays open for a while.
    for n in range(3000):
        (kb.entries / f"second-{n}.yaml").write_text(
            record_text(f"second-{n}", title=f"Second record {n}"), encoding="utf-8"
        )
    (kb.entries / "first-0.yaml").unlink()
    dbname = pg_url.rsplit("/", 1)[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "lessons", "--kb", str(kb.root), "--db", pg_url, "index"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        pid = _backend_writing(admin, dbname, time.monotonic() + 120)
        assert pid is not None, "the publication never started writing"
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert err.startswith(
        f"Error: lost the connection to the index at 127.0.0.1/{dbname} ({pg_url});"
        " nothing was changed\n"
    ), err
    assert "internal error" not in err and "Traceback" not in err
    # Read from outside any knowledge base (no publication first): the index holds
    # exactly what the first publication put there.
    after = subprocess.run(
        [sys.executable, "-m", "lessons", "--db", pg_url, "list", "--json", "--sort", "id"],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=kb.root.parent,
        timeout=120,
    )
    assert after.returncode == 0, after.stderr
    assert '"id": "cut:first-0"' in before
    assert after.stdout == before
