"""A throwaway PostgreSQL server for the tests: ``initdb`` into a temporary folder, ``pg_ctl``
start on a free loopback port (trust authentication, loopback only), stopped and removed at
the end.

``initdb`` and ``postgres`` refuse to run as root; as root the server runs as the ``postgres``
user (Debian's ``postgresql`` package creates it) through ``runuser``. The binaries are found
on PATH or in Debian's ``/usr/lib/postgresql/<version>/bin``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class NoServer(Exception):
    """Why no PostgreSQL server could be started here (the test is skipped with it)."""


def find_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version)
    if not candidates:
        raise NoServer(
            f"no {name} on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        )
    return candidates[-1]


def _version(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self):
        self.initdb, self.pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
        self.prefix: list[str] = []
        self.user = pwd.getpwuid(os.getuid()).pw_name
        if os.getuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise NoServer("running as root and there is no 'postgres' user to run the server")
            self.prefix, self.user = ["runuser", "-u", "postgres", "--"], "postgres"
        self.folder = Path(tempfile.mkdtemp(prefix="rewardkit-pg-"))
        if self.prefix:
            shutil.chown(self.folder, "postgres")
        self.data = self.folder / "data"
        self.port = free_port()

    def run(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise NoServer(
                f"{Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()[-300:]}"
            )
        return done

    def start(self) -> str:
        """Start the server; returns the SQLAlchemy URL of an empty database ``rewardkit``."""
        self.run(self.initdb, "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8")
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c max_connections=200 -c fsync=off"
        )
        self.run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )
        url = f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"
        self.wait(url)
        return url

    def wait(self, url: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(url, poolclass=None)
        deadline = time.monotonic() + 30
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                break
            except Exception as err:  # still starting
                if time.monotonic() > deadline:
                    raise NoServer(f"server did not answer: {err}") from None
                time.sleep(0.2)
        engine.dispose()

    def new_database(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        base = f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"
        engine = create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.folder, ignore_errors=True)
