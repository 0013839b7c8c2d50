"""A worker process that runs definition text for app.engine.isolation, started with an empty
environment: it limits its own memory, files and output, then answers evaluations one at a time on
standard input and output (length-prefixed JSON). The application's own helpers are called in the
parent, by asking for them."""
from __future__ import annotations

import os
import resource
import sys
from datetime import datetime

from app.calendar import clock
from app.engine import isolation, sandbox


def _limit_this_process() -> None:
    """Memory: what the interpreter holds now plus SANDBOX_MEMORY_MB; no files written or opened (every
    descriptor it needs is open already: the two pipes and the error stream); no children."""
    page = os.sysconf("SC_PAGE_SIZE")
    with open("/proc/self/statm", encoding="ascii") as statm:
        in_use = int(statm.read().split()[0]) * page
    allowed = in_use + int(os.environ.get("SANDBOX_MEMORY_MB", "256")) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (allowed, allowed))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest, highest))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def _warm_up() -> None:
    """Import and compute, once, what the helpers need later (the calendar's holidays), since the
    worker opens no file after it limited itself."""
    clock.set(datetime.now().astimezone())
    for text in ("working_days(1) < working_hours(1) or day_after_month('2000-01', 2) or now()",
                 "datetime_from_iso('2000-01-01T00:00:00+08:00') and Decimal('1.5')"):
        sandbox.evaluate_here(text, {}, None, sandbox.HELPERS)


def _calling_the_parent(name: str, requests, answers):
    def helper(*args):
        answers.write(isolation.encode({"call": name, "args": list(args)}))
        answers.flush()
        reply = isolation.read_message(requests)
        if reply is None:
            sys.exit(0)
        if "error" in reply:
            raise sandbox._error(reply["error"], reply["message"])
        return reply["value"]
    return helper


def answer(request: dict, requests, answers) -> dict:
    clock.set(datetime.fromisoformat(request["now"]))
    helpers = {**sandbox.HELPERS, **{name: _calling_the_parent(name, requests, answers) for name in request["remote"]}}
    context, external = request["context"], request["external"] or None
    try:
        if request["op"] == "evaluate":
            return {"value": sandbox.evaluate_here(request["text"], context, external, helpers)}
        before = set(context)
        sandbox.execute_here(request["text"], context, external, helpers)
        return {"context": context, "deleted": sorted(before - set(context))}
    except (MemoryError, sandbox.ScriptLimitExceeded) as exc:
        return {"limit": str(exc) or "a definition ran out of memory"}
    except Exception as exc:  # the definition's own error: the parent raises it as the same kind
        return {"error": type(exc).__name__, "message": str(exc)}


def serve() -> None:
    _warm_up()
    _limit_this_process()
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while (request := isolation.read_message(requests)) is not None:
        reply = answer(request, requests, answers)
        try:
            message = isolation.encode(reply)
        except MemoryError:
            message = isolation.encode({"limit": "a definition built too much data"})
        except TypeError as exc:  # a value JSON cannot carry (a function, say)
            message = isolation.encode({"error": "TypeError", "message": str(exc)})
        answers.write(message)
        answers.flush()


if __name__ == "__main__":
    serve()
