"""The signature block of an e-mail: where it is, and what it says.

    sig = signature.read(message.new_text, known_name="Jane Doe", known_email="jane@acme.com")
    sig.lines    # ["Jane Doe", "Head of Purchasing", "ACME Ltd", "M +44 7700 900123"]
    sig.fields   # textfields.Fields: title, company, phones, address, web sites…

The block is found in the text the message adds (``mail.Message.new_text``: quoted history
already folded away), in this order of trust: after the "-- " delimiter; after a closing
("Best regards,", "Mit freundlichen Grüßen", "Cordialement"…) and the name under it; else
the trailing short lines, when they look like contact details. Lines that are never part
of a signature are dropped first: "Sent from my iPhone" and its cousins, and the legal
disclaimers companies append. A forwarded message's own text is split from the text it
forwards (``forwarded``), so the forwarder's signature and the original sender's are
read separately, each for its own person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rapport.ingest.textfields import Fields

MAX_LINES = 12  # a longer "signature" is a letter, not a block of contact details
MAX_LINE_LENGTH = 90

# Mobile clients' footers: never the person's details.
_DEVICE = re.compile(
    r"^(sent from my\b.*|sent from (outlook|mail|yahoo|gmail|samsung)\b.*|get outlook for\b.*"
    r"|sent with\b.*|sent via\b.*|von meinem \w+ gesendet.*|gesendet von meinem\b.*"
    r"|envoy[ée] de mon\b.*|envoy[ée] depuis\b.*|inviato da\b.*|enviado desde\b.*)$",
    re.IGNORECASE,
)
# Words of the legal and environmental footers appended by mail servers.
_DISCLAIMER = re.compile(
    r"(confidential|intended (solely )?(only )?for the (use of the )?(named )?(addressee|recipient)"
    r"|if you (have )?received this (e-?mail|message|communication) in error|disclaimer"
    r"|this (e-?mail|message) and any (files|attachments)|vertraulich|irrtümlich erhalten"
    r"|ce (message|courriel|mail) (et|ainsi que) (ses|toutes) pi[eè]ces jointes|strictement confidentiel"
    r"|destinataire(s)? (exclusif|désigné)|consider the environment before printing"
    r"|pensez à l.environnement|bitte denken sie an die umwelt|registered in england"
    r"|registered office|handelsregister|amtsgericht|geschäftsführer:|si[eè]ge social"
    r"|unsubscribe|abmelden|se désinscrire|se d[ée]sabonner)",
    re.IGNORECASE,
)
# Closings, alone on their line (a name may follow on the same line after a comma).
_CLOSING = re.compile(
    r"^(best( regards| wishes)?|kind regards|warm(est)? regards|regards|many thanks|thanks( again)?"
    r"|thank you|cheers|all the best|best wishes|yours( sincerely| faithfully| truly)?|sincerely"
    r"|mit freundlichen gr[üu](ß|ss)en|freundliche gr[üu](ß|ss)e|beste gr[üu](ß|ss)e|viele gr[üu](ß|ss)e"
    r"|liebe gr[üu](ß|ss)e|gr[üu](ß|ss)e|mfg|lg|vg"
    r"|cordialement|bien cordialement|bien à (vous|toi)|salutations( distinguées)?|meilleures salutations"
    r"|sinc[eè]res salutations|amicalement|bonne (journée|soirée)|merci( beaucoup| d'avance)?"
    r"|saludos( cordiales)?|un saludo|atentamente|cordiali saluti|distinti saluti|saluti"
    r"|met vriendelijke groet(en)?|groeten)"
    r"(?!\w)\s*[,.!]*\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_DELIMITER = re.compile(r"^--\s?$")
_FORWARD = re.compile(
    r"^\s*(-{2,}\s*(forwarded message|weitergeleitete nachricht|message transféré|message transfere"
    r"|mensaje reenviado|messaggio inoltrato)\s*-{2,}|begin forwarded message:"
    r"|anfang der weitergeleiteten nachricht:|début du message réexpédié\s*:)\s*$",
    re.IGNORECASE,
)
_HEADER = re.compile(r"^\s*(from|von|de|da|van|to|an|à|a|date|datum|sent|gesendet|envoyé|subject"
                     r"|betreff|objet|cc)\s*:\s*(?P<value>.*)$", re.IGNORECASE)  # fmt: skip
_FROM_HEADER = re.compile(r"^\s*(from|von|de|da|van)\s*:\s*(?P<value>.*)$", re.IGNORECASE)
_ADDRESS = re.compile(r"<?([^\s<>\"']+@[^\s<>\"']+\.[^\s<>\"']+)>?")
# A line that looks like contact details: a phone number, an e-mail, a web address.
_DETAIL = re.compile(
    r"(\+?\d[\d ()./-]{6,}\d|[^\s@]+@[^\s@]+\.\w+|\bwww\.|https?://|\b[\w-]+\.(com|org|net|de|fr|"
    r"co\.uk|io|eu|ch|at|nl|be|es|it)\b)",
    re.IGNORECASE,
)


@dataclass
class Forwarded:
    """A message forwarded inside another: who wrote it and its text."""

    name: str
    email: str
    text: str


@dataclass
class Signature:
    lines: list[str]
    how: str  # "delimiter", "closing" or "trailing"
    fields: Fields | None = None
    name_line: str = ""  # the name under a closing, if any


@dataclass
class Parts:
    own: str  # the text the sender wrote
    forwarded: list[Forwarded] = field(default_factory=list)


def split_forwarded(text: str) -> Parts:
    """The sender's own text, and each message forwarded below it (with its From)."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if _FORWARD.match(line)]
    if not starts:
        return Parts(own=text)
    own = "\n".join(lines[: starts[0]]).strip()
    out = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        chunk = lines[start + 1 : end]
        name, email, body_at = "", "", 0
        # The forwarded headers: "From: …", "Date: …" up to the first blank line after them.
        for i, line in enumerate(chunk):
            if not line.strip():
                if body_at or i > 0:
                    body_at = i + 1
                    break
                continue
            header = _HEADER.match(line)
            if header is None:
                break
            body_at = i + 1
            found = _FROM_HEADER.match(line)
            if found and not email:
                value = found.group("value").strip()
                address = _ADDRESS.search(value)
                if address:
                    email = address.group(1).lower().rstrip(".,;")
                    name = value[: address.start()].strip().strip('"').strip()
                else:
                    name = value
        body = "\n".join(chunk[body_at:]).strip()
        out.append(Forwarded(name=name, email=email, text=body))
    return Parts(own=own, forwarded=out)


def _paragraphs(lines: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            out[-1].append(line)
        elif out[-1]:
            out.append([])
    return [p for p in out if p]


def _without_noise(lines: list[str]) -> list[str]:
    """The lines without device footers and trailing disclaimer paragraphs."""
    kept = [line for line in lines if not _DEVICE.match(line.strip())]
    # A disclaimer is a paragraph (or a long line) at the end; cut from the first one on.
    paragraphs: list[tuple[int, int]] = []  # (start, end) indexes into kept
    start = None
    for i, line in enumerate([*kept, ""]):
        if line.strip() and start is None:
            start = i
        elif not line.strip() and start is not None:
            paragraphs.append((start, i))
            start = None
    cut = len(kept)
    for begin, end in reversed(paragraphs):
        text = " ".join(kept[begin:end])
        if _DISCLAIMER.search(text) and (len(text) > 60 or end - begin == 1):
            cut = begin
        else:
            break
    # A disclaimer line glued to the signature without a blank line before it.
    while cut > 0 and (
        _DISCLAIMER.search(kept[cut - 1]) and len(kept[cut - 1].strip()) > MAX_LINE_LENGTH
    ):
        cut -= 1
    return kept[:cut]


def _clean(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        stripped = line.strip().strip("|").strip()
        if stripped and not set(stripped) <= set("-_=*~•·"):
            out.append(stripped)
    return out


def _looks_like_details(lines: list[str]) -> bool:
    return any(_DETAIL.search(line) for line in lines)


def block(text: str) -> tuple[list[str], str, str]:
    """The signature's lines (stripped, no blanks), how they were found, and the name
    line under a closing; ([], "", "") when the text has no recognisable signature."""
    lines = _without_noise(text.split("\n"))
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return [], "", ""
    delimiters = [i for i, line in enumerate(lines) if _DELIMITER.match(line.rstrip("\r"))]
    if delimiters:
        found = _clean(lines[delimiters[-1] + 1 :])
        if found:
            return found[:MAX_LINES], "delimiter", ""
    # The last closing; it must be near the end (a "Thanks" in the first line of a long
    # message is not a sign-off).
    for i in range(len(lines) - 1, max(-1, len(lines) - MAX_LINES - 3), -1):
        closing = _CLOSING.match(lines[i].strip())
        if closing is None:
            continue
        rest = closing.group("rest").strip()
        if rest and len(rest.split()) > 4:
            continue  # "Thanks for the quote, we will…": a sentence, not a closing
        after = _clean(lines[i + 1 :])
        if rest:
            after = [rest, *after]
        if after and len(after) <= MAX_LINES + 1:
            return after[:MAX_LINES], "closing", after[0]
    # The trailing short lines: the last paragraph, and the one before it when the name
    # stands apart from the details.
    paragraphs = _paragraphs(lines)
    tail: list[str] = []
    for paragraph in reversed(paragraphs[-2:]):
        if len(paragraphs) == 1 and len(paragraph) > 2 and paragraph is paragraphs[0]:
            # A one-paragraph message: only its last lines can be the signature.
            short: list[str] = []
            for line in reversed(paragraph):
                if len(line.strip()) > MAX_LINE_LENGTH * 2 // 3 or line.strip().endswith(
                    (".", "?", "!")
                ):
                    break
                short.insert(0, line)
            paragraph = short
        if not paragraph or any(len(line.strip()) > MAX_LINE_LENGTH for line in paragraph):
            break
        if len(tail) + len(paragraph) > MAX_LINES:
            break
        if tail and any(line.strip().endswith((".", "?", "!", ":")) for line in paragraph):
            break  # prose above the block
        tail = paragraph + tail
    tail = _clean(tail)
    if len(tail) >= 2 and _looks_like_details(tail):
        return tail, "trailing", ""
    return [], "", ""


def read(
    text: str, *, known_name: str = "", known_email: str = "", region: str | None = None
) -> Signature | None:
    """The signature of ``text`` (a message's own text, without what it forwards) and its
    fields, or None when it has none."""
    lines, how, name_line = block(split_forwarded(text).own)
    if not lines:
        return None
    from rapport.ingest import textfields

    fields = textfields.extract(
        lines, region=region, known_name=known_name, known_email=known_email
    )
    return Signature(lines=lines, how=how, fields=fields, name_line=name_line)
