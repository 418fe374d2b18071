"""A throwaway PostgreSQL cluster for tests: Debian's `postgresql` binaries, a temporary folder, a free
port, password authentication, run as a non-root user (PostgreSQL refuses root: as root the cluster runs
as the system user `zenlearn-pg`, created once with `useradd --system`, through `runuser`)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from system_programs import locate

PG_USER = "zenlearn-pg"


def pg_bin() -> Path:
    """The folder holding initdb / pg_ctl (tests using it carry `@pytest.mark.needs("postgres")`)."""
    found = locate("postgres")
    if found is None:
        raise RuntimeError("PostgreSQL server binaries not found; mark the test @pytest.mark.needs('postgres')")
    return Path(found)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER], check=True)
    return ["runuser", "-u", PG_USER, "--", *cmd]


@dataclass
class Cluster:
    """A running throwaway cluster: its URL (no password) and pg_ctl, to stop and start it (a real outage)."""

    url: str
    data: Path
    opts: str
    log: Path

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_user([str(pg_bin() / "pg_ctl"), "-D", str(self.data), *args]), check=True,
                       capture_output=True)

    def stop(self) -> None:
        """Stop as `pg_ctl stop` does by default (fast: clients are disconnected, as in a restart)."""
        self.pg_ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        self.pg_ctl("-o", self.opts, "-l", str(self.log), "-w", "start")


@contextmanager
def server(password: str, user: str = "tuner") -> Iterator[Cluster]:
    """Start a cluster; yields it (its URL: postgresql://user@127.0.0.1:PORT/postgres, without the password)."""
    bin_dir, port = pg_bin(), free_port()
    root = Path(tempfile.mkdtemp(prefix="zenlearn-pg-"))
    data, pwfile = root / "data", root / "pw"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        _as_user(["true"])  # creates the user
        shutil.chown(root, PG_USER)
        shutil.chown(pwfile, PG_USER)
    try:
        subprocess.run(_as_user([str(bin_dir / "initdb"), "-D", str(data), "-U", user, f"--pwfile={pwfile}",
                                 "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"]),
                       check=True, capture_output=True)
        c = Cluster(f"postgresql://{user}@127.0.0.1:{port}/postgres", data,
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", root / "log")
        c.start()
        try:
            yield c
        finally:
            subprocess.run(_as_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                           capture_output=True, check=False)  # best effort: the folder is removed anyway
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def cluster(password: str, user: str = "tuner") -> Iterator[str]:
    """Start a cluster; yields its URL without the password (postgresql://user@127.0.0.1:PORT/postgres)."""
    with server(password, user) as c:
        yield c.url
