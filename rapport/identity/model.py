"""A Fellegi–Sunter model of "same person or not", fitted without labelled examples.

Each candidate pair is a comparison vector: one ``Level`` per field (see ``compare``). The
model says, per field and level, how likely that level is among true matches (m) and among
non-matches (u); a level's weight is log2(m/u), and a pair's score is the sum of its
fields' weights. u is estimated from random pairs of records (``sample_pairs``,
``estimate_u``): nearly all are different people, and unlike the candidate pairs they are
not chosen for sharing a family name, so "same family name" keeps its real, modest
weight. m and the share of matches are then estimated by expectation–maximisation over
the candidate pairs, u held fixed. Pairs are grouped by their vector first: there are
only a few hundred distinct vectors however many millions of pairs, so fitting is cheap.
A missing value (``Level.MISSING``) is no evidence either way and weighs nothing.

A field's levels need not be the four ``Level`` values: the name-rarity fields (see
``frequency``) have one level per band, and the model learns a weight for every level it
meets. A fitted model, with the name frequencies it was fitted with, is saved as JSON
(``to_json``/``from_json``) so a new record can be checked against it later.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapport.identity.compare import AGREEMENT_ONLY_FIELDS, RARITY_FIELDS, Level, rarity_level
from rapport.identity.frequency import NameFrequencies

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
    # The name frequencies the vectors were built with, to build a new record's the same way.
    frequencies: NameFrequencies | None = None
    # Fields whose DIFFERENT level weighs nothing (see compare.AGREEMENT_ONLY_FIELDS).
    agreement_only: list[str] = field(default_factory=list)

    def weight(self, i: int, level: int) -> float:
        if level == Level.MISSING:
            return 0.0
        if level == Level.DIFFERENT and self.fields[i] in self.agreement_only:
            return 0.0
        m, u = self.m[i].get(level, _FLOOR), self.u[i].get(level, _FLOOR)
        weight = math.log2(max(m, _FLOOR) / max(u, _FLOOR))
        if level > Level.DIFFERENT and self.fields[i] not in RARITY_FIELDS:
            # Agreement is never evidence against: on data with few true duplicates, EM
            # can meet no match sharing a phone and would otherwise count one against.
            return max(weight, 0.0)
        return weight

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

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form (level keys become strings, as JSON requires)."""
        return {
            "fields": self.fields,
            "prior": self.prior,
            "m": [{str(k): v for k, v in table.items()} for table in self.m],
            "u": [{str(k): v for k, v in table.items()} for table in self.u],
            "iterations": self.iterations,
            "frequencies": self.frequencies.to_json() if self.frequencies else None,
            "agreement_only": self.agreement_only,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Model:
        frequencies = data.get("frequencies")
        return cls(
            fields=list(data["fields"]),
            prior=float(data["prior"]),
            m=[{int(k): float(v) for k, v in table.items()} for table in data["m"]],
            u=[{int(k): float(v) for k, v in table.items()} for table in data["u"]],
            iterations=int(data.get("iterations", 0)),
            frequencies=NameFrequencies.from_json(frequencies) if frequencies else None,
            agreement_only=list(data.get("agreement_only", [])),
        )


_M_START: dict[int, float] = {
    Level.EXACT: 0.7,
    Level.STRONG: 0.15,
    Level.WEAK: 0.1,
    Level.DIFFERENT: 0.05,
}
_U_START: dict[int, float] = {
    Level.EXACT: 0.05,
    Level.STRONG: 0.05,
    Level.WEAK: 0.1,
    Level.DIFFERENT: 0.8,
}


def _start(levels: list[list[int]]) -> tuple[list[dict[int, float]], list[dict[int, float]]]:
    # Matches mostly agree exactly, non-matches mostly differ: EM moves on from there. A
    # field with levels of its own (a rarity band) starts with no opinion: the same share
    # of each level among matches and non-matches, so it weighs nothing until EM learns.
    m: list[dict[int, float]] = []
    u: list[dict[int, float]] = []
    for field_levels in levels:
        if set(field_levels) == set(LEVELS):
            m.append(dict(_M_START))
            u.append(dict(_U_START))
        elif field_levels:
            even = 1 / len(field_levels)
            m.append(dict.fromkeys(field_levels, even))
            u.append(dict.fromkeys(field_levels, even))
        else:
            m.append({})
            u.append({})
    return m, u


# A prior belief, not a label: at least this share of one person's records differ in the
# field (people have several addresses and numbers, and change jobs). Without it, EM can
# explain matches as "the e-mail agrees" and give a different e-mail an impossible weight
# (2^-20), so a person who changed jobs or wrote from a new address is never proposed.
CHANGES_AMONG_MATCHES = {"email": 0.05, "phone": 0.05, "organisation": 0.05}


# And at most this share of one person's records differ in the field: a person keeps their
# given name (a nickname, an initial or a typo is not DIFFERENT) and their date of birth or
# customer number. Without it EM can take "same family name, same employer" for the match
# class: parents, children and colleagues named alike then score 100 % (issue 11).
SAME_AMONG_MATCHES = {"given": 0.005, "identifier": 0.02}


def _at_most(shares: dict[int, float], level: int, most: float) -> None:
    if shares.get(level, 0.0) <= most:
        return
    rest = sum(p for lv, p in shares.items() if lv != level)
    for lv in shares:
        shares[lv] = most if lv == level else (shares[lv] * (1 - most) / rest if rest else 0.0)


def sample_pairs(n: int, size: int, *, seed: int = 0) -> list[tuple[int, int]]:
    """Up to ``size`` distinct random pairs (i < j) of ``n`` records' positions, the same
    for the same seed (a scan run twice fits the same model); every pair when there are
    fewer."""
    total = n * (n - 1) // 2
    if total <= size:
        return [(i, j) for i in range(n) for j in range(i + 1, n)]
    rng = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    while len(seen) < size:
        i, j = rng.randrange(n), rng.randrange(n)
        if i != j:
            seen.add((i, j) if i < j else (j, i))
    return sorted(seen)


def estimate_u(
    fields: Sequence[str],
    vectors: Iterable[Vector],
    *,
    frequencies: NameFrequencies | None = None,
) -> list[dict[int, float]]:
    """Each field's share of levels among non-matches, from random pairs' vectors (half a
    pair of smoothing, so a level never met is rare, not impossible). A name-rarity field
    is read off the name table instead: among random pairs that share a name, the share
    that share one of each band (a random sample rarely shares a name at all)."""
    counts: list[Counter[int]] = [Counter() for _ in fields]
    for v in vectors:
        for i, lv in enumerate(v):
            if lv != Level.MISSING:
                counts[i][int(lv)] += 1
    u: list[dict[int, float]] = []
    for i, name in enumerate(fields):
        if name in RARITY_FIELDS:
            table = (
                (frequencies.given if name == "given_rarity" else frequencies.family)
                if frequencies
                else {}
            )
            shared: Counter[int] = Counter()
            for n in table.values():
                if n > 1:
                    shared[rarity_level(n)] += n * (n - 1) // 2
            total = sum(shared.values())
            u.append({lv: c / total for lv, c in shared.items()} if total else dict(counts[i]))
            continue
        levels = set(LEVELS) | set(counts[i])
        mass = sum(counts[i].values()) + 0.5 * len(levels)
        u.append({lv: (counts[i][lv] + 0.5) / mass for lv in levels})
    return u


def _at_least(shares: dict[int, float], level: int, least: float) -> None:
    if shares.get(level, 0.0) >= least:
        return
    rest = sum(p for lv, p in shares.items() if lv != level)
    scale = (1 - least) / rest if rest else 0.0
    for lv in shares:
        shares[lv] = least if lv == level else shares[lv] * scale


def default_model(fields: Sequence[str], *, prior: float = 0.05) -> Model:
    """The model before any data: the starting weights EM begins from (agreement counts for,
    difference against, rarity and missing values nothing). For checks before the first scan."""
    model = Model(
        fields=list(fields),
        prior=prior,
        agreement_only=[f for f in fields if f in AGREEMENT_ONLY_FIELDS],
    )
    model.m, model.u = _start([LEVELS if f not in RARITY_FIELDS else [] for f in fields])
    return model


def fit(
    fields: Sequence[str],
    vectors: Iterable[Vector] | Mapping[Vector, int],
    *,
    prior: float = 0.05,
    max_iterations: int = 200,
    tolerance: float = 1e-7,
    frequencies: NameFrequencies | None = None,
    agreement_only: Iterable[str] = AGREEMENT_ONLY_FIELDS,
    changes_among_matches: Mapping[str, float] | None = None,
    u: Sequence[Mapping[int, float]] | None = None,
) -> Model:
    """Estimate the model from the candidate pairs' comparison vectors (no labels);
    ``vectors`` may also be a mapping of each distinct vector to how many pairs have it
    (a ``Counter``: what a scan of millions of pairs keeps); ``frequencies`` (the table the
    vectors were built with) is kept with the model. With ``u`` (``estimate_u`` over
    random pairs), the non-match shares are held at it and EM learns m and the prior only:
    learnt over candidate pairs, which blocking chose for sharing a name, u would call
    a shared family name ordinary among non-matches and EM would find the wrong classes."""
    if isinstance(vectors, Mapping):
        counts = Counter({tuple(int(lv) for lv in v): n for v, n in vectors.items()})
    else:
        counts = Counter(tuple(int(lv) for lv in v) for v in vectors)
    n_fields = len(fields)
    model = Model(fields=list(fields), prior=prior, frequencies=frequencies)
    model.agreement_only = [f for f in fields if f in set(agreement_only)]
    seen: list[set[int]] = [set() for _ in range(n_fields)]
    for v in counts:
        for i, lv in enumerate(v):
            if lv != Level.MISSING:
                seen[i].add(lv)
    if u is not None:
        for i, shares_u in enumerate(u):
            seen[i] |= {int(lv) for lv in shares_u}
    levels = [sorted(met if met - set(LEVELS) else met | set(LEVELS)) for met in seen]
    model.m, model.u = _start(levels)
    if u is not None:
        model.u = [
            {lv: max(float(u[i].get(lv, 0.0)), _FLOOR) for lv in levels[i]} for i in range(n_fields)
        ]
    ceilings = {
        i: SAME_AMONG_MATCHES[f]
        for i, f in enumerate(fields)
        if f in SAME_AMONG_MATCHES and Level.DIFFERENT in levels[i]
    }
    changes = CHANGES_AMONG_MATCHES if changes_among_matches is None else changes_among_matches
    floors = {
        i: changes[f] for i, f in enumerate(fields) if f in changes and Level.DIFFERENT in levels[i]
    }
    total = sum(counts.values())
    if not total:
        return model
    for iteration in range(1, max_iterations + 1):
        # E step: each distinct vector's probability of being a match.
        share = {v: model.probability(v) for v in counts}
        # M step: the expected counts of each level among matches and non-matches.
        matches = sum(counts[v] * share[v] for v in counts)
        m_new: list[dict[int, float]] = [dict.fromkeys(lv, 0.0) for lv in levels]
        u_new: list[dict[int, float]] = [dict.fromkeys(lv, 0.0) for lv in levels]
        for v, n in counts.items():
            p = share[v]
            for i, lv in enumerate(v):
                if lv != Level.MISSING:
                    m_new[i][lv] += n * p
                    u_new[i][lv] += n * (1 - p)
        for table in (m_new, u_new):
            for shares in table:
                mass = sum(shares.values())
                for lv in shares:
                    shares[lv] = max(shares[lv] / mass, _FLOOR) if mass else 1 / len(shares)
        for i, least in floors.items():
            _at_least(m_new[i], Level.DIFFERENT, least)
        for i, most in ceilings.items():
            _at_most(m_new[i], Level.DIFFERENT, most)
        if u is not None:
            u_new = model.u
        new_prior = min(max(matches / total, _FLOOR), 1 - _FLOOR)
        change = abs(new_prior - model.prior) + max(
            abs(m_new[i][lv] - model.m[i][lv]) + abs(u_new[i][lv] - model.u[i][lv])
            for i in range(n_fields)
            for lv in levels[i]
        )
        model.m, model.u, model.prior, model.iterations = m_new, u_new, new_prior, iteration
        if change < tolerance:
            break
    return model
