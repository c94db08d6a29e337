"""Set up Django for a benchmark script on a throw-away database.

Without DATABASE_URL the benchmark gets a fresh SQLite file in a temporary
ENERGYWEB_VAR_DIR; with DATABASE_URL (PostgreSQL) it uses that database, so
point it at a scratch database, never a production one.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def backend_cpu(cursor) -> float | None:
    """CPU seconds (user+sys) of the cursor's PostgreSQL backend, when it runs on this machine
    (read from /proc; None where it cannot be read, e.g. a server on another host)."""
    cursor.execute("SELECT pg_backend_pid()")
    pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def setup(migrate: bool = True) -> str:
    sys.path.insert(0, str(ROOT))
    if not os.environ.get("DATABASE_URL"):
        os.environ["ENERGYWEB_VAR_DIR"] = tempfile.mkdtemp(prefix="ew-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    from django.db import connection

    return connection.vendor
