"""A real SMTP server for the tests (aiosmtpd, on a free local port), and what arrived."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Arrived:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class Inbox:
    """The messages the server accepted; ``on_message`` runs in the server's thread
    before it answers (a withdrawal committed while a batch is going out)."""

    arrived: list[Arrived] = field(default_factory=list)
    on_message: Callable[[Arrived, int], Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        item = Arrived(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        with self.lock:
            self.arrived.append(item)
            count = len(self.arrived)
        if self.on_message is not None:
            # Django's database calls may not run on the event loop: a thread of their own.
            await asyncio.to_thread(self.on_message, item, count)
        return "250 Message accepted"

    def to(self) -> list[str]:
        return [r for a in self.arrived for r in a.recipients]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> Server:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()
