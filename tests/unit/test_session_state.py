"""The services' pools do not reset a connection's session when it comes back (services/runtime/db.py:
asyncpg's reset query was a round trip at every release). That is right only while no service code
leaves session state on a pooled connection; this scan of the services' sources holds them to it,
and the samples below show that it finds each kind."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WAKEUP = "services/gateway/webhooks/wakeup.py"

# Each pattern with the kind of session state it finds. SQL sits in string literals, so a statement
# that begins a literal (after an f, r or b prefix and any blank) is a statement of its own; SQL
# keywords are upper case here, English words in messages are not.
PATTERNS = [
    (re.compile(r"""[frb]?["']{1,3}\s*SET\s+(?!LOCAL\b)(?:SESSION\s+)?[\w.]+\s*(?:=|TO\b)"""), "a session-level SET"),
    (re.compile(r"set_config\s*\((?![^)]*,\s*true\s*\))", re.I), "set_config(..., false)"),
    (re.compile(r"pg_(?:try_)?advisory_lock(?:_shared)?\s*\(", re.I), "a session-level advisory lock"),
    (re.compile(r"""["']{1,3}\s*LISTEN\b|\.add_listener\(""", re.I), "LISTEN"),
    (re.compile(r"""WITH\s+HOLD|CREATE\s+TEMP|["']{1,3}\s*PREPARE\b""", re.I), "WITH HOLD, TEMP or PREPARE"),
]


def findings(text: str, path: str = "") -> list[str]:
    found = []
    for pattern, kind in PATTERNS:
        if kind == "LISTEN" and path == WAKEUP and ".remove_listener(" in text:
            continue  # the one LISTEN: taken back in its `finally`
        found += [f"{path}: {kind}: {m.group(0).strip()!r}" for m in pattern.finditer(text)]
    return found


def test_no_service_leaves_session_state_on_a_pooled_connection():
    found = []
    for source in sorted((ROOT / "services").rglob("*.py")):
        path = source.relative_to(ROOT).as_posix()
        found += findings(source.read_text(), path)
    assert not found, "session state on a pooled connection, which the pools no longer reset:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "code",
    [
        "await conn.execute(\"SET statement_timeout = '1s'\")",
        "await conn.execute(f'SET search_path TO {schema}')",
        "await conn.execute('''\n  SET SESSION work_mem = '64MB' ''')",
        "await conn.fetchval(\"SELECT set_config('app.user', $1, false)\", user)",
        'await conn.execute("SELECT pg_advisory_lock($1)", key)',
        'await conn.execute("SELECT pg_try_advisory_lock_shared(1)")',
        'await conn.execute("LISTEN inbox")',
        "await conn.add_listener('inbox', callback)",
        'await conn.execute("DECLARE c CURSOR WITH HOLD FOR SELECT 1")',
        'await conn.execute("CREATE TEMPORARY TABLE t (x int)")',
        'await conn.execute("PREPARE q AS SELECT 1")',
    ],
)
def test_the_scan_finds_each_kind_of_session_state(code):
    assert findings(code), code


@pytest.mark.parametrize(
    "code",
    [
        "await conn.execute(\"SET LOCAL lock_timeout = '100ms'\")",
        'await conn.execute("UPDATE inbox SET acknowledged_at = $2 WHERE seq = $1", seq, now)',
        '"""INSERT INTO t VALUES (1) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"""',
        "await conn.fetchval(\"SELECT set_config('app.user', $1, true)\", user)",
        'await conn.execute("SELECT pg_advisory_xact_lock($1)", key)',
    ],
)
def test_the_scan_lets_transaction_scoped_state_pass(code):
    assert not findings(code), code
