"""Helpers shared by the importers' tests: an upload, a background job's stored file, media listings."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile


def upload(data: bytes, name: str = "big.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def stored(job) -> Path:
    """Where a background import job keeps its upload."""
    return Path(settings.MEDIA_ROOT) / job.stored_file


def files_in(media: Path) -> list[str]:
    return sorted(p.name for p in media.rglob("*") if p.is_file()) if media.exists() else []
