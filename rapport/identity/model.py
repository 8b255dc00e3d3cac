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

import itertools
import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rapport.identity.compare import (
    AGREEMENT_ONLY_FIELDS,
    RARITY_FIELDS,
    Level,
    field_levels,
    is_identifying,
    rarity_level,
)
from rapport.identity.frequency import NameFrequencies

Vector = tuple[int, ...]
LEVELS: list[int] = [int(lv) for lv in Level if lv is not Level.MISSING]
_FLOOR = 1e-6  # no level is impossible on either side: keeps every weight finite


@dataclass
class Model:
    fields: list[str]
    # P(match) before the evidence: fitted with u from random pairs, the chance that two
    # records picked at random are one person; otherwise the share of compared pairs.
    prior: float = 0.05
    m: list[dict[int, float]] = field(default_factory=list)
    u: list[dict[int, float]] = field(default_factory=list)
    iterations: int = 0
    # The name frequencies the vectors were built with, to build a new record's the same way.
    frequencies: NameFrequencies | None = None
    # Fields whose DIFFERENT level weighs nothing (see compare.AGREEMENT_ONLY_FIELDS).
    agreement_only: list[str] = field(default_factory=list)
    # Fields weighed together (``GROUPS``): among matches their levels are learnt as one
    # table over every combination (``joint``), as they change together; among
    # non-matches they are independent (u per field).
    groups: list[list[str]] = field(default_factory=list)
    joint: list[dict[tuple[int, ...], float]] = field(default_factory=list)
    # A field's u where another agrees (``CONDITIONS``): field -> (the other, u there).
    u_when: dict[str, tuple[str, dict[int, float]]] = field(default_factory=dict)
    _marginals: dict[Any, float] = field(default_factory=dict, repr=False, compare=False)
    # What the steward calls each identifying field ("date of birth"): not stored, the data
    # dictionary's (``check.current_model``).
    labels: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def _group_of(self) -> dict[int, tuple[int, list[int]]]:
        """Field position -> (group number, the group's field positions in order)."""
        out: dict[int, tuple[int, list[int]]] = {}
        for g, names in enumerate(self.groups):
            positions = [self.fields.index(n) for n in names]
            for i in positions:
                out[i] = (g, positions)
        return out

    def _joint_share(self, g: int, known: tuple[tuple[int, int], ...]) -> float:
        """The share of matches with these (member, level) in group ``g``, the others any."""
        key = (g, known)
        cached = self._marginals.get(key)
        if cached is None:
            cached = sum(
                p for cell, p in self.joint[g].items() if all(cell[j] == lv for j, lv in known)
            )
            self._marginals[key] = cached
        return cached

    def _raw(self, i: int, level: int) -> float:
        m, u = self.m[i].get(level, _FLOOR), self.u[i].get(level, _FLOOR)
        return math.log2(max(m, _FLOOR) / max(u, _FLOOR))

    def _clamped(self, i: int, level: int, weight: float) -> float:
        if level > Level.DIFFERENT and self.fields[i] not in RARITY_FIELDS:
            # Agreement is never evidence against: on data with few true duplicates, EM
            # can meet no match sharing a phone and would otherwise count one against.
            return max(weight, 0.0)
        return weight

    def weight(self, i: int, level: int) -> float:
        """The weight of one field's level on its own (a grouped field's: whatever the
        other fields of its group say)."""
        if level == Level.MISSING:
            return 0.0
        if level == Level.DIFFERENT and self.fields[i] in self.agreement_only:
            return 0.0
        raw = self._raw(i, level)
        if level == Level.EXACT and self.fields[i] not in RARITY_FIELDS:
            # The same value is never weaker evidence than a nickname, a typo or a slip:
            # data whose duplicates all carry a variant must not make agreement worthless.
            raw = max(
                [raw]
                + [self._raw(i, lv) for lv in self.m[i] if lv not in (Level.EXACT, Level.DIFFERENT)]
            )
        return self._clamped(i, level, raw)

    def weights(self, vector: Vector) -> list[float]:
        """Each field's weight in this vector. A grouped field's is what it adds given the
        group's fields before it: a different employer weighs less when the e-mail
        address differs too (one job change, not two pieces of evidence)."""
        out = [self.weight(i, lv) for i, lv in enumerate(vector)]
        for g, names in enumerate(self.groups):
            if g >= len(self.joint) or not self.joint[g]:
                continue
            known: tuple[tuple[int, int], ...] = ()
            before = 1.0
            for j, name in enumerate(names):
                i = self.fields.index(name)
                lv = vector[i]
                if lv == Level.MISSING:
                    out[i] = 0.0
                    continue
                known = (*known, (j, lv))
                now = self._joint_share(g, known)
                m = max(now, _FLOOR) / max(before, _FLOOR)
                u = max(self.u[i].get(lv, _FLOOR), _FLOOR)
                out[i] = self._clamped(i, lv, math.log2(max(m, _FLOOR) / u))
                before = now
        for name, (when, shares) in self.u_when.items():
            i, c = self.fields.index(name), self.fields.index(when)
            lv = vector[i]
            if vector[c] >= Level.STRONG and lv != Level.MISSING:
                # Strangers who share an address share a family name far more often
                # than strangers at random (a household): that share, learnt where the
                # address agrees, is the non-matches' here; how rare the name is then
                # adds nothing.
                m = max(self.m[i].get(lv, _FLOOR), _FLOOR)
                out[i] = self._clamped(i, lv, math.log2(m / max(shares.get(lv, _FLOOR), _FLOOR)))
                rarity = f"{name}_rarity"
                if rarity in self.fields:
                    out[self.fields.index(rarity)] = 0.0
        return out

    def score(self, vector: Vector) -> float:
        """Evidence for a match, in bits (the sum of the fields' weights)."""
        if not self.groups and not self.u_when:
            return sum(self.weight(i, lv) for i, lv in enumerate(vector))
        return sum(self.weights(vector))

    def probability(self, vector: Vector) -> float:
        """P(match | vector), given the fitted share of matches."""
        score = self.score(vector) + math.log2(self.prior / (1 - self.prior))
        if score > 60:
            return 1.0
        return 1 - 1 / (1 + 2**score)

    def explain(self, vector: Vector) -> list[tuple[str, int, float]]:
        """(field, level, weight) for each field, strongest evidence first."""
        weights = self.weights(vector)
        rows = [(self.fields[i], lv, weights[i]) for i, lv in enumerate(vector)]
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
            "groups": self.groups,
            "joint": [
                {",".join(map(str, cell)): p for cell, p in table.items()} for table in self.joint
            ],
            "u_when": {
                name: {"when": when, "u": {str(k): v for k, v in shares.items()}}
                for name, (when, shares) in self.u_when.items()
            },
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
            groups=[list(g) for g in data.get("groups", [])],
            joint=[
                {tuple(int(x) for x in k.split(",")): float(v) for k, v in table.items()}
                for table in data.get("joint", [])
            ],
            u_when={
                name: (str(c["when"]), {int(k): float(v) for k, v in c["u"].items()})
                for name, c in data.get("u_when", {}).items()
            },
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


# Starting shares for an identifying field: matches nearly always agree, strangers nearly
# never (a date of birth: a typing slip now and then among matches).
_START_BY_KIND: dict[str, tuple[dict[int, float], dict[int, float]]] = {
    "date": (
        {3: 0.9, 2: 0.02, 4: 0.02, 1: 0.03, 0: 0.03},
        {3: 0.01, 2: 0.005, 4: 0.01, 1: 0.02, 0: 0.955},
    ),
    "id": ({3: 0.9, 2: 0.05, 0: 0.05}, {3: 0.01, 2: 0.02, 0: 0.97}),
}


def _start(
    levels: list[list[int]], fields: Sequence[str] | None = None
) -> tuple[list[dict[int, float]], list[dict[int, float]]]:
    # Matches mostly agree exactly, non-matches mostly differ: EM moves on from there. A
    # field with levels of its own (a rarity band) starts with no opinion: the same share
    # of each level among matches and non-matches, so it weighs nothing until EM learns.
    m: list[dict[int, float]] = []
    u: list[dict[int, float]] = []
    for i, field_levels_ in enumerate(levels):
        name = fields[i] if fields is not None else ""
        kind = name.partition(":")[0] if is_identifying(name) else ""
        if kind in _START_BY_KIND:
            start_m, start_u = _START_BY_KIND[kind]
            m.append({lv: start_m.get(lv, _FLOOR) for lv in field_levels_})
            u.append({lv: start_u.get(lv, _FLOOR) for lv in field_levels_})
        elif set(field_levels_) == set(LEVELS):
            m.append(dict(_M_START))
            u.append(dict(_U_START))
        elif field_levels_:
            even = 1 / len(field_levels_)
            m.append(dict.fromkeys(field_levels_, even))
            u.append(dict.fromkeys(field_levels_, even))
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
# Each identifying data-dictionary field (a date of birth, a customer number) likewise.
SAME_IDENTIFYING = 0.02


def _same_among_matches(field: str) -> float | None:
    if field in SAME_AMONG_MATCHES:
        return SAME_AMONG_MATCHES[field]
    return SAME_IDENTIFYING if is_identifying(field) else None


def _at_most(shares: dict[int, float], level: int, most: float) -> None:
    if shares.get(level, 0.0) <= most:
        return
    rest = sum(p for lv, p in shares.items() if lv != level)
    for lv in shares:
        shares[lv] = most if lv == level else (shares[lv] * (1 - most) / rest if rest else 0.0)


def _with_identifying(fields: Sequence[str], frequencies: NameFrequencies | None) -> list[str]:
    """``fields``, followed by the identifying fields the vectors were built with (in the
    frequency table) when ``fields`` names none: the contact vector puts them last."""
    extra = frequencies.identifying if frequencies is not None else ()
    if extra and not any(is_identifying(f) for f in fields):
        return [*fields, *extra]
    return list(fields)


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
    that share one of each band (a random sample rarely shares a name at all). The
    identifying fields the table was counted with follow ``fields``."""
    fields = _with_identifying(fields, frequencies)
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
        levels = set(field_levels(name)) | set(counts[i])
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
    model.m, model.u = _start(
        [field_levels(f) if f not in RARITY_FIELDS else [] for f in fields], fields
    )
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
    records: int | None = None,
    sessions: Sequence[Sequence[str]] | None = None,
    groups: Sequence[Sequence[str]] | None = None,
) -> Model:
    """Estimate the model from the candidate pairs' comparison vectors (no labels);
    ``vectors`` may also be a mapping of each distinct vector to how many pairs have it
    (a ``Counter``: what a scan of millions of pairs keeps); ``frequencies`` (the table the
    vectors were built with) is kept with the model.

    Without ``u``, plain EM learns m, u and the share of matches among the pairs given.
    With ``u`` (``estimate_u`` over random pairs), the non-match shares are held at it and
    m is learnt by EM in *sessions* (``fit_sessions``): learnt over all candidate pairs,
    which blocking chose for sharing a name, "same name" would look like the match class.
    With ``records`` (how many records the pairs were drawn from), the prior is the chance
    that two records picked at random are one person, as u is the random pairs' shares."""
    fields = _with_identifying(fields, frequencies)
    if records is None and frequencies is not None and frequencies.records:
        records = frequencies.records
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
    if u is not None:
        levels = [
            sorted(met | set(field_levels(f))) if f not in RARITY_FIELDS else sorted(met)
            for f, met in zip(fields, seen, strict=True)
        ]
    else:
        levels = [sorted(met if met - set(LEVELS) else met | set(LEVELS)) for met in seen]
    model.m, model.u = _start(levels, fields)
    if u is not None:
        model.u = [
            {lv: max(float(u[i].get(lv, 0.0)), _FLOOR) for lv in levels[i]} for i in range(n_fields)
        ]
    ceilings = {
        i: most
        for i, f in enumerate(fields)
        if (most := _same_among_matches(f)) is not None and Level.DIFFERENT in levels[i]
    }
    changes = CHANGES_AMONG_MATCHES if changes_among_matches is None else changes_among_matches
    floors = {
        i: changes[f] for i, f in enumerate(fields) if f in changes and Level.DIFFERENT in levels[i]
    }
    if u is not None:
        model.groups = [
            list(g) for g in (GROUPS if groups is None else groups) if set(g) <= set(fields)
        ]
        in_groups = {f for g in model.groups for f in g}
        model.agreement_only = [f for f in model.agreement_only if f not in in_groups]
        if frequencies is not None:
            _rarity_from_table(model, frequencies)
        _fit_sessions(
            model,
            counts,
            levels,
            floors=floors,
            ceilings=ceilings,
            sessions=(
                (*SESSIONS, *((f,) for f in fields if is_identifying(f)))
                if sessions is None
                else sessions
            ),
            max_iterations=max_iterations,
            tolerance=tolerance,
            fixed=RARITY_FIELDS if frequencies is not None else frozenset(),
        )
        model.prior = _prior(model, counts, records, start=prior)
        return model
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


# Sessions of EM (as splink runs them): the pairs that strongly agree on some fields, with
# those fields left out. Among pairs that share a name, the strangers are namesakes whose
# e-mail, phone and employer are as unrelated as random people's, so EM there learns what
# those fields look like among matches; among pairs sharing a mailbox or a phone, it learns
# the names'; among pairs with the same customer number or date of birth (each identifying
# field a session of its own), the names' and addresses'. Each field's m is the average of
# the sessions that learnt it, by matches.
SESSIONS: tuple[tuple[str, ...], ...] = (
    ("given", "family", "given_rarity", "family_rarity"),
    ("email",),
    ("phone",),
    ("domain",),
    ("name",),
    ("address",),
)
# Fields that change together among matches: a person who changes jobs gets a new e-mail
# address, phone, employer and office address at once. Weighed one by one, as independent,
# a job change would count against a match four times.
GROUPS: tuple[tuple[str, ...], ...] = (("email", "phone", "organisation", "address"),)
# And a prior belief, as ``CHANGES_AMONG_MATCHES``: at least this share of one person's
# records were written before and after a job change (a different e-mail and employer).
JOB_CHANGE = frozenset({"email", "organisation"})
# Fields whose share among non-matches is another where a second field agrees: people at
# one address are often one family. Learnt in a session of the pairs whose address agrees.
CONDITIONS: dict[str, str] = {"family": "address"}
JOB_CHANGES = 0.05
MIN_SESSION_PAIRS = 20  # a session with fewer pairs says too little: it is left out


def _log_odds(model: Model, vector: Vector, active: Iterable[int]) -> float:
    return sum(model.weight(i, vector[i]) for i in active)


def _posterior(log_odds: float, prior: float) -> float:
    x = log_odds + math.log2(prior / (1 - prior))
    if x > 60:
        return 1.0
    if x < -60:
        return 0.0
    return 1 / (1 + 2**-x)


def _agrees(model: Model, vector: Vector, i: int) -> bool:
    """Whether a field agrees enough to select a session's pairs: an identifying field
    exactly, another at least strongly (a nickname, the same mailbox written otherwise)."""
    if is_identifying(model.fields[i]):
        return vector[i] == Level.EXACT
    return vector[i] >= Level.STRONG


def _fit_sessions(
    model: Model,
    counts: Mapping[Vector, int],
    levels: list[list[int]],
    *,
    floors: Mapping[int, float],
    ceilings: Mapping[int, float],
    sessions: Sequence[Sequence[str]],
    max_iterations: int,
    tolerance: float,
    fixed: frozenset[str] = frozenset(),
) -> None:
    """m by EM in sessions, u held (see ``SESSIONS``); a grouped field's m is learnt as
    its group's joint table (``Model.groups``); a field no session learnt keeps its
    starting shares. The ``fixed`` fields (the name-rarity bands, whose m and u come from
    the name table) are never learnt but weigh in every session's E step, the names' too:
    among pairs sharing a name, a rare one says "one person" and a common one "namesakes",
    so a person who changed employer, e-mail and phone is told from a namesake by how
    rare the name is, and the share of such moves among matches is learnt, not lost."""
    n_fields = len(model.fields)
    groups = [[model.fields.index(n) for n in names] for names in model.groups]
    grouped = {i for g in groups for i in g}
    cells = [list(itertools.product(*(levels[i] for i in g))) for g in groups]
    start_m = [dict(t) for t in model.m]
    start_joint = [
        {c: math.prod(start_m[i].get(lv, _FLOOR) for i, lv in zip(g, c, strict=True)) for c in cs}
        for g, cs in zip(groups, cells, strict=True)
    ]
    # A job change (``JOB_CHANGE``: the e-mail address and the employer differ, the phone
    # and office address most likely too) is kept to at least ``JOB_CHANGES`` of matches.
    moved = [[j for j, i in enumerate(g) if model.fields[i] in JOB_CHANGE] for g in groups]
    learnt: list[list[tuple[float, dict[int, float]]]] = [[] for _ in range(n_fields)]
    learnt_joint: list[list[tuple[float, dict[tuple[int, ...], float]]]] = [[] for _ in groups]
    for held in sessions:
        out = {i for i, f in enumerate(model.fields) if f in held}
        selected_on = [i for i in out if model.fields[i] not in RARITY_FIELDS]
        if not selected_on:
            continue
        subset = {v: n for v, n in counts.items() if all(_agrees(model, v, i) for i in selected_on)}
        total = sum(subset.values())
        if total < MIN_SESSION_PAIRS:
            continue
        # In the session of a condition, the fields it conditions have their u learnt too.
        free = [
            model.fields.index(f)
            for f, when in CONDITIONS.items()
            if (when,) == tuple(held) and f in model.fields
        ]
        saved_u = {i: dict(model.u[i]) for i in free}
        rarities = [f"{model.fields[i]}_rarity" for i in free]
        quiet = {model.fields.index(r) for r in rarities if r in model.fields}
        evidence = [i for i, f in enumerate(model.fields) if f in fixed and i not in quiet]
        active = [
            i
            for i in range(n_fields)
            if i not in out and i not in grouped and i not in quiet and i not in evidence
        ]
        live = [g for g, members in enumerate(groups) if not out & set(members)]
        model.m = [dict(t) for t in start_m]
        model.joint = [dict(t) for t in start_joint]
        patterns = {g: {v: tuple(v[i] for i in groups[g]) for v in subset} for g in live}
        consistent = {
            g: {
                pattern: [
                    c
                    for c in cells[g]
                    if all(lv == Level.MISSING or lv == c[j] for j, lv in enumerate(pattern))
                ]
                for pattern in set(patterns[g].values())
            }
            for g in live
        }
        share_matches = 0.5
        mass_by_field = [0.0] * n_fields
        for _iteration in range(max_iterations):
            model._marginals.clear()
            m_new = [dict.fromkeys(levels[i], 0.0) for i in range(n_fields)]
            u_free = {i: dict.fromkeys(levels[i], 0.0) for i in free}
            by_pattern: dict[int, dict[tuple[int, ...], float]] = {g: {} for g in live}
            matched = 0.0
            # Each field's weights and each group pattern's, once an iteration.
            weights = {i: {lv: model.weight(i, lv) for lv in levels[i]} for i in active}
            for i in evidence:
                weights[i] = {lv: model.weight(i, lv) for lv in levels[i]}
            for i in (*active, *evidence):
                weights[i][int(Level.MISSING)] = 0.0
            group_odds = {
                g: {
                    pattern: math.log2(
                        max(sum(model.joint[g][c] for c in consistent[g][pattern]), _FLOOR)
                    )
                    - sum(
                        math.log2(max(model.u[i].get(lv, _FLOOR), _FLOOR))
                        for i, lv in zip(groups[g], pattern, strict=True)
                        if lv != Level.MISSING
                    )
                    for pattern in consistent[g]
                }
                for g in live
            }
            for v, n in subset.items():
                odds = sum(weights[i][v[i]] for i in (*active, *evidence))
                for g in live:
                    odds += group_odds[g][patterns[g][v]]
                p = _posterior(odds, share_matches)
                matched += n * p
                for i in active:
                    if v[i] != Level.MISSING:
                        m_new[i][v[i]] += n * p
                for i in free:
                    if v[i] != Level.MISSING:
                        u_free[i][v[i]] += n * (1 - p)
                for g in live:
                    key = patterns[g][v]
                    by_pattern[g][key] = by_pattern[g].get(key, 0.0) + n * p
            mass_by_field = [sum(m_new[i].values()) for i in range(n_fields)]
            for i in active:
                mass = mass_by_field[i]
                for lv in m_new[i]:
                    m_new[i][lv] = (
                        max(m_new[i][lv] / mass, _FLOOR) if mass else model.m[i].get(lv, _FLOOR)
                    )
                if i in floors:
                    _at_least(m_new[i], Level.DIFFERENT, floors[i])
                if i in ceilings:
                    _at_most(m_new[i], Level.DIFFERENT, ceilings[i])
            joint_new = {}
            for g in live:
                table = dict.fromkeys(cells[g], 0.0)
                for pattern, mass in by_pattern[g].items():
                    among = consistent[g][pattern]
                    shared = sum(model.joint[g][c] for c in among)
                    for c in among:
                        table[c] += mass * (
                            model.joint[g][c] / shared if shared else 1 / len(among)
                        )
                mass = sum(table.values())
                table = {
                    c: max(x / mass, _FLOOR) if mass else model.joint[g][c]
                    for c, x in table.items()
                }
                if moved[g]:
                    _at_least_cells(
                        table,
                        [c for c in table if all(c[j] == Level.DIFFERENT for j in moved[g])],
                        JOB_CHANGES,
                    )
                joint_new[g] = table
                mass_by_field[groups[g][0]] = mass
            new_share = min(max(matched / total, _FLOOR), 1 - _FLOOR)
            change = abs(new_share - share_matches) + max(
                (abs(m_new[i][lv] - model.m[i].get(lv, 0.0)) for i in active for lv in levels[i]),
                default=0.0,
            )
            for g, table in joint_new.items():
                change = max(change, max(abs(table[c] - model.joint[g][c]) for c in table))
                model.joint[g] = table
            for i in active:
                model.m[i] = m_new[i]
            for i, shares in u_free.items():
                mass = sum(shares.values())
                if mass:
                    model.u[i] = {lv: max(x / mass, _FLOOR) for lv, x in shares.items()}
            share_matches = new_share
            model.iterations += 1
            if change < tolerance:
                break
        for i in active:
            if mass_by_field[i] > 0:
                learnt[i].append((mass_by_field[i], dict(model.m[i])))
        for g in live:
            mass = mass_by_field[groups[g][0]]
            if mass > 0:
                learnt_joint[g].append((mass, dict(model.joint[g])))
        for i in free:
            model.u_when[model.fields[i]] = (held[0], dict(model.u[i]))
            model.u[i] = saved_u[i]
    model.m = start_m
    for i, estimates in enumerate(learnt):
        if estimates:
            weight = sum(w for w, _ in estimates)
            model.m[i] = {
                lv: sum(w * table.get(lv, 0.0) for w, table in estimates) / weight
                for lv in levels[i]
            }
        if i in grouped:
            continue
        # The beliefs hold whichever sessions learnt the field, or none did.
        if i in floors:
            _at_least(model.m[i], Level.DIFFERENT, floors[i])
        if i in ceilings:
            _at_most(model.m[i], Level.DIFFERENT, ceilings[i])
    model.joint = []
    for g, joint_estimates in enumerate(learnt_joint):
        if joint_estimates:
            joint_mass = sum(w for w, _ in joint_estimates)
            table = {
                c: sum(w * t.get(c, 0.0) for w, t in joint_estimates) / joint_mass for c in cells[g]
            }
        else:
            table = start_joint[g]
        model.joint.append(table)
        for j, i in enumerate(groups[g]):  # each grouped field's own shares, for ``weight``
            model.m[i] = {
                lv: max(sum(p for c, p in table.items() if c[j] == lv), _FLOOR) for lv in levels[i]
            }
    model._marginals.clear()


def _at_least_cells(shares: dict[Any, float], cells: Sequence[Any], least: float) -> None:
    """Scale ``shares`` so that ``cells`` together have at least ``least``."""
    inside = sum(shares[c] for c in cells)
    if not cells or inside >= least:
        return
    chosen = set(cells)
    outside = 1 - inside
    for c in shares:
        if c in chosen:
            shares[c] = shares[c] * least / inside if inside else least / len(chosen)
        else:
            shares[c] = shares[c] * (1 - least) / outside if outside else 0.0


def _rarity_from_table(model: Model, frequencies: NameFrequencies) -> None:
    """The name-rarity bands' m from the name table: a person is as likely to be written
    twice whatever their name, so the name two records of one person share is one of n
    records' in proportion to n (u, for strangers, in proportion to n(n-1): ``estimate_u``)."""
    for i, name in enumerate(model.fields):
        if name not in RARITY_FIELDS:
            continue
        table = frequencies.given if name == "given_rarity" else frequencies.family
        carried: Counter[int] = Counter()
        for n in table.values():
            if n > 1:
                carried[rarity_level(n)] += n
        total = sum(carried.values())
        if total:
            model.m[i] = {lv: max(c / total, _FLOOR) for lv, c in carried.items()}


def _prior(
    model: Model, counts: Mapping[Vector, int], records: int | None, *, start: float
) -> float:
    """The share of matches, by EM with m and u held: among all pairs of ``records``
    records (the pairs never compared taken for strangers), or among the pairs given."""
    compared = sum(counts.values())
    if not compared:
        return start
    population = records * (records - 1) / 2 if records and records > 1 else compared
    population = max(population, compared)
    odds = {v: _log_odds(model, v, range(len(model.fields))) for v in counts}
    prior = min(max(start, 1 / population), 0.5)
    for _ in range(200):
        model.iterations += 1
        expected = sum(n * _posterior(odds[v], prior) for v, n in counts.items())
        new = min(max(expected / population, 1 / (10 * population)), 1 - _FLOOR)
        if abs(new - prior) < 1e-4 * prior:
            return new
        prior = new
    return prior


def with_fields(model: Model, fields: Sequence[str]) -> Model:
    """``model`` over other comparison fields (an identifying data field added or
    removed since it was fitted): the shares of the fields it has, starting shares for
    the others; a group loses its joint table if one of its fields went."""
    fields = list(fields)
    start = default_model(fields)
    m, u = [], []
    for i, name in enumerate(fields):
        if name in model.fields:
            j = model.fields.index(name)
            m.append(dict(model.m[j]))
            u.append(dict(model.u[j]))
        else:
            m.append(start.m[i])
            u.append(start.u[i])
    kept = [
        (names, table)
        for names, table in zip(model.groups, model.joint, strict=False)
        if set(names) <= set(fields)
    ]
    frequencies = model.frequencies
    if frequencies is not None:
        frequencies = replace(
            frequencies, identifying=tuple(f for f in fields if is_identifying(f))
        )
    return Model(
        fields=fields,
        prior=model.prior,
        m=m,
        u=u,
        iterations=model.iterations,
        frequencies=frequencies,
        agreement_only=[f for f in model.agreement_only if f in fields]
        + [f for f in start.agreement_only if f not in model.fields],
        groups=[list(names) for names, _ in kept],
        joint=[dict(table) for _, table in kept],
        u_when={
            name: (when, dict(shares))
            for name, (when, shares) in model.u_when.items()
            if name in fields and when in fields
        },
    )
