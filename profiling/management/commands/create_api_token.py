from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from rest_framework.authtoken.models import Token

# What importing the settings creates in a fresh var dir (and nothing else may be there to remove it).
FRESH_VAR_FILES = ("secret_key", "energyweb.sqlite3", "energyweb.sqlite3-wal", "energyweb.sqlite3-shm")


class Command(BaseCommand):
    help = ("Print the REST API token of a user, creating it if needed (--reset replaces it). "
            "Use it as: Authorization: Token <key>.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reset", action="store_true", help="Replace an existing token.")

    def handle(self, *args, username, reset=False, **options):
        if Token._meta.db_table not in connection.introspection.table_names():
            where = connection.settings_dict["NAME"]
            connection.close()
            self._remove_fresh_var_dir()
            raise CommandError(
                f"No energyweb database at {where}. Run this command with the ENERGYWEB_VAR_DIR "
                "(or DATABASE_URL) that `make run` used, e.g. ENERGYWEB_VAR_DIR=/path/to/var "
                ".venv/bin/python manage.py create_api_token admin; or run `manage.py migrate` first.")
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"no user named {username!r} (create one with createsuperuser)") from None
        if reset:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)

    def _remove_fresh_var_dir(self):
        """Undo the empty var dir that importing the settings just made; touch nothing older."""
        if not settings.VAR_DIR_CREATED_NOW or settings.DATABASES["default"]["ENGINE"] != \
                "django.db.backends.sqlite3":
            return
        var = Path(settings.VAR_DIR)
        for name in FRESH_VAR_FILES:
            (var / name).unlink(missing_ok=True)
        for sub in (Path(settings.STATIC_ROOT), var):
            try:
                sub.rmdir()  # only if empty
            except OSError:
                pass
