"""Backtest of the bookings forecast (rapport.sales.forecasting.bookings): Holt-Winters
exponential smoothing (statsmodels) against the seasonal-naive forecast (the same month a
year before), on the demo's sales history and on public monthly series that statsmodels
ships.

    .venv/bin/python bench/sales_forecast.py                  # demo on SQLite + public series
    .venv/bin/python bench/sales_forecast.py --no-demo        # the public series only
    .venv/bin/python bench/sales_forecast.py --seeds 42,7,11  # the demo told three times

Rolling origin: from each of the last --origins months, each method sees only the months
before it and forecasts the next --horizon (1 to 3 months ahead); every forecast value is
scored. WAPE = sum |forecast - actual| / sum |actual|; bias = sum (forecast - actual) /
sum |actual| (positive: too high). Series:

- demo: the amounts won per month (EUR) of ``manage.py demo`` (two years of deals; the
  first whole month after the first win to the last whole month), in a fresh SQLite data
  directory under /tmp/rapport-bench-forecast.
- elec_equip: Eurostat's monthly total turnover index of the manufacture of electrical
  equipment (NACE 26-27), euro area, working-day adjusted, not seasonally adjusted,
  1995-01 to 2016-05 (``statsmodels.datasets.elec_equip``): a real sales-like series.
- co2: Mauna Loa CO2, weekly 1958-2001 (``statsmodels.datasets.co2``), as monthly means.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORK = Path("/tmp/rapport-bench-forecast")


def _methods():
    from rapport.sales.forecasting.bookings import seasonal_naive, smoothing_forecast

    return {"holt_winters": smoothing_forecast, "seasonal_naive": seasonal_naive}


def score(name: str, series: list[float], origins: int, horizon: int) -> dict:
    from rapport.sales.forecasting.bookings import backtest

    out: dict = {"series": name, "months": len(series)}
    for label, method in _methods().items():
        b = backtest(series, method=method, origins=origins, horizon=horizon)
        out[label] = {"wape": round(b.wape, 4), "bias": round(b.bias, 4), "points": b.points}
    return out


def public_series() -> dict[str, list[float]]:
    from statsmodels.datasets import co2, elec_equip

    elec = elec_equip.load().data.iloc[:, 0].astype(float)
    weekly = co2.load().data["co2"].astype(float).interpolate()
    monthly = weekly.resample("MS").mean().dropna()
    return {"elec_equip": list(elec), "co2": list(monthly)}


def demo_step() -> None:
    """In the child process: the demo database's monthly bookings, as JSON."""
    from rapport.sales.forecasting.bookings import monthly_bookings

    rows = monthly_bookings(actor=None, currency="EUR", months=36)
    # The first month is partial (the story starts in it): left out.
    print(json.dumps([float(v) for _, v in rows[1:]]))


def demo_series(seed: int, work: Path = WORK) -> list[float]:
    import subprocess

    from bench.common import fresh_env

    env = fresh_env(work, "rapport_bench_forecast", "sqlite", tag=str(seed))
    subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), "demo", "--seed", str(seed), "--no-progress",
        ],
        env=env, check=True, cwd=ROOT, capture_output=True,
    )  # fmt: skip
    out = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--demo-step"], env=env, check=True, cwd=ROOT,
        capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _line(r: dict) -> str:
    hw, sn = r["holt_winters"], r["seasonal_naive"]
    better = "better" if hw["wape"] < sn["wape"] else "worse" if hw["wape"] > sn["wape"] else "equal"
    return (
        f"{r['series']:<14} {r['months']:>4} months  Holt-Winters WAPE {hw['wape']:.3f} bias "
        f"{hw['bias']:+.3f} | seasonal naive WAPE {sn['wape']:.3f} bias {sn['bias']:+.3f} "
        f"| {hw['points']} points: {better}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--origins", type=int, default=36, help="forecast origins, public series")
    parser.add_argument("--demo-origins", type=int, default=9, help="forecast origins, demo")
    parser.add_argument("--horizon", type=int, default=3)
    parser.add_argument("--seeds", default="42", help="demo seeds, comma-separated")
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--work", default=str(WORK), help="where the demo's data directories go")
    parser.add_argument("--demo-step", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    django.setup()
    if args.demo_step:
        demo_step()
        return
    results = []
    for name, series in public_series().items():
        results.append(score(name, series, args.origins, args.horizon))
        print(_line(results[-1]), flush=True)
    if not args.no_demo:
        for seed in [int(s) for s in args.seeds.split(",") if s]:
            series = demo_series(seed, Path(args.work))
            results.append(score(f"demo seed {seed}", series, args.demo_origins, args.horizon))
            print(_line(results[-1]), flush=True)
            print("  monthly bookings:", ", ".join(f"{v:,.0f}" for v in series), flush=True)
    print(f"load average (1, 5, 15 min) {os.getloadavg()}; CPU time {time.process_time():.1f} s", flush=True)
    print(json.dumps([r for r in results if not any(math.isnan(r[m]["wape"]) for m in _methods())]))


if __name__ == "__main__":
    main()
