"""Foreign keys of a bulk COPY checked once per distinct key instead of once per row.

PostgreSQL checks a foreign key with a trigger per inserted row; Django declares its keys
DEFERRABLE INITIALLY DEFERRED, so a million imported measurements queue three million checks
(llm, hardware, import batch) that run at COMMIT: about 27 s on the 2-core VM, more than the
COPY itself. An import references a handful of distinct parents, so ``keys_checked_once``

1. locks every distinct referenced parent row ``FOR KEY SHARE`` (what each per-row check does)
   and verifies that all of them exist;
2. runs the COPY with ``session_replication_role = replica``, which skips the per-row triggers;
3. sets the role back right after the COPY (``SET LOCAL``: a rollback restores it as well).

The guarantee is the same: no parent can be deleted (or its key changed) until the import
commits or rolls back, and a parent deleted before the lock is found missing. A concurrent
delete either waits for the import, then fails on its own foreign-key check (Django's parent
side ON DELETE check still runs: only the importing session is in replica mode), or commits
first, and then the import's lock finds the row gone.

It steps aside, and the per-row checks run as before, when the role may not set
``session_replication_role`` (only a superuser may, or on PostgreSQL 15+ a role granted
``GRANT SET ON PARAMETER session_replication_role TO <role>``), when no transaction is open,
when the session is not in the default ``origin`` role, when the table has an INSERT trigger
other than its own foreign-key checks (replica mode would skip it too), when a key is on
several columns or a column left out of the COPY has a default, and when a referenced row is
missing (so PostgreSQL reports the violation in its own words at COMMIT).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from psycopg.pq import TransactionStatus


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def keys_checked_once(cursor, table: str, columns: list[str], distinct: Callable[[int], list]) -> Iterator[bool]:
    """Run the body (a COPY into ``table`` of ``columns``) with per-row key checks skipped
    where that is safe; yields whether they are. ``distinct(j)`` gives column j's distinct
    non-null values."""
    if not _may_skip_row_checks(cursor, table, columns, distinct):
        yield False
        return
    cursor.execute("SET LOCAL session_replication_role = replica")
    try:
        yield True
    finally:
        # After an error inside the COPY the transaction is aborted and will be rolled back,
        # which restores the setting; a statement now would only hide the error.
        if cursor.connection.info.transaction_status == TransactionStatus.INTRANS:
            cursor.execute("SET LOCAL session_replication_role = origin")


def _may_skip_row_checks(cursor, table: str, columns: list[str], distinct) -> bool:
    if cursor.connection.info.transaction_status != TransactionStatus.INTRANS:
        return False
    cursor.execute(
        "SELECT current_setting('session_replication_role'), "
        "CASE WHEN current_setting('server_version_num')::int >= 150000 "
        "THEN has_parameter_privilege('session_replication_role', 'SET') "
        "ELSE current_setting('is_superuser') = 'on' END")
    role, may_set = cursor.fetchone()
    if role != "origin" or not may_set:
        return False
    # Every trigger that fires on INSERT must be one of the table's own foreign-key checks.
    cursor.execute(
        "SELECT count(*) FROM pg_trigger t LEFT JOIN pg_constraint c ON c.oid = t.tgconstraint "
        "WHERE t.tgrelid = %s::regclass AND t.tgenabled <> 'D' AND t.tgtype & 4 <> 0 "
        "AND (c.contype IS DISTINCT FROM 'f' OR c.conrelid <> t.tgrelid)", [table])
    if cursor.fetchone()[0]:
        return False
    cursor.execute(
        "SELECT cardinality(c.conkey), a.attname, a.atthasdef, c.confrelid::regclass::text, fa.attname "
        "FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] "
        "WHERE c.conrelid = %s::regclass AND c.contype = 'f' ORDER BY c.conname", [table])
    keys = cursor.fetchall()
    for width, column, has_default, parent, parent_column in keys:
        if width != 1:
            return False
        if column not in columns:
            if has_default:
                return False  # COPY would write the default: a key we have not seen
            continue
        wanted = distinct(columns.index(column))
        if not wanted:
            continue
        # The lock each per-row check would take, once per distinct key, held to the end of the
        # transaction: a concurrent delete of the parent waits for this import.
        cursor.execute(f"SELECT {_quote(parent_column)} FROM {parent} WHERE {_quote(parent_column)} = ANY(%s) "
                       f"FOR KEY SHARE", [list(wanted)])
        if len(cursor.fetchall()) != len(set(wanted)):
            return False  # a missing parent: the per-row checks report it at COMMIT
    return True
