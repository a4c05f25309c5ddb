"""A real SMTP server on a free loopback port (aiosmtpd) for the mail tests: it records what it accepted and
answers what a test scripts (451 twice, then 250; 550 for one recipient; a dropped connection)."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sink:
    """The handler: `script` answers DATA in turn ("250 OK" once it is empty; "drop" closes the connection),
    `refuse` maps a recipient to its RCPT answer."""

    script: list[str] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    received: list[EmailMessage] = field(default_factory=list)
    delay: float = 0.0  # seconds each DATA takes, so that a kill can land while mail is going out

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.script.pop(0) if self.script else "250 OK"
        if answer == "drop":
            server.transport.close()
            return "421 closing"
        if answer.startswith("250"):
            self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return answer

    def by_message_id(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for message in self.received:
            counts[message["Message-ID"]] = counts.get(message["Message-ID"], 0) + 1
        return counts


class SmtpServer:
    def __init__(self) -> None:
        self.sink = Sink()
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}/?from=tracker@kjt.example.gov.cn"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
