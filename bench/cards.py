"""Business-card OCR: render N cards from known text, read them back, print the accuracy.

    .venv/bin/python bench/cards.py            # 60 cards
    .venv/bin/python bench/cards.py -n 200 --seed 7

The cards come from the same renderer as ``rapport/ingest/tests/test_cardocr.py`` (six
people from the UK, the US, Germany and France; four fonts; centred, logo-and-text and
two-column layouts; PNG and JPEG; white and tinted paper; some turned by a degree or two).
Prints the share of cards with each field read exactly right (after normalisation), the
share of all (card, field) pairs, and cards per second (one process, Tesseract included).
Needs no database.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=60, help="number of cards (default 60)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--misses", action="store_true", help="print every card with a miss")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from rapport.ingest.capture import cardocr
    from rapport.ingest.tests.test_cardocr import render, score, variants

    cases = variants(args.n, seed=args.seed)
    right: Counter[str] = Counter()
    by_layout: Counter[str] = Counter()
    pairs = exact = render_seconds = 0.0
    started = time.perf_counter()
    for card, options in cases:
        t = time.perf_counter()
        data = render(card, **options)
        render_seconds += time.perf_counter() - t
        reading = cardocr.read_card(data, filename="bench")
        result = score(card, reading.fields)
        right.update(k for k, ok in result.items() if ok)
        pairs += len(result)
        exact += sum(result.values())
        if all(result.values()):
            by_layout[options["layout"]] += 1
        elif args.misses:
            missed = [k for k, ok in result.items() if not ok]
            print(f"miss {card.name} {options} {missed}\n  {reading.lines}")
    elapsed = time.perf_counter() - started - render_seconds
    n = len(cases)
    print(
        f"cards: {n}  fonts: {len({o['font'] for _, o in cases})}  "
        f"layouts: {len({o['layout'] for _, o in cases})}"
    )
    for key in (
        "name",
        "title",
        "company",
        "email",
        "phone",
        "website",
        "street",
        "city",
        "postcode",
    ):
        print(f"  {key:<9} {right[key] / n:6.1%}")
    print(f"field accuracy (all card x field pairs): {exact / pairs:.1%}")
    print(f"cards fully right: {sum(by_layout.values()) / n:.1%}")
    print(f"OCR + reading: {n / elapsed:.2f} cards/s ({elapsed / n * 1000:.0f} ms a card)")


if __name__ == "__main__":
    main()
