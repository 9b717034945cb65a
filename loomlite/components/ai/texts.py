"""The text that the embedding stage embeds for each kind of message.

Each function returns an empty string when the message has nothing worth
embedding, and the stage then skips the message. Emails and liked posts are
laid out as production's text embedder laid them out: ``From: <sender>``,
``Subject: <subject>`` and the body for an email, ``@<author> <text>`` for a
post.
"""

from __future__ import annotations

from html.parser import HTMLParser

from loomlite.contract.models import EmailEvent, NoteData, Transcription, TwitterLike

__all__ = [
    "email_text",
    "html_to_text",
    "liked_post_text",
    "note_text",
    "transcript_text",
]


def note_text(note: NoteData) -> str:
    """Return the note's title and content, separated by a blank line."""
    title = (note.title or "").strip()
    return f"{title}\n\n{note.content}" if title else note.content


def email_text(email: EmailEvent) -> str:
    """Return the sender, subject and body, or "" when subject and body are missing.

    The HTML body is used, reduced to its text, only when there is no plain
    body.
    """
    subject = (email.subject or "").strip()
    body = (email.body or "").strip()
    if not body and email.body_html:
        body = html_to_text(email.body_html)
    if not subject and not body:
        return ""

    lines = []
    sender = (email.sender or "").strip()
    if sender:
        lines.append(f"From: {sender}")
    if subject:
        lines.append(f"Subject: {subject}")
    if body:
        lines.extend(["", body] if lines else [body])
    return "\n".join(lines)


def liked_post_text(post: TwitterLike) -> str:
    """Return ``@<author> <text>``, or the text alone when the author is missing.

    A post without text gives "".
    """
    text = (post.tweet_text or "").strip()
    if not text:
        return ""
    author = (post.author_username or "").strip().lstrip("@")
    return f"@{author} {text}" if author else text


def transcript_text(transcription: Transcription) -> str:
    """Return the transcribed text without surrounding whitespace."""
    return transcription.text.strip()


def html_to_text(html: str) -> str:
    """Return the text content of an HTML fragment, one line per block of text.

    Script and style elements are dropped. Runs of whitespace inside a line
    collapse to one space.
    """
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.lines)


class _TextExtractor(HTMLParser):
    _SKIPPED = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        line = " ".join(data.split())
        if line:
            self.lines.append(line)
