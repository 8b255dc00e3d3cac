"""How common each name is among the records: a term-frequency table, derived from the data.

Two records agreeing on 'Raven Stewart' are far stronger evidence than two agreeing on
'John Smith', because many more different people are called John Smith. A name's *rarity*
is a band of how many records carry it (2, 3–4, 5–8, … records): rarer is a higher band.
The comparison vector carries the band of a name that agrees exactly as a field of its own
(``given_rarity``, ``family_rarity``), MISSING when the names do not agree exactly, so the
Fellegi–Sunter model estimates by EM, without labels, how much more an exact agreement
on a rare name weighs than one on a common name: per band, P(band | exact, match) against
P(band | exact, non-match).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# The rarity bands (TOP, rarity_level, rarity_bound) are defined with the comparison fields
# in compare, which describes them to the steward; they are exported here too.
from rapport.identity.compare import TOP as TOP
from rapport.identity.compare import fold_family, fold_name, identifying_fields_of, rarity_level
from rapport.identity.compare import rarity_bound as rarity_bound


@dataclass
class NameFrequencies:
    """How many records carry each folded given name and family name; with the number of
    records counted and their identifying fields (``compare.identifying_field``): what the
    comparison vectors of these records are built with."""

    given: dict[str, int] = field(default_factory=dict)
    family: dict[str, int] = field(default_factory=dict)
    records: int = 0
    identifying: tuple[str, ...] = ()

    def rarity(self, field: str, value: str) -> int:
        """The rarity band of a folded name (``fold_name``/``fold_family``) in a field
        ('given' or 'family'); a name the table has not seen counts as carried by two."""
        table = self.given if field == "given" else self.family
        return rarity_level(table.get(value, 0))

    def to_json(self) -> dict[str, Any]:
        return {
            "given": self.given,
            "family": self.family,
            "records": self.records,
            "identifying": list(self.identifying),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NameFrequencies:
        return cls(
            given=dict(data.get("given", {})),
            family=dict(data.get("family", {})),
            records=int(data.get("records", 0)),
            identifying=tuple(data.get("identifying", ())),
        )


def count_names(people: Iterable[Any], identifying: Iterable[str] | None = None) -> NameFrequencies:
    """Count the given and family names of people (objects with ``given`` and ``family``),
    and the people; their identifying fields are ``identifying`` or, by default, the ones
    their values belong to (``compare.identifying_fields_of``)."""
    given: Counter[str] = Counter()
    family: Counter[str] = Counter()
    records = 0
    seen = []
    for person in people:
        records += 1
        if person.given:
            given[fold_name(person.given)] += 1
        if person.family:
            family[fold_family(person.family)] += 1
        if identifying is None and getattr(person, "identifiers", None):
            seen.append(person)
    fields = tuple(identifying) if identifying is not None else identifying_fields_of(seen)
    return NameFrequencies(
        given=dict(given), family=dict(family), records=records, identifying=fields
    )
