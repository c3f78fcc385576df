#!/usr/bin/env python
"""A private PostgreSQL primary and hot standby under .data/<name>/, for the tests and the bench.

    pair = ensure_pair("pg")          # .data/pg/primary and .data/pg/standby
    pair.primary_url("firelater")     # postgres://postgres@%2F<socket dir>/firelater
    pair.pause_replay(); ...; pair.resume_replay()

Why private: the replica tests break the standby on purpose (pause its replay, delay it,
SIGKILL it), which nobody may do to a shared server; and a CI clone beside /work/main must
not share anything with it. So each cluster listens on a Unix socket in its own folder only
(listen_addresses = ''), never on a TCP port. The primary runs with fsync and
full_page_writes off: it only ever holds test data, and a crash is answered by `make
clean-data`. The standby is a `pg_basebackup -R` copy streaming through a replication slot
(so a standby stopped for a while catches up instead of missing WAL).

`ensure_pair` is idempotent: when both clusters already run it costs two short connections.
It restarts what is down, clears a stale postmaster.pid, and recreates a standby whose data
directory is broken (a standby holds nothing a basebackup cannot rebuild).

Command line (no Django, no venv needed for stop):
    python scripts/pg_pair.py [start|stop|status] [--name pg]
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import psycopg

# The checkout whose .data/ holds the pairs: this one, unless PG_PAIR_ROOT names another
# (make mutate runs the tests in a private copy of the tree, on the pair of the checkout).
ROOT = Path(os.environ.get("PG_PAIR_ROOT") or Path(__file__).resolve().parent.parent)
DATA = ROOT / ".data"
PORT = 5432  # the socket file's name (.s.PGSQL.5432) in each cluster's own socket folder
USER = "postgres"
SLOT = "standby"
SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with its NUL
INSTALL_HINT = "apt-get install -y postgresql"


class PairError(RuntimeError):
    """The pair cannot be made to run; the message says what to do."""


def say(message: str) -> None:
    print(f"[pg_pair] {message}", file=sys.stderr, flush=True)


def find_bindir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin (Debian's layout), else pg_ctl on PATH."""

    def version(path: str) -> tuple[int, ...]:
        number = Path(path).parent.parent.name
        return tuple(int(p) for p in number.split(".") if p.isdigit())

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=version, reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    raise PairError(
        "PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) are not installed; "
        f"the test suite runs its own primary and standby. Install them with:\n    {INSTALL_HINT}"
    )


def _as_owner() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its programs as the postgres user."""
    if os.geteuid() != 0:
        return []
    try:
        import pwd

        pwd.getpwnam(USER)
    except KeyError:
        raise PairError(
            f"running as root, but there is no '{USER}' user to own the clusters "
            f"({INSTALL_HINT} creates it)"
        ) from None
    return ["runuser", "-u", USER, "--"]


def _own(path: Path, mode: int = 0o700) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, USER, USER)
    path.chmod(mode)


def _process_state(pid: int) -> str | None:
    """The state letter of /proc/<pid>/stat (R, S, T for stopped, Z), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def _cwd(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


@dataclass(frozen=True)
class Cluster:
    """One cluster: its data directory, its socket folder and its log, in `folder`."""

    role: str  # "primary" or "standby"
    folder: Path
    bindir: Path

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        """`folder`/run, or a short folder under /tmp when that path is too long for a
        Unix socket (a deeply nested checkout)."""
        own = self.folder / "run"
        if len(str(own)) + len(f"/.s.PGSQL.{PORT}") <= SOCKET_PATH_MAX:
            return own
        digest = hashlib.sha1(str(self.folder).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"fl-pg-{digest}"

    def dsn(self, db: str = "postgres") -> str:
        return f"host={self.socket_dir} port={PORT} user={USER} dbname={db} connect_timeout=2"

    def url(self, db: str) -> str:
        return f"postgres://{USER}@{quote(str(self.socket_dir), safe='')}/{db}"

    def connect(self, db: str = "postgres") -> psycopg.Connection[Any]:
        import psycopg

        return psycopg.connect(self.dsn(db), autocommit=True)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row of `sql`, on a connection of its own."""
        with self.connect() as conn:
            row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
            return row[0] if row else None

    def answers(self) -> bool:
        import psycopg

        if not (self.socket_dir / f".s.PGSQL.{PORT}").exists():
            return False
        try:
            with self.connect() as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    @property
    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_as_owner(), str(self.bindir / "pg_ctl"), "-D", str(self.data), *args],
            check=check,
            capture_output=True,
            text=True,
        )

    # --- processes -------------------------------------------------------------------

    def postmaster_pid(self) -> int | None:
        """The pid of this cluster's live postmaster, else None (a stale postmaster.pid
        naming a dead or unrelated process counts as none)."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        if _process_state(pid) in (None, "Z") or _cwd(pid) != str(self.data.resolve()):
            return None
        return pid

    def leftover_pids(self) -> list[int]:
        """Processes still working in the data directory (the children of a killed
        postmaster): a new postmaster cannot start until they are gone."""
        data = str(self.data.resolve())
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _cwd(int(entry.name)) == data:
                pids.append(int(entry.name))
        return pids

    def _clear_leftovers(self) -> None:
        """Wait for a killed postmaster's children to exit (they notice its death at once),
        then SIGKILL any that did not; remove the stale lock files."""
        deadline = time.monotonic() + 5
        while (pids := self.leftover_pids()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for stale in (
            self.data / "postmaster.pid",
            self.socket_dir / f".s.PGSQL.{PORT}.lock",
            self.socket_dir / f".s.PGSQL.{PORT}",
        ):
            if stale.exists():
                if stale.name == "postmaster.pid":
                    say(f"{self.role}: removing a stale {stale}")
                stale.unlink(missing_ok=True)

    def write_config(self) -> None:
        """Settings of our own, in pair.conf (included by postgresql.conf), written on every
        start so that a change to this script reaches existing clusters."""
        settings = {
            "listen_addresses": "''",
            "port": str(PORT),
            "unix_socket_directories": f"'{self.socket_dir}'",
            # Test data only: nothing is worth an fsync. synchronous_commit stays on (with
            # fsync off it costs a write(), no flush) so that a commit has reached the WAL
            # the standby streams, and pg_current_wal_lsn() after it is past its record,
            # as on a production primary: the replica's lag checks depend on that.
            "fsync": "off",
            "full_page_writes": "off",
            "synchronous_commit": "on",
            "wal_level": "replica",
            "max_wal_senders": "5",
            "max_replication_slots": "5",
            "max_slot_wal_keep_size": "'4GB'",  # a standby dead for good must not fill the disk
            "max_connections": "200",
            "shared_buffers": "'128MB'",
            "hot_standby": "on",
            "hot_standby_feedback": "on",  # the primary's vacuum cancels no standby query
            "max_standby_streaming_delay": "'1s'",
            "wal_receiver_status_interval": "'1s'",
            "wal_retrieve_retry_interval": "'200ms'",  # reconnect soon after a restart
            "log_min_messages": "warning",
            "log_line_prefix": "'%m [%p] '",
        }
        body = "".join(f"{key} = {value}\n" for key, value in settings.items())
        header = "# Written by scripts/pg_pair.py on every start; edit the script, not this.\n"
        (self.data / "pair.conf").write_text(header + body)
        conf = self.data / "postgresql.conf"
        include = "include 'pair.conf'\n"
        if include not in conf.read_text():
            with conf.open("a") as out:
                out.write("\n" + include)
        if os.geteuid() == 0:
            shutil.chown(self.data / "pair.conf", USER, USER)

    def start(self) -> None:
        """Start the cluster unless it already answers; a stopped (SIGSTOP) postmaster is
        continued, a stale postmaster.pid or a killed postmaster's children are cleared."""
        if self.answers():
            return
        pid = self.postmaster_pid()
        if pid is not None:
            if _process_state(pid) == "T":
                say(f"{self.role}: its postmaster {pid} was stopped (SIGSTOP); continuing it")
                for child in self.leftover_pids():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child, signal.SIGCONT)
            if self._wait(self.answers, 10):
                return
            raise PairError(
                f"{self.role}: postmaster {pid} runs but does not answer on "
                f"{self.socket_dir}; see {self.log} (make clean-data starts afresh)"
            )
        self._clear_leftovers()
        _own(self.socket_dir, 0o755)
        self.write_config()
        say(f"starting the {self.role} ({self.data})")
        result = self.pg_ctl("-l", str(self.log), "-w", "-t", "60", "start", check=False)
        if result.returncode != 0 or not self._wait(self.answers, 10):
            raise PairError(
                f"{self.role} did not start: {result.stdout.strip()} {result.stderr.strip()}\n"
                f"last lines of {self.log}:\n{self.log_tail()}"
            )

    def stop(self, mode: str = "fast") -> None:
        if self.postmaster_pid() is None:
            self._clear_leftovers()
            return
        self.pg_ctl("-m", mode, "-w", "-t", "60", "stop", check=False)
        self._clear_leftovers()

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash, as a fault test wants it); its children exit
        on their own when they notice, and `start` waits for them."""
        pid = self.postmaster_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while _process_state(pid) not in (None, "Z") and time.monotonic() < deadline:
                time.sleep(0.01)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    @staticmethod
    def _wait(check: Any, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.05)
        return bool(check())


class Pair:
    """A primary and its hot standby. Every method connects afresh (a Unix socket costs
    about a millisecond), so a method works across a kill or a restart of either."""

    def __init__(self, name: str = "pg", root: Path = ROOT, bindir: Path | None = None) -> None:
        self.name = name
        self.folder = root / ".data" / name
        self._bindir = bindir

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir

    @property
    def primary(self) -> Cluster:
        return Cluster("primary", self.folder / "primary", self.bindir)

    @property
    def standby(self) -> Cluster:
        return Cluster("standby", self.folder / "standby", self.bindir)

    # Cluster folders without needing the binaries (URLs are known before anything runs).
    def _cluster(self, role: str) -> Cluster:
        return Cluster(role, self.folder / role, self._bindir or Path("/nonexistent"))

    def primary_url(self, db: str) -> str:
        return self._cluster("primary").url(db)

    def standby_url(self, db: str) -> str:
        return self._cluster("standby").url(db)

    def primary_dsn(self, db: str) -> str:
        return self._cluster("primary").dsn(db)

    def standby_dsn(self, db: str) -> str:
        return self._cluster("standby").dsn(db)

    # --- replication -----------------------------------------------------------------

    def primary_lsn(self) -> int:
        """The primary's pg_current_wal_lsn(), in bytes."""
        return int(self._cluster("primary").query("SELECT pg_current_wal_lsn() - '0/0'"))

    def standby_replay_lsn(self) -> int:
        """The standby's pg_last_wal_replay_lsn(), in bytes (0 before it replayed any)."""
        lsn = self._cluster("standby").query("SELECT pg_last_wal_replay_lsn() - '0/0'")
        return int(lsn or 0)

    def wait_caught_up(self, timeout: float = 10) -> None:
        """Return once the standby has replayed everything the primary has written now."""
        target = self.primary_lsn()
        deadline = time.monotonic() + timeout
        with self._cluster("standby").connect() as conn:
            while True:
                row = conn.execute("SELECT pg_last_wal_replay_lsn() - '0/0'").fetchone()
                replayed = int(row[0] or 0) if row else 0
                if replayed >= target:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the standby replayed up to {replayed}, the primary is at {target} "
                        f"(behind by {target - replayed} bytes) after {timeout} s; "
                        f"{self.describe_standby()}"
                    )
                time.sleep(0.005)

    def describe_standby(self) -> str:
        """Replay state and delay, for error messages."""
        try:
            with self._cluster("standby").connect() as conn:
                row = conn.execute(
                    "SELECT pg_get_wal_replay_pause_state(), "
                    "current_setting('recovery_min_apply_delay'), "
                    "(SELECT status FROM pg_stat_wal_receiver)"
                ).fetchone()
        except Exception as exc:
            return f"standby unreachable ({exc})"
        assert row is not None
        return f"replay {row[0]}, apply delay {row[1]}, wal receiver {row[2] or 'none'}"

    def pause_replay(self) -> None:
        """pg_wal_replay_pause(): no record received after this returns is applied until
        resume_replay() (the startup process checks before applying each record)."""
        self._cluster("standby").query("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self._cluster("standby").query("SELECT pg_wal_replay_resume()")

    def set_apply_delay(self, ms: int) -> None:
        """recovery_min_apply_delay on the standby (ALTER SYSTEM, then reload); returns once
        a new session sees the value, which the postmaster passes on with the reload."""
        standby = self._cluster("standby")
        with standby.connect() as conn:
            if ms:
                conn.execute(f"ALTER SYSTEM SET recovery_min_apply_delay = '{int(ms)}ms'")
            else:
                conn.execute("ALTER SYSTEM RESET recovery_min_apply_delay")
            conn.execute("SELECT pg_reload_conf()")
        want = f"{int(ms)}ms" if ms else "0"
        deadline = time.monotonic() + 5
        while standby.query("SHOW recovery_min_apply_delay") not in _delay_spellings(ms):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the standby did not take recovery_min_apply_delay={want}")
            time.sleep(0.01)
        # The startup process handles its SIGHUP in the same moment as the postmaster; a
        # short pause covers the scheduling of that one process.
        time.sleep(0.02)

    def stop_standby(self) -> None:
        self.standby.stop()

    def start_standby(self) -> None:
        self.standby.start()

    def kill_standby(self) -> None:
        self.standby.kill()

    # --- set-up ----------------------------------------------------------------------

    def healthy(self) -> bool:
        """Both answer and the standby streams from the primary."""
        import psycopg

        primary, standby = self._cluster("primary"), self._cluster("standby")
        if not (primary.answers() and standby.answers()):
            return False
        try:
            with standby.connect() as conn:
                row = conn.execute(
                    "SELECT pg_is_in_recovery(), (SELECT status FROM pg_stat_wal_receiver)"
                ).fetchone()
        except psycopg.Error:
            return False
        return row is not None and row[0] is True and row[1] == "streaming"

    def reset_standby(self) -> None:
        """Replay running, no apply delay: the state every test starts from (an interrupted
        test may have left it paused or delayed)."""
        standby = self._cluster("standby")
        with standby.connect() as conn:
            row = conn.execute(
                "SELECT pg_get_wal_replay_pause_state(), "
                "current_setting('recovery_min_apply_delay')"
            ).fetchone()
        assert row is not None
        if row[0] != "not paused":
            say("standby: its replay was left paused; resuming it")
            self.resume_replay()
        if row[1] not in ("0", "0ms"):
            say(f"standby: it was left with an apply delay of {row[1]}; removing it")
            self.set_apply_delay(0)

    def ensure(self) -> Pair:
        if self.healthy():
            self.reset_standby()
            return self
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        _own(self.folder, 0o755)
        primary = self.primary
        if not primary.initialized:
            self._initdb(primary)
        primary.start()
        self._ensure_standby()
        self.reset_standby()
        say(f"primary on {primary.socket_dir}, standby on {self.standby.socket_dir}: streaming")
        return self

    def _initdb(self, primary: Cluster) -> None:
        say(f"creating the primary in {primary.data} (initdb)")
        shutil.rmtree(primary.data, ignore_errors=True)
        _own(primary.folder, 0o755)
        _own(primary.data)
        subprocess.run(
            [
                *_as_owner(),
                str(self.bindir / "initdb"),
                "-D",
                str(primary.data),
                "-U",
                USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def _ensure_standby(self) -> None:
        standby = self.standby
        broken = None
        if not standby.initialized:
            broken = "it does not exist yet"
        elif not (standby.data / "standby.signal").exists():
            broken = "its data directory is not a standby's (no standby.signal)"
        if broken is None:
            try:
                standby.start()
                if self._streams(15):
                    return
                broken = "it does not stream from the primary; its last log lines:\n"
                broken += standby.log_tail()
            except PairError as exc:
                broken = str(exc)
            standby.kill()
            standby.stop()
        say(f"standby: (re)creating it with pg_basebackup, as {broken}")
        self._basebackup()
        standby.start()
        if not self._streams(30):
            raise PairError(
                f"the new standby does not stream from the primary; see {standby.log}:\n"
                f"{standby.log_tail()}"
            )

    def _streams(self, seconds: float) -> bool:
        def streaming() -> bool:
            try:
                return (
                    self._cluster("standby").query(
                        "SELECT status = 'streaming' FROM pg_stat_wal_receiver"
                    )
                    is True
                )
            except Exception:
                return False

        return Cluster._wait(streaming, seconds)

    def _basebackup(self) -> None:
        standby = self.standby
        shutil.rmtree(standby.data, ignore_errors=True)
        _own(standby.folder, 0o755)
        _own(standby.data)
        primary = self.primary
        with primary.connect() as conn:
            # A slot still held by the old standby's walsender cannot be dropped.
            conn.execute(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                "WHERE slot_name = %s AND active_pid IS NOT NULL",
                [SLOT],
            )
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT active FROM pg_replication_slots WHERE slot_name = %s", [SLOT]
                ).fetchone()
                if row is None:
                    break
                if not row[0]:
                    conn.execute("SELECT pg_drop_replication_slot(%s)", [SLOT])
                    break
                time.sleep(0.05)
        subprocess.run(
            [
                *_as_owner(),
                str(self.bindir / "pg_basebackup"),
                "-h",
                str(primary.socket_dir),
                "-p",
                str(PORT),
                "-U",
                USER,
                "-D",
                str(standby.data),
                "-R",  # standby.signal and primary_conninfo
                "-X",
                "stream",
                "-C",
                "-S",
                SLOT,
                "-c",
                "fast",
                "--no-sync",
            ],
            check=True,
        )
        standby.write_config()  # its own socket folder instead of the primary's

    def stop(self) -> None:
        for cluster in (self.standby, self.primary):
            if cluster.initialized:
                cluster.stop()

    def status(self) -> str:
        lines = []
        for role in ("primary", "standby"):
            cluster = self._cluster(role)
            state = "answers" if cluster.answers() else "down"
            lines.append(f"{role}: {state} on {cluster.socket_dir} ({cluster.url('<db>')})")
        if self._cluster("standby").answers():
            lines.append("standby: " + self.describe_standby())
        return "\n".join(lines)


def _delay_spellings(ms: int) -> set[str]:
    """How SHOW prints recovery_min_apply_delay: 0, 500ms, 2s, 1min..."""
    ms = int(ms)
    spellings = {f"{ms}ms"}
    if ms == 0:
        spellings.add("0")
    if ms and ms % 1000 == 0:
        spellings.add(f"{ms // 1000}s")
    if ms and ms % 60000 == 0:
        spellings.add(f"{ms // 60000}min")
    if ms and ms % 3600000 == 0:
        spellings.add(f"{ms // 3600000}h")
    return spellings


def stops_after_tests() -> bool:
    """In CI (CI=true, as CI services and .ci/run's callers set it) the test run that
    started the pair stops it at its end, passed or failed: a CI clone leaves no postmaster
    behind. A developer's pair keeps running, so the next run starts in a fraction of a
    second (`python scripts/pg_pair.py stop` or `make clean-data` stops it)."""
    return os.environ.get("CI", "").lower() == "true"


def ensure_pair(name: str = "pg", root: Path = ROOT) -> Pair:
    """The pair .data/<name>/{primary,standby} under `root`, running and streaming."""
    return Pair(name, root).ensure()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"], nargs="?", default="start")
    parser.add_argument("--name", default="pg", help="the pair's folder under .data (pg)")
    parser.add_argument("--all", action="store_true", help="stop: every pair under .data")
    args = parser.parse_args(argv)
    try:
        if args.command == "stop":
            names = [p.parent.name for p in DATA.glob("*/primary")] if args.all else [args.name]
            for name in names:
                pair = Pair(name)
                if pair.folder.exists():
                    say(f"stopping the pair in {pair.folder}")
                    pair.stop()
        elif args.command == "status":
            print(Pair(args.name).status())
        else:
            pair = ensure_pair(args.name)
            print(pair.primary_url("postgres"))
    except PairError as exc:
        sys.exit(f"[pg_pair] {exc}")


if __name__ == "__main__":
    main()
