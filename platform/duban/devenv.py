"""Local services for `make demo` and `make test` on a machine with nothing set up.

* With no ``DATABASE_URL``: an embedded PostgreSQL (the binaries of the ``pgserver`` package)
  whose data lives in ``.duban/pgdata`` and which listens on a Unix socket only.
  PostgreSQL refuses to run as root. pgserver's own answer, when run as root, is to add a system
  user and open up the permissions of every parent folder — changes outside the project that we
  do not make. Instead, as root, the server runs inside a user namespace (``unshare --user``) in
  which it has an ordinary uid that maps back to ours: it owns its files without any chown or
  chmod, and nothing outside ``.duban/`` is touched.
* With no ``CELERY_BROKER_URL``: kombu's filesystem transport under ``.duban/broker*``.

Usage::

    python -m duban.devenv run [--broker-dir NAME] -- COMMAND...   # services, then COMMAND
    python -m duban.devenv demo                                    # the whole product
    python -m duban.devenv pg start|stop|status
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg

DATABASE_NAME = "duban"


def project_dir() -> Path:
    here = Path(__file__).resolve().parent.parent.parent
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def data_dir() -> Path:
    path = Path(os.environ.get("DUBAN_DATA_DIR") or project_dir() / ".duban").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def say(message: str) -> None:
    print(f"[duban] {message}", file=sys.stderr, flush=True)


# --- embedded PostgreSQL ---------------------------------------------------------------------
class EmbeddedPostgres:
    def __init__(self, root: Path):
        self.root = root
        self.pgdata = root / "pgdata"
        self.log = root / "postgres.log"
        spec = importlib.util.find_spec("pgserver")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("duban: the pgserver package is not installed (run `make install`)")
        self.bin = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
        self.socket_dir = self._socket_dir()

    def _socket_dir(self) -> Path:
        preferred = self.root / "run"
        # Unix socket paths are limited to ~107 bytes.
        if len(str(preferred / ".s.PGSQL.5432")) <= 100:
            return preferred
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"duban-pg-{digest}"

    def _wrap(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        # An unprivileged uid inside a user namespace, mapped to root outside (see module doc).
        return ["unshare", "--user", "--map-user=1000", "--map-group=1000", *argv]

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(self._wrap([str(self.bin / argv[0]), *argv[1:]]), check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    @property
    def url(self) -> str:
        host = urllib.parse.quote(str(self.socket_dir), safe="")
        return f"postgresql://postgres@{host}/{DATABASE_NAME}"

    def is_running(self) -> bool:
        result = self._run("pg_ctl", "-D", str(self.pgdata), "status", check=False)
        return result.returncode == 0

    @contextlib.contextmanager
    def _lock(self):
        with open(self.root / "pg.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def start(self) -> bool:
        """Start the server if it is not running. True if this call started it."""
        with self._lock():
            if not (self.pgdata / "PG_VERSION").exists():
                say(f"initialising embedded PostgreSQL in {self.pgdata}")
                self.pgdata.mkdir(parents=True, exist_ok=True)
                self.pgdata.chmod(0o700)
                result = self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "-U", "postgres",
                                   "--encoding=UTF8", "--locale=C", check=False)
                if result.returncode != 0:
                    raise SystemExit(f"duban: initdb failed:\n{result.stdout}")
            started = False
            if not self.is_running():
                self.socket_dir.mkdir(parents=True, exist_ok=True)
                options = (f"-h '' -k {self.socket_dir} -c max_connections=400 "
                           f"-c shared_buffers=128MB -c synchronous_commit=off")
                result = self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-l", str(self.log),
                                   "-o", options, "start", check=False)
                if result.returncode != 0:
                    tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                    raise SystemExit(f"duban: could not start embedded PostgreSQL:\n{result.stdout}\n{tail}")
                started = True
            self._ensure_database()
            return started

    def _ensure_database(self) -> None:
        conninfo = f"host={self.socket_dir} user=postgres dbname=postgres"
        for attempt in range(50):
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                          [DATABASE_NAME]).fetchone()
                    if not exists:
                        conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
                return
            except psycopg.OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        with self._lock():
            self._stop()

    def _stop(self) -> None:
        if self.is_running():
            self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-m", "fast", "stop", check=False)
        (self.root / "pg-autostop").unlink(missing_ok=True)

    # Several runs (a demo, two test runs) may share the server: each registers while it uses
    # it, and the last one out stops it — if a run started it (`pg start` servers stay up).
    def acquire(self, started: bool) -> None:
        users = self.root / "pg-users"
        users.mkdir(exist_ok=True)
        with self._lock():
            (users / str(os.getpid())).touch()
            if started:
                (self.root / "pg-autostop").touch()

    def release(self) -> bool:
        """Unregister this process; stop the server if nobody else uses it. True if stopped."""
        users = self.root / "pg-users"
        with self._lock():
            (users / str(os.getpid())).unlink(missing_ok=True)
            alive = [f for f in users.iterdir() if _pid_alive(int(f.name))] if users.exists() else []
            for stale in (set(users.iterdir()) - set(alive)) if users.exists() else ():
                stale.unlink(missing_ok=True)
            if alive or not (self.root / "pg-autostop").exists():
                return False
            self._stop()
            return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- environment -----------------------------------------------------------------------------
def prepare_environment(broker_dir: str = "broker") -> tuple[dict[str, str], EmbeddedPostgres | None]:
    """The environment for Duban processes, starting the embedded services it lacks.

    Returns (environment, the embedded server if one is used — call its ``release()`` when
    done: the last user out stops it).
    """
    environ = dict(os.environ)
    started = None
    root = data_dir()
    if not environ.get("DATABASE_URL") and not environ.get("DATABASE_URL_FILE"):
        pg = EmbeddedPostgres(root)
        pg.acquire(pg.start())
        started = pg
        environ["DATABASE_URL"] = pg.url
        say(f"embedded PostgreSQL on {pg.socket_dir} (data in {pg.pgdata})")
    if not environ.get("CELERY_BROKER_URL") and not environ.get("CELERY_BROKER_URL_FILE"):
        environ["CELERY_BROKER_URL"] = "filesystem://"
        environ["DUBAN_BROKER_DIR"] = str(root / broker_dir)
        say(f"file-system broker in {root / broker_dir}")
    environ.setdefault("DUBAN_DATA_DIR", str(root))
    return environ, started


def duban(*args: str) -> list[str]:
    return [sys.executable, "-m", "duban.cli", *args]


# --- commands --------------------------------------------------------------------------------
def cmd_run(args) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise SystemExit("duban: devenv run needs a command after --")
    environ, started = prepare_environment(args.broker_dir)
    try:
        return subprocess.call(command, env=environ)
    finally:
        if started and not args.keep:
            started.release()


def wait_for_http(url: str, host: str, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers={"Host": host})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def relay_until_ready(stream, marker: bytes, ready: threading.Event) -> None:
    """Copy a child's log ``stream`` to ours line by line (its start-up logs stay on screen) and set
    ``ready`` at the first line holding ``marker`` (the Celery worker's "… ready.")."""
    for line in iter(stream.readline, b""):
        sys.stderr.buffer.write(line)
        sys.stderr.flush()
        if marker in line:
            ready.set()
    stream.close()


# Read in the demo's own environment (Django set up): where the seeded demo lives and who logs in.
DEMO_LOGINS = """
import json
from duban.demo.management.commands.seed_demo import COUNTIES, DEMO_PASSWORD, PEOPLE, PLATFORM_PEOPLE
from tenants import provisioning
print(json.dumps({"county": provisioning.county_url(COUNTIES[0][0]), "public": provisioning.public_url(),
                  "county_logins": [p[0] for p in PEOPLE], "public_logins": [p[0] for p in PLATFORM_PEOPLE],
                  "password": DEMO_PASSWORD}))
"""


def demo_ready_line(environ: dict[str, str]) -> str:
    """The one line `make demo` ends its start-up with: the URLs and the logins."""
    result = subprocess.run(duban("shell", "-v", "0", "-c", DEMO_LOGINS), env=environ, capture_output=True,
                            text=True)
    try:
        facts = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return "site is up (the demo's URLs and logins could not be read: see `duban seed_demo --summary`)"
    return (f"站点已就绪 site is up: 县 county {facts['county']} "
            f"({'/'.join(facts['county_logins'])}, t01…/d01… unit clerks) · "
            f"市与平台 city & platform {facts['public']} ({'/'.join(facts['public_logins'])}) · "
            f"密码 password {facts['password']} · Ctrl-C 停止 stops")


def cmd_demo(args) -> int:
    environ, started = prepare_environment("broker")
    environ.setdefault("DUBAN_ENV", "development")
    port = environ.get("DUBAN_PUBLIC_PORT", "8000")
    bind = environ.get("DUBAN_DEMO_BIND", f"127.0.0.1:{port}")
    base = environ.get("DUBAN_BASE_DOMAIN", "localhost")
    children: list[subprocess.Popen] = []

    def stop_all(*_):
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        if started and started.release():
            say("embedded PostgreSQL stopped")

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        for step in (("migrate_schemas", "--noinput"), ("seed_demo",), ("collectstatic", "--noinput", "-v", "0")):
            say("duban " + " ".join(step))
            if subprocess.call(duban(*step), env=environ) != 0:
                say(f"`duban {step[0]}` failed; stopping")
                return 1
        root = Path(environ["DUBAN_DATA_DIR"])
        # Each child in a session of its own: Ctrl-C reaches only this process, which stops them
        # once, in order. (Ctrl-C to the whole group made gunicorn's threaded workers take SIGINT
        # and then the master's SIGTERM mid-shutdown; one deadlocked and kept the port.)
        children.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "duban.wsgi", "--bind", bind, "--workers", "2",
             "--threads", "4", "--graceful-timeout", "10", "--access-logfile", "-", "--log-level", "warning"],
            env=environ, start_new_session=True))
        # The worker's log is relayed through us: its "… ready." line tells when it takes tasks.
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "duban.celery", "worker", "--loglevel", "INFO",
             "--concurrency", "2", "--hostname", "demo-worker@%h"], env=environ, start_new_session=True,
            stderr=subprocess.PIPE)
        children.append(worker)
        worker_ready = threading.Event()
        threading.Thread(target=relay_until_ready, args=(worker.stderr, b" ready.", worker_ready),
                         daemon=True).start()
        # `duban beat`: Celery beat behind a PostgreSQL advisory lock (one beat per database).
        children.append(subprocess.Popen(
            duban("beat", "--loglevel", "INFO", "--schedule", str(root / "celerybeat-schedule")), env=environ,
            start_new_session=True))
        if not wait_for_http(f"http://{bind}/healthz", base):
            say("the web server did not answer /healthz within 60 s; stopping")
            return 1
        deadline = time.monotonic() + 90
        while not worker_ready.wait(0.5):
            if worker.poll() is not None or time.monotonic() > deadline:
                say("the Celery worker did not report ready within 90 s; stopping")
                return 1
        subprocess.call(duban("seed_demo", "--summary"), env=environ)
        time.sleep(1)  # the worker's and beat's last start-up lines first, then ours, last on screen
        say(demo_ready_line(environ))
        while True:
            for child in children:
                if child.poll() is not None:
                    say(f"{' '.join(child.args[2:5])} exited with {child.returncode}; stopping")
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping…")
        return 0
    finally:
        stop_all()


def cmd_pg(args) -> int:
    pg = EmbeddedPostgres(data_dir())
    if args.action == "start":
        pg.start()
        print(pg.url)
    elif args.action == "stop":
        pg.stop()
    else:
        print(f"{'running' if pg.is_running() else 'stopped'}  {pg.url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m duban.devenv", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run a command with the local services")
    run.add_argument("--broker-dir", default="broker", help="folder under .duban for the file broker")
    run.add_argument("--keep", action="store_true", help="leave the embedded PostgreSQL running")
    run.add_argument("command", nargs=argparse.REMAINDER)
    run.set_defaults(func=cmd_run)
    demo = sub.add_parser("demo", help="migrate, seed and run web + worker + beat")
    demo.set_defaults(func=cmd_demo)
    pg = sub.add_parser("pg", help="control the embedded PostgreSQL")
    pg.add_argument("action", choices=("start", "stop", "status"))
    pg.set_defaults(func=cmd_pg)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
