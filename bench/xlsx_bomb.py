"""Reading a decompression-bomb workbook (issue 11, item 8): a 400 KB XLSX whose one header
cell inflates to 400 MiB, read by the import reader that every upload goes through.

    .venv/bin/python bench/xlsx_bomb.py
    .venv/bin/python bench/xlsx_bomb.py --mib 400

Two runs, each in a process of its own so its peak memory is its own: first with the
settings as shipped (the inflation ratio is refused from the zip's directory, before any
cell is read); then with the ratio limit lifted, so the streaming limits (inflated bytes
and cell length, counted while reading) must refuse it. Printed for each: the workbook's
size, the reason given, the peak resident memory of the process, its CPU time and the load
average. The issue's figure before the limits: one worker at 14 GB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET = "xl/worksheets/sheet1.xml"


def workbook(mib: int) -> bytes:
    """A minimal workbook whose first cell is ``mib`` MiB of one letter (deflates ~1000:1)."""
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{MAIN}.sheet.main+xml"/>'
            f'<Override PartName="/{SHEET}" ContentType="{MAIN}.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<workbook {NS} xmlns:r="{REL}"><sheets>'
            '<sheet name="People" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in parts.items():
            z.writestr(name, text)
        with z.open(SHEET, "w", force_zip64=True) as f:
            f.write(
                f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}><sheetData>'
                '<row r="1"><c r="A1" t="inlineStr"><is><t>'.encode()
            )
            chunk = b"A" * (1 << 20)
            for _ in range(mib):
                f.write(chunk)
            f.write(b"</t></is></c></row></sheetData></worksheet>")
    return out.getvalue()


def one(mib: int, lift_ratio: bool) -> dict[str, object]:
    import django

    django.setup()
    from django.conf import settings

    from rapport.ingest.imports.readers import FileProblem, read_table

    data = workbook(mib)
    if lift_ratio:
        settings.IMPORT_XLSX_MAX_RATIO = 10**9
    cpu = time.process_time()
    try:
        rows = sum(1 for _ in read_table(io.BytesIO(data), filename="bomb.xlsx").rows)
        outcome = f"READ {rows} rows (not refused)"
    except FileProblem as e:
        outcome = f"refused: {e}"
    return {
        "ratio_limit": "lifted" if lift_ratio else "as shipped",
        "workbook_kb": round(len(data) / 1024),
        "inflated_mib": mib,
        "outcome": outcome[:160],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "cpu_s": round(time.process_time() - cpu, 2),
        "load": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=400)
    parser.add_argument("--one", choices=["shipped", "lifted"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.mib, args.one == "lifted")))
        return
    for mode in ("shipped", "lifted"):
        done = subprocess.run(
            [sys.executable, __file__, "--mib", str(args.mib), "--one", mode],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"ratio limit {r['ratio_limit']}: {r['workbook_kb']} KB workbook inflating to "
            f"{r['inflated_mib']} MiB: {r['outcome']}; peak RSS {r['peak_rss_mb']} MB, "
            f"CPU {r['cpu_s']} s (load average {r['load']})"
        )


if __name__ == "__main__":
    main()
