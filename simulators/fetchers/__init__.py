"""Simulated external accounts (email, calendar, X likes, Hacker News) and
the production fetchers that read them."""

from simulators.fetchers.account import Account, FetchedMessage, Item
from simulators.fetchers.calendar import CalendarAccount, CalendarEntry
from simulators.fetchers.email import Email, EmailAccount
from simulators.fetchers.social import (
    HackerNewsFavorite,
    HackerNewsFavorites,
    XLike,
    XLikes,
)

__all__ = [
    "Account",
    "CalendarAccount",
    "CalendarEntry",
    "Email",
    "EmailAccount",
    "FetchedMessage",
    "HackerNewsFavorite",
    "HackerNewsFavorites",
    "Item",
    "XLike",
    "XLikes",
]
