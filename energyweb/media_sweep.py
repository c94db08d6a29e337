"""Remove files under MEDIA_ROOT that no row refers to, once they are older than a day.

A worker killed mid-write, a full disk before the writers cleaned up after themselves (issue 16),
or an import cancelled while its worker was gone can leave files nothing removes. What refers to a
file is found generically (the kernel imports no app): every FileField of every model, and the
stored upload of every background import that is still pending or running. The age guard keeps a
file that is being written, or whose row has not committed yet, out of reach.

Run by ``manage.py sweep_media`` and by the task ``energyweb.sweep_media`` on the default queue,
which the job-recovery thread of every worker sends every ENERGYWEB_MEDIA_SWEEP_INTERVAL_S (a
duplicate run is harmless: it finds nothing left to remove).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import models

from energyweb.jobs.choices import JobStatus

log = logging.getLogger(__name__)
DEFAULT_MAX_AGE_S = 24 * 3600


def referenced() -> set[str]:
    """Relative names under MEDIA_ROOT that some row still needs."""
    from energyweb.jobs.uploads import UploadJob

    names: set[str] = set()
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            if isinstance(f, models.FileField):
                names.update(n for n in model._base_manager.exclude(**{f.name: ""}).values_list(f.name, flat=True)
                             if n)
        if issubclass(model, UploadJob):
            names.update(model._base_manager.filter(status__in=JobStatus.active()).values_list("stored_file",
                                                                                               flat=True))
    return names


def sweep(max_age_s: float = DEFAULT_MAX_AGE_S, dry_run: bool = False, root: Path | None = None) -> list[str]:
    """Remove (or with ``dry_run`` only list) the orphans older than ``max_age_s``; returns their names."""
    root = Path(root or settings.MEDIA_ROOT)
    if not root.is_dir():
        return []
    keep = referenced()
    cutoff = time.time() - max_age_s
    removed = []
    for path in sorted(root.rglob("*")):
        try:
            if not path.is_file() or path.is_symlink() or path.stat().st_mtime > cutoff:
                continue
        except OSError:
            continue  # removed meanwhile
        name = path.relative_to(root).as_posix()
        if name in keep:
            continue
        if not dry_run:
            path.unlink(missing_ok=True)
        removed.append(name)
    if removed:
        log.warning("media sweep %s %d orphan file(s) older than %ss: %s", "found" if dry_run else "removed",
                    len(removed), int(max_age_s), ", ".join(removed[:20]))
    return removed
