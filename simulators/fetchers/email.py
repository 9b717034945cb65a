"""A mailbox and production's IMAP email fetcher.

Each fetch returns the newest ``max_fetch`` emails of the inbox (the
fetcher's ``ALL`` search, as the compose setup ran it), or only those not
fetched before with the ``UNSEEN`` search. Messages have the fetcher's
nested shape: ``data{}`` contains ``email_id``, ``message_id`` (the Message-ID
header), ``sender``, ``receiver``, ``date_received``, ``body``, ``seen`` and
the account fields, and ``timestamp`` is the Date header.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from loomlite.contract.hashing import email_content_hash
from simulators.fetchers.account import Account, FetchedMessage, Item
from simulators.payloads import naive_iso, python_str
from simulators.truth import ItemTruth

__all__ = ["Email", "EmailAccount"]

TOPIC = "external.email.events.raw"

_SENDERS = (
    "ana.novak@example.com",
    "billing@shop.example.net",
    "team@project.example.org",
    "marko@example.com",
    "newsletter@news.example.net",
)
_MESSAGES = (
    (
        "Dinner on Friday?",
        "Are you free on Friday evening? We could try the new place.",
    ),
    ("Invoice 2024-117", "Your invoice is attached. Payment is due in 14 days."),
    ("Sensor logs uploaded", "42 files are in the shared folder since Monday."),
    ("Weekly report", "Steps, sleep and screen time are up on last week."),
    ("Re: schema check", "The check passed after the migration; thanks for the fix."),
    ("Hike photos", "Here are the photos from the summit. The view was great."),
)


@dataclass(frozen=True, slots=True)
class Email(Item):
    """An email that arrived in the inbox at ``created_at``."""

    message_id: str
    sender: str
    subject: str
    body: str
    sent_at: datetime


class EmailAccount(Account[Email]):
    """An inbox that receives about ``rate_per_hour`` emails an hour."""

    def __init__(
        self,
        *,
        seed: int = 0,
        address: str = "owner@example.com",
        account_name: str = "Personal",
        account_index: int = 1,
        interval: timedelta = timedelta(minutes=5),
        max_fetch: int = 50,
        search: Literal["ALL", "UNSEEN"] = "ALL",
        rate_per_hour: float = 2.0,
        history: timedelta = timedelta(days=2),
        start: datetime | None = None,
    ) -> None:
        if max_fetch <= 0:
            raise ValueError(f"max_fetch must be positive, got {max_fetch!r}")
        super().__init__(
            seed=seed,
            name=f"email-{account_index}",
            device_id=f"email-fetcher-account-{account_index}",
            interval=interval,
            history=history,
            start=start,
        )
        self.address = address
        self.account_name = account_name
        self.account_index = account_index
        self.max_fetch = max_fetch
        self.search = search
        self.rate_per_hour = rate_per_hour
        self._seen: set[str] = set()

    def make_item(
        self, random: np.random.Generator, created_at: datetime, number: int
    ) -> Email:
        subject, body = _MESSAGES[int(random.integers(len(_MESSAGES)))]
        sender = _SENDERS[int(random.integers(len(_SENDERS)))]
        local = random.bytes(8).hex()
        sent_at = created_at - timedelta(seconds=float(random.uniform(5.0, 120.0)))
        return Email(
            created_at=created_at,
            number=number,
            message_id=f"<{local}@mail.example.net>",
            sender=sender,
            subject=subject,
            body=body,
            sent_at=sent_at,
        )

    def publish(self, items: Sequence[Email], now: datetime) -> list[FetchedMessage]:
        # IMAP numbers the inbox from 1, oldest first. The fetcher searches,
        # then reads the newest max_fetch sequence numbers the search found.
        found = [
            (sequence, email)
            for sequence, email in enumerate(items, start=1)
            if self.search == "ALL" or email.message_id not in self._seen
        ]
        newest = found[-self.max_fetch :]
        # Fetching the whole message (RFC822) marks it as seen on the server.
        self._seen.update(email.message_id for _, email in newest)
        return [self._message(email, sequence) for sequence, email in newest]

    def describe(self, item: Email) -> ItemTruth:
        return ItemTruth(
            "email",
            item.message_id,
            item.created_at,
            item.subject,
            self._hash(item),
            self.address,
        )

    def _hash(self, email: Email) -> str:
        content_hash = email_content_hash(
            message_id=email.message_id,
            sender=email.sender,
            recipients=[self.address],
            sent_at=email.sent_at,
            subject=email.subject,
        )
        assert content_hash is not None
        return content_hash

    def _message(self, email: Email, sequence: int) -> FetchedMessage:
        content_hash = self._hash(email)
        payload = {
            "schema_version": "v1",
            "device_id": self.device_id,
            "timestamp": naive_iso(email.sent_at),
            "content_hash": content_hash,
            "data": {
                "email_id": f"{self.address}:{sequence}",
                "content_hash": content_hash,
                "message_id": email.message_id,
                "subject": email.subject,
                "sender": email.sender,
                "receiver": self.address,
                "date_received": python_str(email.created_at),
                "body": email.body,
                "seen": True,
                "source_account": self.address,
                "account_name": self.account_name,
                "account_index": self.account_index,
            },
        }
        return FetchedMessage(TOPIC, content_hash, payload)
