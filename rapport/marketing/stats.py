"""The statistics of "which messages work": Wilson intervals for rates, and the winner rule.

The winner rule (decision 0024): the variant with the highest click rate wins only when
every variant has at least ``MIN_SAMPLE`` delivered messages and a two-sided
two-proportion z-test (pooled, with the continuity correction) finds it better than
*each* other variant at ``ALPHA`` / (k − 1) (Bonferroni over the k − 1 comparisons). The
test is made once, when someone asks for the winner after the send, not each time the
report is read: looking again and again and stopping at the first "significant" look
would pick false winners far more often than ``ALPHA``. ``aa_false_winner_rate`` runs
the rule on identical variants (an A/A test) and counts how often it still names one;
bench/segments.py prints it and a test holds it under 5 %.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.05
MIN_SAMPLE = 100
Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a rate (95 % by default); (0, 0) for no trials."""
    if n <= 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value that two rates differ (pooled z-test, Yates' correction)."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    diff = abs(x1 / n1 - x2 / n2) - 0.5 * (1 / n1 + 1 / n2)
    z = max(0.0, diff) / se
    return math.erfc(z / math.sqrt(2))


@dataclass(frozen=True)
class WinnerResult:
    winner: int | None  # the variant's key (id), or None
    reason: str
    p_values: dict[int, float]


def pick_winner(
    variants: Sequence[tuple[int, int, int]], *, alpha: float = ALPHA, min_sample: int = MIN_SAMPLE
) -> WinnerResult:
    """``variants``: (key, successes, trials) each. The best wins if it beats every other."""
    if len(variants) < 2:
        return WinnerResult(None, "A test needs at least two variants.", {})
    small = [key for key, _, n in variants if n < min_sample]
    if small:
        return WinnerResult(
            None, f"Every variant needs at least {min_sample} delivered messages.", {}
        )
    best = max(variants, key=lambda v: (v[1] / v[2], -v[0]))
    level = alpha / (len(variants) - 1)
    p_values = {
        key: two_proportion_p(best[1], best[2], x, n) for key, x, n in variants if key != best[0]
    }
    worst_p = max(p_values.values())
    if worst_p < level:
        return WinnerResult(
            best[0],
            f"Click rate higher than every other variant's (largest p = {worst_p:.4f} < {level:.4f}).",
            p_values,
        )
    return WinnerResult(
        None,
        f"No variant is clearly better yet (largest p = {worst_p:.4f}, needs < {level:.4f}).",
        p_values,
    )


def aa_false_winner_rate(
    *,
    runs: int = 2000,
    variants: int = 2,
    recipients: int = 2000,
    rate: float = 0.05,
    seed: int = 1,
) -> float:
    """Share of simulated A/A campaigns (identical variants, recipients split at random)
    in which ``pick_winner`` still names a winner: its false-winner rate."""
    rng = random.Random(seed)
    false = 0
    for _ in range(runs):
        counts = [[0, 0] for _ in range(variants)]
        for _ in range(recipients):
            arm = counts[rng.randrange(variants)]
            arm[1] += 1
            if rng.random() < rate:
                arm[0] += 1
        result = pick_winner([(i, x, n) for i, (x, n) in enumerate(counts)])
        if result.winner is not None:
            false += 1
    return false / runs
