"""ensure_admin: one superuser, from the environment or with a password printed once."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


class Terminal(StringIO):
    def isatty(self):
        return True


def test_generated_password_is_printed_once_and_works(monkeypatch):
    monkeypatch.delenv("ENERGYWEB_ADMIN_USER", raising=False)
    monkeypatch.delenv("ENERGYWEB_ADMIN_PASSWORD", raising=False)
    out = Terminal()  # printed on a terminal only (tests/hardening covers output to a log)
    call_command("ensure_admin", stdout=out)
    password = re.search(r"password: (\S+)", out.getvalue()).group(1)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    again = StringIO()
    call_command("ensure_admin", stdout=again)
    assert "password" not in again.getvalue() and "nothing to do" in again.getvalue()
    assert get_user_model().objects.count() == 1


def test_credentials_from_environment(monkeypatch):
    monkeypatch.setenv("ENERGYWEB_ADMIN_USER", "ops")
    monkeypatch.setenv("ENERGYWEB_ADMIN_PASSWORD", "a-long-chosen-password")
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert "a-long-chosen-password" not in out.getvalue()
    ops = get_user_model().objects.get(username="ops")
    assert ops.is_staff and ops.check_password("a-long-chosen-password")
