"""A full disk is a clear 507, never a 500, and leaves no partial file behind.

With the var dir on a 20 MB filesystem a 64 MB upload answered 500 and left a 20 MB partial
``imports/<uuid>.upload``; later uploads and a generate left 0-byte files nothing removed (issue 16).
Every writer into MEDIA_ROOT goes through ``write_new`` (or removes its own file on error) and turns
ENOSPC/EDQUOT into ``DiskFull``; the API's exception handler and ``DiskFullMiddleware`` answer 507.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
MESSAGE = ("The server's disk is full (or over its quota), so the file could not be stored; nothing was kept. "
           "Try again later or ask the operator to free space.")


class DiskFull(OSError):
    """No space left where a file was being written; the partial file has been removed."""

    status_code = 507

    def __init__(self, message: str = MESSAGE):
        super().__init__(errno.ENOSPC, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, DiskFull) or (isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS)


def remove_quietly(path) -> None:
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        pass


def write_new(path: Path, write: Callable[[object], None], mode: int = 0o600) -> None:
    """Create ``path`` (O_EXCL: it is ours alone) and let ``write(fh)`` fill it; on any error the file is
    removed, and a full disk is raised as ``DiskFull``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
    except BaseException as exc:
        remove_quietly(path)
        if is_disk_full(exc):
            raise DiskFull() from exc
        raise


class DiskFullMiddleware:
    """Pages: a full disk renders the 507 page instead of the 500 one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_disk_full(exception):
            return None
        from django.shortcuts import render

        message = exception.message if isinstance(exception, DiskFull) else MESSAGE
        return render(request, "507.html", {"message": message}, status=507)
