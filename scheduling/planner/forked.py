"""Split a list of independent, pure computations over forked processes (both cores of a worker).

A sweep's zetas are independent problems on one shared aggregation: a forked child reads the
parent's arrays copy-on-write (nothing is sent to it) and sends back only its results, pickled
through a pipe. Plain ``os.fork`` rather than multiprocessing: a Celery prefork worker's pool
process is daemonic, and multiprocessing refuses daemonic processes children.

Rules that keep it safe:

- ``fn`` must be pure (numpy, OR-Tools): a child never touches the database, the broker or
  the parent's open files; it leaves with ``os._exit`` so no atexit handler, no connection close
  and no buffered log is run twice.
- A child dies with its parent (Linux ``PR_SET_PDEATHSIG``): a worker killed with SIGKILL
  leaves no orphan computing for nobody.
- Whatever goes wrong in a child (an exception, a crash, a signal, an unreadable answer), the
  parent computes that part itself: the answer never depends on the fork working, only the wall
  time does. A child's exception is not re-raised from the child: the parent's own run of the
  same part raises it, with its real traceback.
- The parent's exceptions (a cancelled job's progress callback) kill and reap the children.

``processes`` comes from ``ENERGYWEB_PLAN_PROCESSES`` (default: the CPUs this process may use,
at most 2; 1 turns forking off). Results are returned in input order.

BLAS runs on one thread meanwhile (threadpoolctl; the children inherit it): the planner's
BLAS calls are memory-bound dot products, and OpenBLAS's idle threads spin. With the default
(a thread per core) two processes each kept two spinning threads on two cores, and a 1M
101-point sweep took 18.3 s wall against 8.8 s with one BLAS thread each (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import ctypes
import os
import pickle
import select
import signal
import struct
from collections.abc import Callable, Sequence

from threadpoolctl import threadpool_limits

MAX_PROCESSES = 2
_HEADER = struct.Struct("<Q")
# A progress tick is one byte on its own pipe; the result goes on another.
_TICK = b"."


def default_processes() -> int:
    raw = os.environ.get("ENERGYWEB_PLAN_PROCESSES", "").strip()
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_PROCESSES, cpus))


def chunks(n: int, parts: int) -> list[range]:
    """``parts`` contiguous ranges covering 0..n-1, sizes differing by at most one (first ones larger)."""
    parts = max(1, min(parts, n)) if n else 1
    base, extra = divmod(n, parts)
    out, start = [], 0
    for i in range(parts):
        size = base + (1 if i < extra else 0)
        out.append(range(start, start + size))
        start += size
    return out


def map_chunks(fn: Callable[[Sequence, Callable[[], None]], list], items: Sequence, *, processes: int | None = None,
               progress: Callable[[int], None] | None = None) -> tuple[list, dict]:
    """fn(chunk, tick) -> one result per item of ``chunk``; returns (results in order, stats).

    ``tick()`` is called by ``fn`` after each item; ``progress(done)`` is called in the parent
    with the number of items done over all processes (the children's ticks arrive by pipe).
    The first chunk runs in the parent; each other chunk in a forked child, or in the parent
    when the fork fails or the child does.
    stats: {"processes": used, "fallbacks": chunks the parent had to redo}.
    """
    processes = default_processes() if processes is None else max(1, int(processes))
    with threadpool_limits(limits=1, user_api="blas"):
        return _map_chunks(fn, items, processes, progress)


def _map_chunks(fn, items, processes, progress):
    parts = chunks(len(items), processes)
    stats = {"processes": 1, "fallbacks": 0}
    done = [0]

    def tick_parent():
        done[0] += 1
        _drain_ticks(children, done)
        if progress:
            progress(done[0])

    children: list[_Child] = []
    try:
        for part in parts[1:]:
            child = _Child.start(fn, [items[i] for i in part])
            if child is not None:
                children.append(child)
            else:
                children.append(_Child.failed([items[i] for i in part]))
        stats["processes"] = 1 + sum(1 for c in children if c.pid)
        results = list(fn([items[i] for i in parts[0]], tick_parent))
        for child in children:
            got = child.collect(done, progress)
            if got is None or len(got) != len(child.items):
                stats["fallbacks"] += 1
                # Ticks from the lost child are not counted twice: progress resumes from the parent's count.
                got = list(fn(child.items, tick_parent))
            results.extend(got)
        return results, stats
    finally:
        for child in children:
            child.kill()


def _drain_ticks(children, done) -> None:
    for child in children:
        done[0] += child.read_ticks()


class _Child:
    def __init__(self, pid: int, items: list, result_fd: int, tick_fd: int):
        self.pid, self.items, self.result_fd, self.tick_fd = pid, items, result_fd, tick_fd
        self.ticks = 0

    @classmethod
    def failed(cls, items):
        return cls(0, items, -1, -1)

    @classmethod
    def start(cls, fn, items):
        try:
            result_r, result_w = os.pipe()
            tick_r, tick_w = os.pipe()
        except OSError:
            return None
        parent_pid = os.getpid()
        try:
            pid = os.fork()
        except OSError:
            for fd in (result_r, result_w, tick_r, tick_w):
                os.close(fd)
            return None
        if pid == 0:  # the child: compute, send, leave without any cleanup of the parent's state
            code = 1
            try:
                os.close(result_r)
                os.close(tick_r)
                _die_with_parent(parent_pid)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which kills us

                def tick():
                    os.write(tick_w, _TICK)

                payload = pickle.dumps(list(fn(items, tick)), protocol=pickle.HIGHEST_PROTOCOL)
                _write_all(result_w, _HEADER.pack(len(payload)) + payload)
                code = 0
            except BaseException:  # noqa: BLE001 - the parent redoes this part and raises there
                code = 1
            finally:
                os._exit(code)
        os.close(result_w)
        os.close(tick_w)
        os.set_blocking(tick_r, False)
        return cls(pid, items, result_r, tick_r)

    def read_ticks(self) -> int:
        if self.tick_fd < 0:
            return 0
        got = 0
        while True:
            try:
                data = os.read(self.tick_fd, 4096)
            except BlockingIOError:
                break
            except OSError:
                break
            if not data:
                break
            got += len(data)
        self.ticks += got
        return got

    def collect(self, done, progress) -> list | None:
        """The child's results (blocking until it finishes), or None if it failed."""
        if not self.pid:
            return None
        buf = bytearray()
        try:
            while True:
                ready, _, _ = select.select([self.result_fd, self.tick_fd], [], [])
                if self.tick_fd in ready:
                    n = self.read_ticks()
                    if n:
                        done[0] += n
                        if progress:
                            progress(done[0])
                if self.result_fd in ready:
                    data = os.read(self.result_fd, 1 << 20)
                    if not data:
                        break
                    buf += data
        except OSError:
            return None
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if status != 0 or len(buf) < _HEADER.size:
            self._forget_ticks(done)
            return None
        (size,) = _HEADER.unpack_from(buf)
        if len(buf) != _HEADER.size + size:
            self._forget_ticks(done)
            return None
        try:
            return pickle.loads(memoryview(buf)[_HEADER.size:])
        except Exception:  # noqa: BLE001 - an unreadable answer: the parent redoes the part
            self._forget_ticks(done)
            return None

    def _forget_ticks(self, done) -> None:
        done[0] -= self.ticks  # the parent redoes these items and ticks them again
        self.ticks = 0

    def kill(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = 0
        for fd in (self.result_fd, self.tick_fd):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.result_fd = self.tick_fd = -1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _die_with_parent(parent_pid: int) -> None:
    """SIGKILL this process when its parent dies (Linux prctl); then check the parent did not die already."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent_pid:
        os._exit(1)
