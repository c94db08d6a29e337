"""Journeys: what a new operator does, step by step in Chromium, with screenshots kept.

Screenshots go to test-artifacts/journeys/ at the repository root (git-ignored; CI
leaves them in its clone), one per step, so a failed journey shows where it stopped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "journeys"


@pytest.fixture
def shot(request):
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    counter = {"n": 0}

    def take(page, label: str) -> Path:
        counter["n"] += 1
        path = folder / f"{counter['n']:02d}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
