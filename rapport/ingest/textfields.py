"""Free text into contact fields: the lines of an OCR'd business card or an e-mail signature.

``extract`` reads each line for what it certainly is first (e-mail addresses, web sites,
phone numbers, a postcode), takes those values out, and then decides what the words that are
left are: a company (a legal suffix, or the name in the e-mail domain), a job title (a
vocabulary of title words) or the person's name (two to four capitalised words, preferably
the one the e-mail address or ``known_name`` points to). Every value keeps the line it was
read from in ``Fields.sources`` so the user can see why it was read that way.

OCR confuses O with 0 and l or | with 1, scatters punctuation and draws rules as "|"; the
reading tolerates that where the context is clear (inside a run of digits, around an "@").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from nameparser import HumanName

__all__ = ["Fields", "Phone", "extract"]


@dataclass(frozen=True)
class Phone:
    kind: str  # "mobile", "work", "fax" or "other"
    e164: str
    line: str  # the line it was read from


@dataclass
class Fields:
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    title: str = ""
    company: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)
    websites: list[str] = field(default_factory=list)
    address: dict[str, str] = field(default_factory=dict)  # street, city, postcode, region, country
    sources: dict[str, str] = field(default_factory=dict)  # field -> the line it was read from


def _vocabulary(text: str) -> list[str]:
    return text.split()


# --- vocabularies ----------------------------------------------------------------------------

TITLE_WORDS = frozenset(
    _vocabulary(
        """
    ceo cto cfo coo cmo cio cso cpo cro vp svp evp gm md hr it pr
    founder co-founder cofounder president chairman chairwoman chair chief officer director
    manager management head lead leader engineer engineering developer development sales
    marketing partner consultant analyst architect specialist coordinator executive senior
    junior associate assistant representative designer advisor adviser administrator owner
    principal secretary accountant lawyer attorney counsel solicitor professor lecturer
    researcher scientist editor buyer purchasing procurement recruiter strategist technician
    operations support success product project programme program controller treasurer
    trainer supervisor agent broker planner officer intern receptionist nurse physician
    geschäftsführer geschaftsfuhrer geschäftsführerin leiter leiterin vertrieb vertriebsleiter
    berater beraterin ingenieur ingenieurin entwickler entwicklerin prokurist inhaber inhaberin
    vorstand referent referentin sachbearbeiter einkauf
    directeur directrice responsable chef gérant gérante ingénieur commercial commerciale
    chargé chargée président présidente conseiller conseillère technicien adjoint adjointe
    """
    )
)
# Words that make a line a title only next to another title word ("Customer Success").
_TITLE_FOLDED: frozenset[str] = frozenset()  # filled in below, once _fold exists
_TITLE_PHRASES = (
    re.compile(r"\bhead of\b", re.IGNORECASE),
    re.compile(r"\bvice[- ]president\b", re.IGNORECASE),
    re.compile(r"\bmanaging\b", re.IGNORECASE),
)

LEGAL_SUFFIXES = (
    "ltd",
    "limited",
    "plc",
    "llp",
    "llc",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "ug",
    "ohg",
    "e.k",
    "sa",
    "sas",
    "sarl",
    "sàrl",
    "sasu",
    "eurl",
    "srl",
    "spa",
    "bv",
    "nv",
    "oy",
    "ab",
    "as",
    "aps",
    "pty",
    "pte",
    "se",
    "sl",
    "kk",
    "group",
    "holdings",
)
_LEGAL = re.compile(
    r"(?:^|[\s,&])(?:"
    + "|".join(re.escape(s).replace(r"\.", r"\.?") for s in LEGAL_SUFFIXES)
    + r")\.?(?:\s*&\s*co\.?(?:\s*kg)?)?\s*$",
    re.IGNORECASE,
)
_AFTER_LEGAL = re.compile(
    r"^(.*\b(?:ltd|inc|llc|plc|gmbh|sas|sarl|ag|bv|corp)\.?)\s+(\d.*)$", re.IGNORECASE
)
_LEGAL_INSIDE = re.compile(r"\b(?:gmbh|ltd|llc|inc|plc|s\.a\.s?|sarl|ag)\b", re.IGNORECASE)

STREET_WORDS = frozenset(
    _vocabulary(
        """
    street st road rd avenue ave av lane ln way drive dr boulevard blvd bd court ct place pl
    square sq terrace crescent close gardens grove parade row hill park broadway highway hwy
    suite ste floor fl building house unit wharf quay mews yard
    straße strasse str weg platz allee gasse ring damm ufer chaussee markt
    rue avenue boulevard place quai chemin allée impasse cours route cedex bâtiment étage
    """
    )
)
_DE_STREET = re.compile(
    r"(?:straße|strasse|str\.|weg\b|platz\b|allee\b|gasse\b|ring\b|damm\b|ufer\b|chaussee\b)",
    re.IGNORECASE,
)
_FR_STREET = re.compile(
    r"\b(?:rue|avenue|av\.|boulevard|bd|place|quai|chemin|allée|impasse|cours|cedex)\b",
    re.IGNORECASE,
)

_COUNTRY_ALIASES = {
    "uk": "GB",
    "u.k.": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "royaume-uni": "GB",
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "united states": "US",
    "united states of america": "US",
    "deutschland": "DE",
    "germany": "DE",
    "allemagne": "DE",
    "frankreich": "FR",
    "france": "FR",
    "schweiz": "CH",
    "suisse": "CH",
    "österreich": "AT",
    "belgique": "BE",
    "nederland": "NL",
    "españa": "ES",
    "italia": "IT",
}
_TLD_COUNTRY = {"uk": "GB", "de": "DE", "fr": "FR", "us": "US", "at": "AT", "ch": "CH", "nl": "NL"}

US_STATES = frozenset(
    _vocabulary(
        """
    AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
    NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR
    """
    )
)

_CLOSINGS = re.compile(
    r"^(?:--+|__+|best|best regards|kind regards|regards|many thanks|thanks|thank you|cheers|"
    r"sincerely|yours sincerely|yours faithfully|warm regards|all the best|mit freundlichen "
    r"grüßen|viele grüße|beste grüße|cordialement|bien cordialement|bien à vous|salutations|"
    r"sent from my \w+.*|envoyé de mon \w+.*|von meinem \w+ gesendet)[\s,.!]*$",
    re.IGNORECASE,
)

# --- patterns --------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._%+'-]*\s?@\s?[A-Za-z0-9-]+(?:\s?\.\s?[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_URL = re.compile(
    r"(?<![@\w.-])(?:(?:https?://)?www\.|https?://)[^\s,;|<>\"']+"
    r"|(?<![@\w.-])[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\."
    r"(?:com|net|org|io|co|biz|info|de|fr|uk|eu|us|ch|at|nl|be|es|it|ai|app|dev)"
    r"(?:\.[a-z]{2})?(?:/[^\s,;|]*)?(?![\w@.])",
    re.IGNORECASE,
)
# A run that may be a phone number once OCR's letter-for-digit mistakes are undone.
_PHONE_RUN = re.compile(r"(?:\+|\(|\b)[0-9OoIl|][0-9OoIl|()./\s-]{5,}[0-9OoIl]")
_LABELS = re.compile(
    r"(?P<label>\b(?:e-?mail|email|mail|e|web(?:site)?|www|w|url|internet|"
    r"tel(?:ephone|efon|\.)?|tél(?:éphone)?|phone|ph|office|direct|dd|switchboard|t|p|o|"
    r"mobile|mob|cell(?:ular)?|handy|mobil|portable|port|gsm|m|c|"
    r"fax|telefax|télécopie|f|"
    r"address|adresse|anschrift|a)\b\.?)\s*[:.]?\s*$",
    re.IGNORECASE,
)
_FAX_LABEL = re.compile(r"\b(?:fax|telefax|télécopie|f)\b", re.IGNORECASE)
_MOBILE_LABEL = re.compile(
    r"\b(?:mobile|mob|cell(?:ular)?|handy|mobil|portable|port|gsm|m|c)\b", re.IGNORECASE
)
_WORK_LABEL = re.compile(
    r"\b(?:tel(?:ephone|efon)?|tél(?:éphone)?|phone|ph|office|direct|dd|switchboard|t|p|o)\b",
    re.IGNORECASE,
)
_UK_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s?([0-9][A-Z]{2})\b")
_US_ZIP = re.compile(r"\b([A-Z]{2})\.?,?\s+(\d{5}(?:-\d{4})?)\b")
_EU_POSTCODE = re.compile(r"\b(?:(D|F|DE|FR|A|CH)\s?-\s?)?(\d{5}|\d{4})\s+([^\d,]{2,})$")
_NAME_TOKEN = re.compile(r"^[^\W\d_][^\W\d_'’.-]*(?:[-'’][^\W\d_]+)*\.?$")
_PREFIXES = frozenset({"dr", "dr.", "prof", "prof.", "mr", "mr.", "mrs", "mrs.", "ms", "ms."})
_NAME_PARTICLES = frozenset({"van", "von", "de", "der", "den", "du", "la", "le", "di", "da", "del"})
_STRAY = " \t|_~•·*=#<>[]{}\"'`,;:—–-"


# --- helpers ---------------------------------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_TITLE_FOLDED = frozenset(_fold(w) for w in TITLE_WORDS)


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _fold(text))


def _tidy(text: str) -> str:
    text = " ".join(text.split())
    text = re.sub(r"\s+[.,:;!]+$|^[.,:;!]+\s+", "", text)  # a speck of dust beside a word
    return text.strip(_STRAY).strip()


def _split_after_legal(text: str) -> list[str]:
    match = _AFTER_LEGAL.match(text)
    return [match.group(1), match.group(2)] if match else [text]


def _segments(line: str) -> list[str]:
    """A line split at the rules and bullets that separate values on one line."""
    parts = re.split(r"\s+[|•·]\s+|\s{3,}|\s*\|\s*(?=\S)|\t", line)
    # "Initech LLC 500 Howard Street": two columns read as one line
    parts = [q for p in parts for q in _split_after_legal(p)]
    return [p for p in (_tidy(p) for p in parts) if p]


def _country_code(text: str) -> str:
    """ISO 3166 alpha-2 for a country name or code as written, or ''."""
    key = _tidy(text).strip(".").casefold()
    if not key or any(c.isdigit() for c in key):
        return ""
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    if key + "." in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key + "."]
    if len(key) < 4:  # two- and three-letter words are too often something else ("IT", "Co")
        return ""
    try:
        return str(pycountry.countries.lookup(key).alpha_2)
    except LookupError:
        return ""


def _valid_email(text: str) -> str:
    candidate = re.sub(r"\s+", "", text).strip(".")
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        return ""
    return str(result.normalized).lower()


def _digits_fixed(text: str) -> str:
    """OCR's letters inside a number read back as digits."""
    return text.translate(str.maketrans("OoIl|", "00111"))


def _strip_label(text: str) -> tuple[str, str]:
    """(text without a trailing label, the label) — labels precede values: 'Tel:'."""
    match = _LABELS.search(text)
    if match is None:
        return text, ""
    return text[: match.start()], match.group("label")


def _phone_kind(label: str, number: phonenumbers.PhoneNumber) -> str:
    if label:
        if _FAX_LABEL.search(label):
            return "fax"
        if _MOBILE_LABEL.search(label):
            return "mobile"
        if _WORK_LABEL.search(label):
            return "work"
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.MOBILE:
        return "mobile"
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        return "work"
    return "other"


def _default_region() -> str:
    try:
        from django.conf import settings

        return str(getattr(settings, "DEFAULT_PHONE_REGION", "GB") or "GB").upper()
    except Exception:  # used outside a configured Django project
        return "GB"


def _is_title(text: str) -> bool:
    words = [w.strip(".,()&/") for w in _fold(text).replace("/", " ").split()]
    if not words or len(words) > 9:
        return False
    if any(p.search(text) for p in _TITLE_PHRASES):
        return True
    return any(w in _TITLE_FOLDED for w in words if w)


def _is_company(text: str) -> bool:
    return bool(_LEGAL.search(text) or _LEGAL_INSIDE.search(text))


def _name_tokens(text: str) -> list[str] | None:
    tokens = text.replace(",", " ").split()
    if not 2 <= len(tokens) <= 5:
        return None
    core = [t for t in tokens if t.casefold() not in _PREFIXES]
    if not 2 <= len(core) <= 4:
        return None
    capitals = 0
    for token in core:
        if not _NAME_TOKEN.match(token):
            return None
        capitals += token[0].isupper()
    # OCR sometimes reads a capital as lower case ("sophie Laurent"); one such word is allowed.
    if (
        capitals < len(core) - sum(t.casefold() in _NAME_PARTICLES for t in core) - 1
        or not capitals
    ):
        return None
    return tokens


def _name_score(text: str, *, known: str, email_locals: list[str], position: int) -> int:
    tokens = _name_tokens(text)
    if tokens is None:
        return -1
    folded = [_letters(t) for t in tokens if t.casefold() not in _PREFIXES]
    if any(t in STREET_WORDS or t in TITLE_WORDS for t in folded):
        return -1
    score = 1 - sum(1 for t in tokens if t[0].islower() and t.casefold() not in _NAME_PARTICLES) * 2
    if known and _letters(text) == _letters(known):
        score += 10
    for local in email_locals:
        parts = [p for p in re.split(r"[._-]", local) if p]
        if any(t and (t in parts or t == local) for t in folded):
            score += 4
        elif any(len(p) == 1 for p in parts) and any(t[:1] == p for t in folded for p in parts):
            score += 1
        if len(folded) >= 2 and (folded[0][:1] + folded[-1] == local or local.endswith(folded[-1])):
            score += 2
    score += max(0, 3 - position)  # the name is usually near the top
    return score


def _domain_label(domain: str) -> str:
    labels = domain.lower().split(".")
    if len(labels) >= 3 and labels[-2] in {"co", "com", "org", "net", "ac", "gov"}:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


def _matches_domain(text: str, domains: list[str]) -> bool:
    compact = _letters(text)
    if len(compact) < 3:
        return False
    for domain in domains:
        label = _letters(_domain_label(domain))
        if len(label) >= 3 and (compact.startswith(label) or label.startswith(compact)):
            return True
    return False


def _proper(text: str) -> str:
    """'JOHN SMITH' -> 'John Smith'; 'sophie Laurent' -> 'Sophie Laurent'; 'John McEwan' stays."""
    if text.isupper():
        return " ".join(w.capitalize() if len(w) > 1 else w for w in text.split())
    return " ".join(
        w if w.casefold() in _NAME_PARTICLES or w[:1].isupper() else w[:1].upper() + w[1:]
        for w in text.split()
    )


# --- the reading -----------------------------------------------------------------------------


@dataclass
class _Segment:
    text: str
    line: str
    position: int  # the line number on the card, from 0


_SPACED_DOT_BEFORE_AT = re.compile(r"\b([a-z0-9]+)\.\s(?=[a-z0-9._%+-]+\s?@)")
_SPACED_DOT_IN_DOMAIN = re.compile(
    r"(?<=[a-z0-9])\s?\.\s(?=(?:com|net|org|io|co|uk|de|fr|eu|us|info|biz)\b)"
)


def _unspace(text: str) -> str:
    """OCR's spaces after the dots of an address: 'jane. doe@acme. com', 'www. acme.com'."""
    text = _SPACED_DOT_BEFORE_AT.sub(r"\1.", text)
    text = _SPACED_DOT_IN_DOMAIN.sub(".", text)
    return re.sub(r"\b(www)\s?\.\s(?=[a-z0-9])", r"\1.", text, flags=re.IGNORECASE)


def _take_emails(seg: _Segment, fields: Fields) -> None:
    text = re.sub(r"\s*[\(\[]\s*at\s*[\)\]]\s*", "@", seg.text, flags=re.IGNORECASE)
    text = _unspace(text.replace("©", "@").replace("®", "@"))
    for match in list(_EMAIL.finditer(text)):
        address = _valid_email(match.group(0))
        if address:
            if address not in fields.emails:
                fields.emails.append(address)
                fields.sources.setdefault("emails", seg.line)
            text = text.replace(match.group(0), " ")
    seg.text = text


def _take_websites(seg: _Segment, fields: Fields) -> None:
    text = seg.text
    for match in list(_URL.finditer(text)):
        raw = match.group(0).rstrip(".,);")
        site = re.sub(r"^https?://", "", raw, flags=re.IGNORECASE).rstrip("/").lower()
        host = site.split("/", 1)[0]
        if "." not in host or len(host) < 4:
            continue
        if site not in fields.websites:
            fields.websites.append(site)
            fields.sources.setdefault("websites", seg.line)
        text = text.replace(match.group(0), " ")
    seg.text = text


def _take_phones(seg: _Segment, fields: Fields, region: str) -> None:
    text = seg.text
    for run in list(_PHONE_RUN.finditer(text)):
        raw = run.group(0)
        fixed = _digits_fixed(raw)
        if sum(c.isdigit() for c in fixed) < 6:
            continue
        text = text.replace(raw, fixed, 1)
    spans: list[tuple[int, int]] = []
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        before = text[spans[-1][1] if spans else 0 : match.start]
        _, label = _strip_label(before.rstrip(" :.-"))
        if not label:
            word = re.search(r"[A-Za-zé]+\.?\s*:?\s*$", before)
            label = word.group(0) if word else ""
        number = match.number
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if all(p.e164 != e164 for p in fields.phones):
            fields.phones.append(Phone(_phone_kind(label, number), e164, seg.line))
            fields.sources.setdefault("phones", seg.line)
        spans.append((match.start, match.end))
    for start, end in reversed(spans):
        text = text[:start] + " " + text[end:]
    seg.text = text


def _clean_rest(text: str) -> str:
    """What is left of a segment once values are taken: labels and stray marks removed."""
    while True:
        stripped, label = _strip_label(_tidy(text))
        if not label:
            break
        text = stripped
    text = re.sub(
        r"^(?:e-?mail|web(?:site)?|tel|phone|mobile|fax|address|adresse)\s*[:.]\s*",
        "",
        _tidy(text),
        flags=re.IGNORECASE,
    )
    text = _tidy(text)
    return text if sum(c.isalnum() for c in text) >= 2 else ""


def _hints(segments: list[_Segment], fields: Fields) -> str:
    """The country the card is most likely from, before the phones are read."""
    for seg in segments:
        code = _country_code(seg.text)
        if code:
            return code
    for seg in segments:
        match = _EU_POSTCODE.search(seg.text)
        if match and match.group(1):
            return {"D": "DE", "DE": "DE", "F": "FR", "FR": "FR", "A": "AT", "CH": "CH"}[
                match.group(1).upper()
            ]
    for seg in segments:
        if _UK_POSTCODE.search(seg.text) and not _EU_POSTCODE.search(seg.text):
            return "GB"
        zip_match = _US_ZIP.search(seg.text)
        if zip_match and zip_match.group(1) in US_STATES:
            return "US"
    for seg in segments:
        if _EU_POSTCODE.search(seg.text):
            if _DE_STREET.search(" ".join(s.text for s in segments)):
                return "DE"
            if _FR_STREET.search(" ".join(s.text for s in segments)):
                return "FR"
    for address in fields.emails:
        tld = address.rsplit(".", 1)[-1]
        if tld in _TLD_COUNTRY:
            return _TLD_COUNTRY[tld]
    for site in fields.websites:
        tld = site.split("/", 1)[0].rsplit(".", 1)[-1]
        if tld in _TLD_COUNTRY:
            return _TLD_COUNTRY[tld]
    return ""


def _looks_like_street(text: str) -> bool:
    words = [_fold(w).strip(".,") for w in text.split()]
    has_number = bool(re.search(r"\d", text))
    streetish = any(w in STREET_WORDS for w in words) or bool(_DE_STREET.search(text))
    return has_number and streetish or (streetish and len(words) <= 5 and has_number)


def _take_address(segments: list[_Segment], fields: Fields, country_hint: str) -> None:
    address: dict[str, str] = {}
    used: list[_Segment] = []
    postcode_at: int | None = None
    for index, seg in enumerate(segments):
        text = seg.text
        found = False
        us = _US_ZIP.search(text)
        if us and us.group(1) in US_STATES:
            address.update(
                postcode=us.group(2),
                region=us.group(1),
                country="US",
                city=_tidy(text[: us.start()]),
            )
            found = True
        else:
            eu = _EU_POSTCODE.search(text)
            uk = _UK_POSTCODE.search(text)
            if uk and (not eu or eu.start() > uk.start()):
                address.update(
                    postcode=f"{uk.group(1)} {uk.group(2)}",
                    city=_tidy(text[: uk.start()]),
                    country="GB",
                )
                tail = _country_code(text[uk.end() :])
                found = True
                if tail:
                    address["country"] = tail
            elif eu:
                prefix = (eu.group(1) or "").upper()
                city = _tidy(eu.group(3))
                code = _country_code(city.split(",")[-1]) if "," in city else ""
                if code:
                    city = _tidy(city.rsplit(",", 1)[0])
                code = code or {"D": "DE", "DE": "DE", "F": "FR", "FR": "FR"}.get(prefix, "")
                address.update(
                    postcode=eu.group(2),
                    city=re.sub(r"\s+cedex.*$", "", city, flags=re.IGNORECASE),
                    country=code or country_hint,
                )
                head = _tidy(text[: eu.start()])
                if head and _looks_like_street(head):
                    address["street"] = head
                found = True
        if found:
            used.append(seg)
            postcode_at = index
            break
    if postcode_at is not None:
        city = address.get("city", "")
        if "," in city:  # "1 Main Street, London" before the postcode
            head, _, city = city.rpartition(",")
            address["city"] = _tidy(city)
            if _looks_like_street(head) or re.match(r"^\d", _tidy(head)):
                address["street"] = _tidy(head)
        if not address.get("street"):
            for seg in reversed(segments[:postcode_at]):
                if seg.text and (_looks_like_street(seg.text) or re.match(r"^\d+\w?\s", seg.text)):
                    address["street"] = _tidy(seg.text)
                    used.append(seg)
                    break
                if seg.line != segments[postcode_at].line:
                    break
        if not address.get("city"):
            # "London" alone on the line above a UK postcode line
            previous = [s for s in segments[:postcode_at] if s not in used and s.text]
            if (
                previous
                and len(previous[-1].text.split()) <= 3
                and not _is_company(previous[-1].text)
            ):
                candidate = previous[-1]
                if candidate.line != (used[-1].line if used else "") and not _is_title(
                    candidate.text
                ):
                    address["city"] = _tidy(candidate.text)
                    used.append(candidate)
        for seg in segments[postcode_at + 1 :]:
            code = _country_code(seg.text)
            if code:
                address["country"] = code
                used.append(seg)
                break
    else:
        street = next((s for s in segments if s.text and _looks_like_street(s.text)), None)
        if street is not None:
            address["street"] = _tidy(street.text)
            used.append(street)
    if not address.get("country"):
        for seg in segments:
            code = _country_code(seg.text)
            if code:
                address["country"] = code
                used.append(seg)
                break
    if address and not address.get("country") and country_hint and postcode_at is not None:
        address["country"] = country_hint
    if not address:
        return
    fields.address = {
        "street": address.get("street", ""),
        "city": address.get("city", ""),
        "postcode": address.get("postcode", ""),
        "region": address.get("region", ""),
        "country": address.get("country", ""),
    }
    lines = list(dict.fromkeys(s.line for s in used))
    fields.sources["address"] = " / ".join(lines)
    for seg in used:
        seg.text = ""


def _split_values(rest: list[_Segment], domains: list[str]) -> list[_Segment]:
    """'Jane Doe, Head of Sales' and 'Marketing Director at Contoso Ltd' are two values."""
    out: list[_Segment] = []
    for seg in rest:
        match = re.match(r"^(.+?)(?:\s*,\s*|\s+at\s+|\s+@\s+|\s+[-–—]\s+)(.+)$", seg.text)
        if match:
            head, tail = _tidy(match.group(1)), _tidy(match.group(2))
            head_title, tail_title = _is_title(head), _is_title(tail)
            tail_company = (_is_company(tail) and len(tail.split()) > 1) or _matches_domain(
                tail, domains
            )
            split = (
                (_name_tokens(head) and not head_title and tail_title and not _is_company(seg.text))
                or (head_title and tail_company and not _is_company(head))
                or (_is_company(head) and tail_title and not tail_company)
            )
            if split:
                out.append(_Segment(head, seg.line, seg.position))
                out.append(_Segment(tail, seg.line, seg.position))
                continue
        out.append(seg)
    return out


def extract(
    lines: list[str], *, region: str | None = None, known_name: str = "", known_email: str = ""
) -> Fields:
    """The contact fields in the lines of a card or signature.

    ``region`` is the country to read numbers without a +code in, when the card gives no
    better clue (an address, a country line); ``known_name`` and ``known_email`` (the sender
    of the mail a signature came from) help pick the name and company.
    """
    fields = Fields()
    segments: list[_Segment] = []
    for position, raw in enumerate(lines):
        line = " ".join(str(raw).split())
        if not line or _CLOSINGS.match(line):
            continue
        for part in _segments(line):
            segments.append(_Segment(part, line, position))

    for seg in segments:
        _take_emails(seg, fields)
    if known_email:
        address = _valid_email(known_email)
        if address and address not in fields.emails:
            fields.emails.append(address)
            fields.sources.setdefault("emails", known_email)
    for seg in segments:
        _take_websites(seg, fields)

    hint = _hints(segments, fields)
    phone_region = (hint or region or _default_region()).upper()
    for seg in segments:
        _take_phones(seg, fields, phone_region)
    for seg in segments:
        seg.text = _clean_rest(seg.text)

    _take_address(segments, fields, hint or (region or "").upper())

    domains = [e.rpartition("@")[2] for e in fields.emails] + [
        w.split("/", 1)[0].removeprefix("www.") for w in fields.websites
    ]
    rest = _split_values([s for s in segments if s.text], domains)
    email_locals = [re.sub(r"[^a-z0-9._-]", "", _fold(e.partition("@")[0])) for e in fields.emails]

    # The name first when it is known: it may contain a word that looks like a title.
    name_seg: _Segment | None = None
    known_words = {_letters(w) for w in known_name.split()} - {""}
    if known_name:
        name_seg = next((s for s in rest if _letters(s.text) == _letters(known_name)), None)
        if name_seg is None:  # "Sam" signing a mail from "Sam Carter"
            name_seg = next(
                (s for s in rest if {_letters(w) for w in s.text.split()} <= known_words), None
            )

    company_seg = next((s for s in rest if _is_company(s.text)), None)
    if company_seg is None:
        company_seg = next(
            (s for s in rest if s is not name_seg and _matches_domain(s.text, domains)), None
        )
        if (
            company_seg is not None
            and known_name
            and _letters(company_seg.text) == _letters(known_name)
        ):
            company_seg = None

    title_segs = [
        s for s in rest if s is not company_seg and s is not name_seg and _is_title(s.text)
    ]
    if name_seg is None:
        best = 0
        for seg in rest:
            if seg is company_seg or seg in title_segs:
                continue
            score = _name_score(
                seg.text, known=known_name, email_locals=email_locals, position=seg.position
            )
            if score > best:
                best, name_seg = score, seg
    if name_seg is None and title_segs:
        # "Sales Manager" is a title; a name that happens to contain a title word is not.
        for seg in rest:
            if (
                seg in title_segs
                and _name_score(
                    seg.text, known=known_name, email_locals=email_locals, position=seg.position
                )
                >= 6
            ):
                name_seg = seg
                title_segs.remove(seg)
                break

    if name_seg is not None and known_name and _letters(name_seg.text) != _letters(known_name):
        fields.name = known_name
        human = HumanName(known_name)
        fields.given_name, fields.family_name = human.first, human.last
        fields.sources["name"] = name_seg.line
    elif name_seg is not None:
        fields.name = _proper(_tidy(name_seg.text))
        human = HumanName(fields.name)
        fields.given_name, fields.family_name = human.first, human.last
        fields.sources["name"] = name_seg.line
    elif known_name:
        fields.name = known_name
        human = HumanName(known_name)
        fields.given_name, fields.family_name = human.first, human.last
    if title_segs:
        first_line = title_segs[0].line
        same = [s.text for s in title_segs if s.line == first_line]
        fields.title = ", ".join(same)
        fields.sources["title"] = first_line
    if company_seg is None:
        # A card: the line that is neither the name nor the title is most likely the company.
        leftovers = [
            s
            for s in rest
            if s is not name_seg and s not in title_segs and len(s.text.split()) <= 6
        ]
        if leftovers and (fields.emails or fields.phones) and len(leftovers) == 1:
            company_seg = leftovers[0]
    if company_seg is not None:
        fields.company = _tidy(company_seg.text)
        fields.sources["company"] = company_seg.line
    return fields
