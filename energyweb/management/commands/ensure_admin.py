import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from energyweb.env import env_str


class Command(BaseCommand):
    help = (
        "Create an admin (superuser) account if none exists. The credentials come from "
        "ENERGYWEB_ADMIN_USER / ENERGYWEB_ADMIN_PASSWORD (and ENERGYWEB_ADMIN_EMAIL); without a "
        "password one is generated and printed once on a terminal; when the output is not a terminal "
        "(a log) it goes to VAR_DIR/initial-admin-password (mode 0600) instead."
    )

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin account exists; nothing to do.")
            return
        username = env_str("ENERGYWEB_ADMIN_USER") or "admin"
        password = env_str("ENERGYWEB_ADMIN_PASSWORD")
        email = env_str("ENERGYWEB_ADMIN_EMAIL", "")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email=email, password=password)
        if generated and not self.stdout.isatty():
            # Output going to a file or a pipe ends up in a log that is kept (CI keeps make run's):
            # the password goes to a file only this user can read, and the log names the file.
            path = Path(settings.VAR_DIR) / "initial-admin-password"
            path.unlink(missing_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(password + "\n")
            self.stdout.write(self.style.WARNING(
                f"Created admin account {username!r}; its generated password is in {path} (mode 0600). "
                "Read it, sign in, change it in /admin/, then delete the file."))
        elif generated:
            bar = "=" * 64
            self.stdout.write(self.style.WARNING(
                f"{bar}\nCreated admin account (shown only this once; change it in /admin/):\n"
                f"  username: {username}\n  password: {password}\n{bar}"))
        else:
            self.stdout.write(self.style.SUCCESS(f"Created admin account {username!r}."))
