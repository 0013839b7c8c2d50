"""Definition text under hard bounds: it runs in worker processes of their own interpreter, started
once and reused, with nothing of the application in them (no database, no configuration, an emptied
environment), a memory limit (RLIMIT_AS), no new files, and a wall-clock limit that the parent enforces
by killing the worker. Nothing the text does, neither an `except:` that swallows the stop nor one huge
C-level operation, outlasts the bound.

The helpers the application plugs in (which may read the database) run here, in the parent, when the
worker asks for them, inside the same wall-clock bound. Messages are length-prefixed JSON both ways;
the parent never unpickles what a worker sends.
"""
from __future__ import annotations

import os
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent.parent
_HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024 * 1024  # what a worker may send back at once (a script's whole task data)


class Bounded(BaseException):
    """The definition text hit a bound (time or memory). A BaseException, as the sandbox's own stops, so
    that no `except Exception` on the way swallows it."""


@dataclass(frozen=True)
class Limits:
    seconds: float = 2.0  # wall clock, per evaluation, helper calls included
    memory_mb: int = 256  # beyond what the worker's interpreter needs to start
    steps: int = 10_000  # engine steps one operation (a start, a completion, a timer) may run
    operation_seconds: float = 20.0  # and its wall time


# -- the wire ---------------------------------------------------------------------------------------

def _tagged(value):
    """What JSON has no type for, tagged (orjson's `default`)."""
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"a definition cannot pass a {type(value).__name__}")


def _untagged(value):
    if isinstance(value, dict):
        if len(value) == 1:
            (key, text), = value.items()
            if key == "$decimal":
                return Decimal(text)
            if key == "$datetime":
                return datetime.fromisoformat(text)
            if key == "$date":
                return date.fromisoformat(text)
        return {key: _untagged(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_untagged(item) for item in value]
    return value


def encode(message: dict) -> bytes:
    body = orjson.dumps(message, default=_tagged, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS)
    return _HEADER.pack(len(body)) + body


def decode(body: bytes) -> dict:
    message = orjson.loads(body)
    return _untagged(message) if b'"$' in body else message


def read_message(stream) -> dict | None:
    """A message from a blocking stream (the worker's side); None at its end."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack(header)
    return decode(stream.read(length))


# -- the parent's side --------------------------------------------------------------------------------

class _Worker:
    def __init__(self, limits: Limits):
        # An environment of its own: the application's secrets (SECRET_KEY, DATABASE_URL …) stay here.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
               "PYTHONDONTWRITEBYTECODE": "1", "SANDBOX_MEMORY_MB": str(limits.memory_mb)}
        self.process = subprocess.Popen([sys.executable, "-m", "app.engine.sandbox_worker"], cwd="/",
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True)
        self.buffer = b""

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()

    def send(self, message: dict) -> None:
        self.process.stdin.write(encode(message))
        self.process.stdin.flush()

    def receive(self, deadline: float) -> dict:
        """The next message, or Bounded once `deadline` (time.monotonic) passes or the worker died."""
        fd = self.process.stdout.fileno()
        while True:
            if len(self.buffer) >= _HEADER.size:
                (length,) = _HEADER.unpack_from(self.buffer)
                if length > MAX_MESSAGE:
                    raise Bounded(f"a definition produced more than {MAX_MESSAGE // (1024 * 1024)} MB of data")
                if len(self.buffer) >= _HEADER.size + length:
                    body = self.buffer[_HEADER.size:_HEADER.size + length]
                    self.buffer = self.buffer[_HEADER.size + length:]
                    return decode(body)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise Bounded("timeout")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise Bounded("died")
            self.buffer += chunk


class Evaluators:
    """A small pool of workers, shared by the threads of one process and started on first use. A worker
    that hit a bound is killed and replaced; the others go on serving."""

    def __init__(self, limits: Limits, helpers: dict[str, Callable], size: int = 4):
        self.limits, self.helpers, self.size = limits, helpers, size
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
        return _Worker(self.limits)

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if len(self._idle) < self.size:
                self._idle.append(worker)
                return
        worker.kill()

    def run(self, request: dict):
        """Send one evaluation (see app.engine.sandbox_worker) and wait for its answer, serving the
        worker's calls of the application's helpers meanwhile; Bounded when it runs out of time or memory."""
        worker = self._take()
        deadline = time.monotonic() + self.limits.seconds
        try:
            worker.send({**request, "remote": sorted(self.helpers)})
            while True:
                reply = worker.receive(deadline)
                if "call" not in reply:
                    break
                worker.send(self._serve(reply))
        except (Bounded, OSError) as exc:
            worker.kill()
            why = str(exc) if isinstance(exc, Bounded) and str(exc) not in ("timeout", "died") else None
            raise Bounded(why or self._why(exc)) from None
        self._give_back(worker)
        if "limit" in reply:
            raise Bounded(reply["limit"])
        return reply

    def _serve(self, call: dict) -> dict:
        try:
            return {"value": self.helpers[call["call"]](*call["args"])}
        except Exception as exc:  # the helper's failure is the definition's error, as in-process
            return {"error": type(exc).__name__, "message": str(exc)}

    def _why(self, exc: BaseException) -> str:
        if str(exc) == "died":
            return f"a definition used more than {self.limits.memory_mb} MB of memory"
        return f"a definition ran longer than {self.limits.seconds:g} s"

    def close(self) -> None:
        with self._lock:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.kill()
