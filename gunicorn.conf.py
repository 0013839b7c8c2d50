"""gunicorn's settings for a production node: `gunicorn -c gunicorn.conf.py` (GUNICORN_CMD_ARGS overrides
any of them).

PORT (8000) and WEB_CONCURRENCY (2 × CPUs + 1 workers) come from the environment. The application writes
its own access line with the request id (app.observability), so gunicorn's is off. With
PROMETHEUS_MULTIPROC_DIR set (a directory of this node's own, e.g. on tmpfs), the workers share their
metrics through it: it is emptied at start and tidied after each worker that ends.
"""
import glob
import os

from prometheus_client import multiprocess

wsgi_app = "app:create_app()"
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))
# Each worker builds its own application (and its own database pool) after the fork.
preload_app = False
# An operation may run the engine for ENGINE_SECONDS (20 s) and its sandboxed scripts besides.
timeout = 60
graceful_timeout = 30
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
if os.path.isdir("/dev/shm"):  # the workers' heartbeat files off a disk that may stall
    worker_tmp_dir = "/dev/shm"

_METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    # Samples of a previous run's workers would otherwise be added to this run's.
    if _METRICS_DIR:
        os.makedirs(_METRICS_DIR, exist_ok=True)
        for stale in glob.glob(os.path.join(_METRICS_DIR, "*.db")):
            os.remove(stale)


def child_exit(server, worker):
    if _METRICS_DIR:
        multiprocess.mark_process_dead(worker.pid)
