"""A throwaway PostgreSQL server for the database tests (shared by every test folder).

PostgreSQL refuses to run as root, so as root the cluster is created and started as the
`postgres` user (runuser), in a temporary folder, on a free loopback port. `make test`
installs Debian's postgresql package first when it is missing (tools/ensure-postgres.sh).
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if not path:
        raise RuntimeError(f"{name} not found: install Debian's postgresql package (make test does this as root)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def throwaway_cluster() -> Iterator[str]:
    """Start a cluster, yield its URL, stop and delete it."""
    folder = Path(tempfile.mkdtemp(prefix="syncmedic-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    subprocess.run(_as_postgres([pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                 "--no-sync", "-E", "UTF8"]), check=True, capture_output=True)
    subprocess.run(_as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
                                 f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                                 f"-c max_connections=200", "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@functools.cache
def _admin(server_url: str) -> sa.Engine:
    """One autocommit connection pool per server for creating databases."""
    return sa.create_engine(server_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")


def new_database(server_url: str, template: str = "") -> str:
    """A new database on the server, empty or a copy of `template` (a database's name); its URL."""
    name = "t_" + uuid.uuid4().hex[:12]
    copy = f' TEMPLATE "{template}"' if template else ""
    with _admin(server_url).connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    return server_url.rsplit("/", 1)[0] + "/" + name
