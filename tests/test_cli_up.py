"""``rapport up`` for real: a subprocess on a fresh data dir, its server and its worker, and
how it stops. Also the command's help and its options."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rapport.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) of every process on the machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        found[int(entry.name)] = (int(ppid), state, cmdline)
    return found


def _descendants(pid: int) -> dict[int, str]:
    table = _processes()
    out: dict[int, str] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        for child, (ppid, _, cmd) in table.items():
            if ppid == parent and child not in out:
                out[child] = cmd
                todo.append(child)
    return out


def _alive(pid: int) -> bool:
    info = _processes().get(pid)
    return info is not None and info[1] != "Z"


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _serves(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as response:  # noqa: S310
            return response.status == 200 and b"Log in" in response.read()
    except OSError:
        return False


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """One data dir for the module: the first ``up`` finds it empty (migrations, demo data),
    the later ones find the data there."""
    return tmp_path_factory.mktemp("rapport-up")


def _start_up(data_dir: Path, *args: str, port_env: str | None = None) -> subprocess.Popen:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "DATABASE_URL",
            "SECRET_KEY",
            "RAPPORT_PRODUCTION",
            "PORT",
            "DJANGO_SETTINGS_MODULE",
        )
        and not k.startswith("PYTEST")
    }
    env["RAPPORT_DATA_DIR"] = str(data_dir)
    env["WEB_CONCURRENCY"] = "1"
    if port_env is not None:
        env["PORT"] = port_env
    return subprocess.Popen(
        [sys.executable, "-m", "rapport.cli", "up", *args],
        cwd=data_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the test's own signals never reach it; cleanup kills its group
    )


@pytest.fixture
def running(data_dir):
    started: list[subprocess.Popen] = []

    def start(
        *args: str, port_env: str | None = None, port: int
    ) -> tuple[subprocess.Popen, dict[int, str]]:
        proc = _start_up(data_dir, *args, port_env=port_env)
        started.append(proc)
        try:
            # A fresh data directory loads the whole demo first (every app's part): minutes on
            # two shared cores, longer on PostgreSQL. The test is about serving and stopping.
            _wait_for(lambda: _serves(port) or proc.poll() is not None, 600, "the server")
        finally:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read().decode(errors="replace"))
        # The worker and the server (gunicorn's master and its workers) under rapport up.
        _wait_for(
            lambda: any("worker" in c for c in _descendants(proc.pid).values()), 30, "the worker"
        )
        return proc, _descendants(proc.pid)

    yield start
    for proc in started:
        # Whatever a failed test left of the group (an orphaned worker, say) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()


def _worker_pid(children: dict[int, str]) -> int:
    return next(pid for pid, cmd in children.items() if cmd.rstrip().endswith("worker"))


def _server_pid(children: dict[int, str]) -> int:
    """gunicorn's master: the server child of rapport up, which became gunicorn."""
    return min(pid for pid, cmd in children.items() if "gunicorn" in cmd)


def test_up_on_a_fresh_data_dir_serves_on_port_and_stops_with_its_worker_on_sigterm(
    running, data_dir
):
    port = _free_port()
    proc, children = running(port_env=str(port), port=port)  # $PORT, as the README says

    assert (data_dir / "rapport.sqlite3").exists()
    worker = _worker_pid(children)
    assert _alive(worker) and len(children) >= 3  # worker, server, at least one gunicorn worker
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=90) == 0
    for pid in children:
        assert not _alive(pid), children[pid]
    assert not _serves(port)


def test_ctrl_c_stops_the_server_and_the_worker(running):
    port = _free_port()
    proc, children = running("--port", str(port), port=port)

    proc.send_signal(signal.SIGINT)  # only to rapport up, not its group: it must pass it on
    assert proc.wait(timeout=90) == 0
    for pid in children:
        assert not _alive(pid), children[pid]


def test_when_the_server_stops_the_worker_stops_too(running):
    port = _free_port()
    proc, children = running("--port", str(port), port=port)
    server = _server_pid(children)

    os.kill(server, signal.SIGTERM)  # someone stops the server itself

    proc.wait(timeout=90)
    for pid in children:
        assert not _alive(pid), children[pid]
    assert b"the server stopped" in proc.stdout.read()


def test_up_refuses_an_unknown_option_and_names_it(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["up", "--prot", "8001"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --prot 8001" in capsys.readouterr().err


def test_up_refuses_a_port_that_is_not_one(capsys, monkeypatch):
    with pytest.raises(SystemExit):
        main(["up", "--port", "eighty"])
    assert "'eighty' is not a port number" in capsys.readouterr().err
    monkeypatch.setenv("PORT", "99999")
    with pytest.raises(SystemExit) as exc:
        main(["up"])
    assert "PORT" in str(exc.value) and "not a port number" in str(exc.value)


def test_help_lists_rapports_own_commands_and_djangos(capsys):
    main(["help"])
    out = capsys.readouterr().out
    for command in (
        "up",
        "serve",
        "token",
        "worker",
        "demo",
        "import",
        "export",
        "duplicates",
        "ingest",
    ):
        assert f"rapport {command}" in out, command
    assert "migrate" in out and "createsuperuser" in out  # Django's own, after them


def test_help_on_one_command_shows_its_options(capsys):
    with pytest.raises(SystemExit):
        main(["help", "up"])
    out = capsys.readouterr().out
    assert "--port" in out and "--no-worker" in out and "$PORT" in out
