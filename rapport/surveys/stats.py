"""The figures of a survey's results: CSAT (average, % satisfied), NPS, and their 95%
confidence intervals. Plain functions of counts, so they are tested on their own.

- % satisfied is the share of CSAT answers of 4 or 5; its interval is Wilson's score
  interval (right near 0% and 100% and for few answers, where the normal one is not).
- NPS is % promoters (9–10) − % detractors (0–6). Each answer scores +1, 0 or −1; the NPS
  is 100 × their mean, and its standard error is 100 × sqrt((p + d − (p − d)²) / n), with
  p and d the shares of promoters and detractors. The interval is clipped to −100…100.
- An average's interval is the normal one, mean ± 1.96 × s / sqrt(n).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    value: float | None
    low: float | None
    high: float | None
    n: int

    @property
    def margin(self) -> float | None:
        if self.value is None or self.low is None or self.high is None:
            return None
        return max(self.value - self.low, self.high - self.value)


NONE = Estimate(None, None, None, 0)


def wilson(successes: int, n: int, z: float = Z95) -> Estimate:
    """A proportion in percent with Wilson's 95% interval."""
    if n <= 0:
        return NONE
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0% and 100% the interval reaches the bound exactly (no float left short of it).
    low = 0.0 if successes == 0 else 100 * max(0.0, centre - half)
    high = 100.0 if successes == n else 100 * min(1.0, centre + half)
    return Estimate(100 * p, low, high, n)


def nps(promoters: int, detractors: int, n: int, z: float = Z95) -> Estimate:
    """Net Promoter Score (−100…100) with its 95% interval."""
    if n <= 0:
        return NONE
    p, d = promoters / n, detractors / n
    score = p - d
    se = math.sqrt(max(0.0, p + d - score * score) / n)
    return Estimate(
        100 * score, max(-100.0, 100 * (score - z * se)), min(100.0, 100 * (score + z * se)), n
    )


def mean(distribution: Mapping[int, int], z: float = Z95) -> Estimate:
    """The average of scores given as ``{score: count}``, with its 95% interval."""
    n = sum(distribution.values())
    if n <= 0:
        return NONE
    total = sum(k * v for k, v in distribution.items())
    m = total / n
    if n == 1:
        return Estimate(m, None, None, 1)
    var = sum(v * (k - m) ** 2 for k, v in distribution.items()) / (n - 1)
    half = z * math.sqrt(var / n)
    return Estimate(m, m - half, m + half, n)
