"""A Fellegi–Sunter model of "same person or not", fitted without labelled examples.

Each candidate pair is a comparison vector: one ``Level`` per field (see ``compare``). The
model says, per field and level, how likely that level is among true matches (m) and among
non-matches (u); a level's weight is log2(m/u), and a pair's score is the sum of its
fields' weights. m, u and the share of matches are estimated by expectation–maximisation
over the candidate pairs themselves. Pairs are grouped by their vector first: there are
only a few hundred distinct vectors however many millions of pairs, so fitting is cheap.
A missing value (``Level.MISSING``) is no evidence either way and weighs nothing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapport.identity.compare import Level

Vector = tuple[int, ...]
LEVELS: list[int] = [int(lv) for lv in Level if lv is not Level.MISSING]
_FLOOR = 1e-6  # no level is impossible on either side: keeps every weight finite


@dataclass
class Model:
    fields: list[str]
    prior: float = 0.05  # share of candidate pairs that are matches
    m: list[dict[int, float]] = field(default_factory=list)
    u: list[dict[int, float]] = field(default_factory=list)
    iterations: int = 0

    def weight(self, i: int, level: int) -> float:
        if level == Level.MISSING:
            return 0.0
        return math.log2(max(self.m[i][level], _FLOOR) / max(self.u[i][level], _FLOOR))

    def score(self, vector: Vector) -> float:
        """Evidence for a match, in bits (the sum of the fields' weights)."""
        return sum(self.weight(i, lv) for i, lv in enumerate(vector))

    def probability(self, vector: Vector) -> float:
        """P(match | vector), given the fitted share of matches."""
        odds = self.prior / (1 - self.prior) * 2 ** self.score(vector)
        return odds / (1 + odds)

    def explain(self, vector: Vector) -> list[tuple[str, int, float]]:
        """(field, level, weight) for each field, strongest evidence first."""
        rows = [(self.fields[i], lv, self.weight(i, lv)) for i, lv in enumerate(vector)]
        return sorted(rows, key=lambda r: -abs(r[2]))


def _start(n_fields: int) -> tuple[list[dict[int, float]], list[dict[int, float]]]:
    # Matches mostly agree exactly, non-matches mostly differ: EM moves on from there.
    m_start: dict[int, float] = {Level.EXACT: 0.7, Level.STRONG: 0.15, Level.WEAK: 0.1, Level.DIFFERENT: 0.05}
    u_start: dict[int, float] = {Level.EXACT: 0.05, Level.STRONG: 0.05, Level.WEAK: 0.1, Level.DIFFERENT: 0.8}
    return [dict(m_start) for _ in range(n_fields)], [dict(u_start) for _ in range(n_fields)]


def fit(
    fields: Sequence[str],
    vectors: Iterable[Vector],
    *,
    prior: float = 0.05,
    max_iterations: int = 200,
    tolerance: float = 1e-7,
) -> Model:
    """Estimate the model from the candidate pairs' comparison vectors (no labels)."""
    counts = Counter(tuple(int(lv) for lv in v) for v in vectors)
    n_fields = len(fields)
    model = Model(fields=list(fields), prior=prior)
    model.m, model.u = _start(n_fields)
    total = sum(counts.values())
    if not total:
        return model
    for iteration in range(1, max_iterations + 1):
        # E step: each distinct vector's probability of being a match.
        share = {v: model.probability(v) for v in counts}
        # M step: the expected counts of each level among matches and non-matches.
        matches = sum(counts[v] * share[v] for v in counts)
        m_new: list[dict[int, float]] = [dict.fromkeys(LEVELS, 0.0) for _ in range(n_fields)]
        u_new: list[dict[int, float]] = [dict.fromkeys(LEVELS, 0.0) for _ in range(n_fields)]
        for v, n in counts.items():
            p = share[v]
            for i, lv in enumerate(v):
                if lv != Level.MISSING:
                    m_new[i][lv] += n * p
                    u_new[i][lv] += n * (1 - p)
        for table in (m_new, u_new):
            for levels in table:
                seen = sum(levels.values())
                for lv in levels:
                    levels[lv] = max(levels[lv] / seen, _FLOOR) if seen else 1 / len(levels)
        new_prior = min(max(matches / total, _FLOOR), 1 - _FLOOR)
        change = abs(new_prior - model.prior) + max(
            abs(m_new[i][lv] - model.m[i][lv]) + abs(u_new[i][lv] - model.u[i][lv])
            for i in range(n_fields)
            for lv in LEVELS
        )
        model.m, model.u, model.prior, model.iterations = m_new, u_new, new_prior, iteration
        if change < tolerance:
            break
    return model
