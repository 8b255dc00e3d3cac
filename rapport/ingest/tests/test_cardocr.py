"""Card photos read by OCR: images rendered from known text, field accuracy measured."""

from __future__ import annotations

import io
import random
import re
from dataclasses import dataclass, field

import pytest
from PIL import Image, ImageDraw, ImageFont

from rapport.ingest.capture import cardocr
from rapport.ingest.textfields import Fields

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu/", "/usr/share/fonts/truetype/liberation/")
FONTS = {
    "DejaVuSans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "LiberationSerif": "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "LiberationSans-Bold": "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "DejaVuSerif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
}
LAYOUTS = ("centred", "logo-left", "two-columns")


@dataclass
class Specimen:
    """What is printed on a card, and so what the reading must give back."""

    name: str
    title: str
    company: str
    email: str
    phone: str  # as printed
    e164: str
    website: str
    street: str
    city_line: str  # as printed: "London EC1A 1BB", "10117 Berlin"
    city: str
    postcode: str
    country: str = ""
    extra: list[str] = field(default_factory=list)

    def identity_lines(self) -> list[str]:
        return [self.name, self.title, self.company]

    def contact_lines(self) -> list[str]:
        lines = [f"Tel: {self.phone}", self.email, self.website, self.street, self.city_line]
        return lines + ([self.country] if self.country else []) + self.extra


SPECIMENS = [
    Specimen(
        "Jane Whitfield",
        "Head of Sales",
        "Acme Widgets Ltd",
        "jane.whitfield@acmewidgets.co.uk",
        "+44 20 7946 0958",
        "+442079460958",
        "www.acmewidgets.co.uk",
        "221B Baker Street",
        "London NW1 6XE",
        "London",
        "NW1 6XE",
    ),
    Specimen(
        "Robert Kline",
        "Vice President",
        "Northwind Traders Inc.",
        "rkline@northwind.com",
        "+1 212 736 5000",
        "+12127365000",
        "www.northwind.com",
        "350 Fifth Avenue",
        "New York, NY 10118",
        "New York",
        "10118",
    ),
    Specimen(
        "Katrin Weber",
        "Managing Director",
        "Brandt Maschinenbau GmbH",
        "k.weber@brandt-mb.de",
        "+49 30 901820",
        "+4930901820",
        "www.brandt-mb.de",
        "Friedrichstrasse 123",
        "10117 Berlin",
        "Berlin",
        "10117",
        "Germany",
    ),
    Specimen(
        "Sophie Laurent",
        "Sales Director",
        "Lumiere Conseil SAS",
        "sophie.laurent@lumiere.fr",
        "+33 1 42 68 53 00",
        "+33142685300",
        "www.lumiere.fr",
        "12 rue de la Paix",
        "75002 Paris",
        "Paris",
        "75002",
        "France",
    ),
    Specimen(
        "Mark Chen",
        "Senior Software Engineer",
        "Initech LLC",
        "mark.chen@initech.com",
        "+1 415 555 2671",
        "+14155552671",
        "www.initech.com",
        "500 Howard Street",
        "San Francisco, CA 94105",
        "San Francisco",
        "94105",
    ),
    Specimen(
        "Olivia Brown",
        "Marketing Manager",
        "Contoso Ltd",
        "olivia.brown@contoso.co.uk",
        "+44 161 496 0321",
        "+441614960321",
        "www.contoso.co.uk",
        "14 Deansgate",
        "Manchester M3 2BW",
        "Manchester",
        "M3 2BW",
    ),
]


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONTS[name], size)


def render(
    card: Specimen,
    *,
    font: str = "DejaVuSans",
    layout: str = "centred",
    fmt: str = "PNG",
    background: tuple[int, int, int] = (255, 255, 255),
    ink: tuple[int, int, int] = (20, 20, 30),
    rotate: float = 0.0,
    width: int = 1050,
    height: int = 600,
) -> bytes:
    """A card at 300 dpi (3.5 x 2 in) with the specimen's text, as PNG or JPEG bytes."""
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    big, small = _font(font, 40), _font(font, 26)
    top = card.identity_lines()
    rest = card.contact_lines()

    def line_height(f: ImageFont.FreeTypeFont) -> int:
        box = f.getbbox("Hg")
        return int((box[3] - box[1]) * 1.45)

    if layout == "centred":
        y = 40
        for i, text in enumerate(top + rest):
            f = big if i == 0 else small
            w = draw.textlength(text, font=f)
            draw.text(((width - w) / 2, y), text, font=f, fill=ink)
            y += line_height(f) + (14 if i == len(top) - 1 else 0)
    elif layout == "logo-left":
        draw.rectangle((40, 60, 200, 220), fill=(30, 90, 160))
        draw.ellipse((80, 100, 160, 180), fill=(240, 200, 40))
        x, y = 250, 40
        for i, text in enumerate(top + rest):
            f = big if i == 0 else small
            draw.text((x, y), text, font=f, fill=ink)
            y += line_height(f) + (14 if i == len(top) - 1 else 0)
    elif layout == "two-columns":
        y = 60
        for i, text in enumerate(top):
            f = big if i == 0 else small
            draw.text((50, y), text, font=f, fill=ink)
            y += line_height(f)
        draw.line(
            (width // 2 - 10, 50, width // 2 - 10, height - 50), fill=(160, 160, 160), width=2
        )
        y = 60
        for text in rest:
            draw.text((width // 2 + 20, y), text, font=_font(font, 22), fill=ink)
            y += line_height(_font(font, 22))
    else:
        raise ValueError(layout)
    if rotate:
        image = image.rotate(
            rotate, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=background
        )
    out = io.BytesIO()
    image.save(out, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return out.getvalue()


def _norm(value: str) -> str:
    return re.sub(r"[^a-z0-9@+]", "", value.casefold())


def score(card: Specimen, fields: Fields) -> dict[str, bool]:
    """Which fields were read exactly right (ignoring case, spaces and punctuation)."""
    return {
        "name": _norm(fields.name) == _norm(card.name),
        "title": _norm(fields.title) == _norm(card.title),
        "company": _norm(fields.company) == _norm(card.company),
        "email": fields.emails == [card.email],
        "phone": [p.e164 for p in fields.phones] == [card.e164],
        "website": [_norm(w) for w in fields.websites] == [_norm(card.website)],
        "street": _norm(fields.address.get("street", "")) == _norm(card.street),
        "city": _norm(fields.address.get("city", "")) == _norm(card.city),
        "postcode": _norm(fields.address.get("postcode", "")) == _norm(card.postcode),
    }


def variants(count: int | None = None, seed: int = 5) -> list[tuple[Specimen, dict]]:
    """Cards in every font and layout, PNG and JPEG, white and tinted, some turned a little."""
    tints = [(255, 255, 255), (246, 238, 218), (226, 236, 250)]
    out: list[tuple[Specimen, dict]] = []
    fonts = list(FONTS)
    for i, card in enumerate(SPECIMENS):
        for j, layout in enumerate(LAYOUTS):
            options = {
                "font": fonts[(i + j) % len(fonts)],
                "layout": layout,
                "fmt": "JPEG" if (i + j) % 2 else "PNG",
                "background": tints[(i + 2 * j) % len(tints)],
                "rotate": 1.5 if (i + j) % 5 == 0 else 0.0,
            }
            out.append((card, options))
    if count is not None:
        rng = random.Random(seed)
        while len(out) < count:
            card, options = rng.choice(out)
            out.append(
                (card, {**options, "font": rng.choice(fonts), "rotate": rng.choice([0, 1, -2])})
            )
        out = out[:count]
    return out


CASES = variants()


@pytest.fixture(scope="module")
def readings() -> list[tuple[Specimen, dict, cardocr.CardReading]]:
    return [
        (card, opts, cardocr.read_card(render(card, **opts), filename="card"))
        for card, opts in CASES
    ]


def test_the_cases_cover_fonts_layouts_formats_tints_and_rotation():
    assert {o["font"] for _, o in CASES} >= {"DejaVuSans", "LiberationSerif", "LiberationSans-Bold"}
    assert {o["layout"] for _, o in CASES} == set(LAYOUTS)
    assert {o["fmt"] for _, o in CASES} == {"PNG", "JPEG"}
    assert len({o["background"] for _, o in CASES}) > 1
    assert any(o["rotate"] for _, o in CASES)


def test_field_accuracy_over_all_rendered_cards(readings):
    results = [score(card, reading.fields) for card, _, reading in readings]
    pairs = [ok for result in results for ok in result.values()]
    accuracy = sum(pairs) / len(pairs)
    misses = [
        (
            card.name,
            opts["font"],
            opts["layout"],
            [k for k, ok in score(card, r.fields).items() if not ok],
        )
        for card, opts, r in readings
        if not all(score(card, r.fields).values())
    ]
    assert accuracy >= 0.9, (accuracy, misses)


def test_every_card_gives_its_email_and_phone(readings):
    for card, opts, reading in readings:
        assert reading.fields.emails == [card.email], (opts, reading.text)
        assert [p.e164 for p in reading.fields.phones] == [card.e164], (opts, reading.text)


def test_a_card_photographed_sideways_is_turned_upright_by_its_exif_orientation():
    card = SPECIMENS[0]
    image = Image.open(io.BytesIO(render(card, fmt="JPEG"))).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to view": the camera was held sideways
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    reading = cardocr.read_card(out.getvalue(), filename="sideways.jpg")
    assert reading.fields.emails == [card.email]
    assert (reading.width, reading.height) == (1050, 600)


def test_a_small_photo_is_enlarged_before_reading():
    card = SPECIMENS[1]
    small = Image.open(io.BytesIO(render(card))).resize((700, 400), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="PNG")
    reading = cardocr.read_card(out.getvalue(), filename="small.png")
    assert reading.fields.emails == [card.email]
    assert [p.e164 for p in reading.fields.phones] == [card.e164]


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), "white").save(out, format="GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("noise.png", bytes(random.Random(1).getrandbits(8) for _ in range(5000)), "not an image"),
        ("card.gif", _gif(), "GIF images are not accepted"),
        ("card.pdf", b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", "not an image"),
        ("empty.jpg", b"", "empty"),
    ],
)
def test_a_file_that_is_not_a_png_or_jpeg_is_refused_naming_file_and_reason(filename, data, reason):
    with pytest.raises(cardocr.CardImageError) as caught:
        cardocr.read_card(data, filename=filename)
    assert str(caught.value).startswith(f"{filename}: ")
    assert reason in str(caught.value)


def test_a_truncated_jpeg_is_refused_as_incomplete():
    data = render(SPECIMENS[0], fmt="JPEG")
    with pytest.raises(
        cardocr.CardImageError, match=r"^cut\.jpg: the image is damaged or incomplete"
    ):
        cardocr.read_card(data[: len(data) // 2], filename="cut.jpg")


def test_a_png_with_a_broken_checksum_is_refused():
    data = bytearray(render(SPECIMENS[0]))
    data[200] ^= 0xFF  # inside the first IDAT chunk
    with pytest.raises(cardocr.CardImageError, match="damaged or incomplete"):
        cardocr.read_card(bytes(data), filename="bad.png")


def test_too_many_pixels_or_bytes_are_refused_before_decoding(settings):
    settings.RAPPORT_CARD_IMAGE_MAX_PIXELS = 1_000_000
    data = render(SPECIMENS[0], width=1500, height=900)
    with pytest.raises(cardocr.CardImageError, match=r"1500×900 pixels; at most 1 megapixels"):
        cardocr.read_card(data, filename="big.png")
    settings.RAPPORT_CARD_IMAGE_MAX_BYTES = 1000
    with pytest.raises(cardocr.CardImageError, match=r"at most 0 MB|at most"):
        cardocr.read_card(data, filename="big.png")


def test_tesseract_taking_too_long_is_a_clear_error(settings):
    settings.RAPPORT_CARD_OCR_TIMEOUT = 0.01
    with pytest.raises(cardocr.CardImageError, match="card.png: reading the text took too long"):
        cardocr.read_card(render(SPECIMENS[0]), filename="card.png")
