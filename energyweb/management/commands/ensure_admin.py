import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from energyweb.env import env_str


class Command(BaseCommand):
    help = (
        "Create an admin (superuser) account if none exists. The credentials come from "
        "ENERGYWEB_ADMIN_USER / ENERGYWEB_ADMIN_PASSWORD (and ENERGYWEB_ADMIN_EMAIL); without a "
        "password one is generated and printed once; it is stored nowhere else."
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
        if generated:
            bar = "=" * 64
            self.stdout.write(self.style.WARNING(
                f"{bar}\nCreated admin account (shown only this once; change it in /admin/):\n"
                f"  username: {username}\n  password: {password}\n{bar}"))
        else:
            self.stdout.write(self.style.SUCCESS(f"Created admin account {username!r}."))
