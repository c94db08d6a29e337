"""Fixtures for the hardening tests: a client per role on the published reference catalogue."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.scheduling.conftest import make_reference


@pytest.fixture
def catalogue(db):
    hw, llms = make_reference()
    return hw, next(iter(llms.values()))


def _client(user=None) -> Client:
    # A 500 must come back as a response here, as a browser would see it, not as a raised error.
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def staff_web(staff_user):
    return _client(staff_user)


@pytest.fixture
def user_web(plain_user):
    return _client(plain_user)


@pytest.fixture
def anon_web():
    return _client()


def upload(data: bytes, name: str = "file.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)
