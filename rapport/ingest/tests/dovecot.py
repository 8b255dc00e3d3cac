"""A real IMAP server for the tests: Dovecot (Debian's ``dovecot-imapd``) started on
127.0.0.1 on a free port, with its whole configuration, state and mail in a temporary
directory, so it needs nothing from the system's Dovecot set-up and each pytest-xdist
worker runs its own.

Also ``DroppingProxy``: a TCP relay between the client and Dovecot that cuts the
connection in the middle of the server's answer, like a server or network that fails.
"""

from __future__ import annotations

import contextlib
import imaplib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
ACCOUNTS = 1000

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Dovecot:
    """One running server. ``account()`` adds a fresh IMAP user (its own mail)."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="rapport-dovecot-"))
        os.chmod(self.root, 0o755)  # noqa: S103 - the mail processes do not run as root
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        if os.geteuid() == 0:
            # Dovecot's login processes refuse to run as root, and mail access as UID 0 is
            # refused too: use the package's own users.
            mail_user = pwd.getpwnam("dovecot")
            self.uid, self.gid = mail_user.pw_uid, mail_user.pw_gid
            self.login_user, self.internal_user = "dovenull", "dovecot"
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            self.login_user = self.internal_user = pwd.getpwuid(self.uid).pw_name
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", self.uid, self.gid)
        # Every user exists from the start (the passwd-file is read once): ``account()``
        # hands out the next unused one.
        self.password = "imap-secret-1"
        (self.root / "users").write_text(
            "".join(f"user{n}:{{PLAIN}}{self.password}\n" for n in range(1, ACCOUNTS + 1))
        )
        self.conf = self.root / "dovecot.conf"

    def start(self) -> None:
        for _ in range(5):
            self.port = free_port()
            self.conf.write_text(
                CONFIG.format(
                    root=self.root,
                    port=self.port,
                    uid=self.uid,
                    gid=self.gid,
                    login_user=self.login_user,
                    internal_user=self.internal_user,
                )
            )
            self.process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.conf)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if wait_for_port(self.port):
                return
            self.stop()  # most likely the port was taken in between: try another
        log = (
            (self.root / "dovecot.log").read_text(errors="replace")
            if (self.root / "dovecot.log").exists()
            else ""
        )
        raise RuntimeError(f"Dovecot did not start; its log:\n{log[-3000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def account(self) -> Account:
        """A user of its own, with an empty INBOX."""
        with self._lock:
            n = next(self._numbers)
        if n > ACCOUNTS:
            raise RuntimeError(f"More than {ACCOUNTS} IMAP accounts used; raise dovecot.ACCOUNTS.")
        return Account(self, f"user{n}", self.password)

    def doveadm(self, *args: str) -> str:
        done = subprocess.run(
            [DOVEADM, "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {done.stderr or done.stdout}")
        return done.stdout


class Account:
    """One IMAP user on the test server, and the ways a test puts mail in and looks at it."""

    def __init__(self, server: Dovecot, username: str, password: str) -> None:
        self.server = server
        self.username = username
        self.password = password

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.server.host, self.server.port, timeout=10)
        conn.login(self.username, self.password)
        return conn

    def create(self, folder: str) -> None:
        conn = self.client()
        try:
            typ, data = conn.create(quoted(folder))
            assert typ == "OK", data
        finally:
            conn.logout()

    def append(self, folder: str, *messages: bytes) -> list[int]:
        """Put messages into a folder; their UIDs."""
        uids = []
        conn = self.client()
        try:
            for raw in messages:
                result: Any = conn.append(quoted(folder), "", "", raw)  # typeshed says str
                typ, answer = result
                assert typ == "OK", answer
                # [APPENDUID <uidvalidity> <uid>]
                first = answer[0] if answer else b""
                text = first.decode() if isinstance(first, bytes) else ""
                uids.append(int(text.split("APPENDUID ", 1)[1].split()[1].rstrip("]")))
        finally:
            conn.logout()
        return uids

    def flags(self, folder: str) -> dict[int, str]:
        """{uid: its flags} of every message in a folder."""
        conn = self.client()
        try:
            conn.select(quoted(folder), readonly=True)
            typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
            out = {}
            for item in data:
                if isinstance(item, bytes) and b"UID" in item:
                    text = item.decode()
                    uid = int(text.split("UID ", 1)[1].split()[0].rstrip(")"))
                    out[uid] = text.split("FLAGS (", 1)[1].split(")", 1)[0]
            return out
        finally:
            conn.logout()

    def uid_validity(self, folder: str) -> int:
        conn = self.client()
        try:
            conn.select(quoted(folder), readonly=True)
            value = conn.untagged_responses["UIDVALIDITY"][-1]
            assert isinstance(value, bytes)
            return int(value)
        finally:
            conn.logout()

    def set_uid_validity(self, folder: str, value: int) -> None:
        """What a server does when it rebuilds a folder: every UID changes meaning."""
        self.server.doveadm(
            "mailbox", "update", "-u", self.username, "--uid-validity", str(value), folder
        )


class DroppingProxy:
    """A TCP relay to ``port`` that, while armed, cuts the connection once the server has
    sent ``marker`` ``count`` times, ``extra`` bytes past the last one (mid-message)."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.marker = b"BODY[]"
        self.count = 0  # 0: never cut
        self.extra = 40
        self.hang = False  # instead of cutting, go silent (a server that stops answering)
        self.cuts = 0
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, count: int, extra: int = 40, *, hang: bool = False) -> None:
        self.count, self.extra, self.hang = count, extra, hang

    def disarm(self) -> None:
        self.count = 0

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            args = (server, client, self.count, self.extra, self.hang)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump_back, args=args, daemon=True).start()

    @staticmethod
    def _close_both(a: socket.socket, b: socket.socket) -> None:
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        self._close_both(src, dst)

    def _pump_back(
        self, src: socket.socket, dst: socket.socket, count: int, extra: int, hang: bool
    ) -> None:
        seen = 0
        tail = b""  # the end of what was sent, to find a marker split over two reads
        cut_at: int | None = None  # bytes still to send before the cut
        try:
            while data := src.recv(65536):
                if count and cut_at is None:
                    window = tail + data
                    start = 0
                    while (found := window.find(self.marker, start)) != -1:
                        if found + len(self.marker) > len(tail):  # not counted before
                            seen += 1
                            if seen == count:
                                cut_at = found - len(tail) + len(self.marker) + extra
                                break
                        start = found + 1
                    tail = window[-len(self.marker) :]
                if cut_at is not None:
                    dst.sendall(data[: max(0, cut_at)])
                    if cut_at <= len(data):
                        self.cuts += 1
                        if hang:  # say nothing more until the client gives up
                            while not self._closed and dst.fileno() != -1:
                                time.sleep(0.05)
                        break
                    cut_at -= len(data)
                    continue
                dst.sendall(data)
        except OSError:
            pass
        self._close_both(src, dst)
