"""A full duplicate scan of contacts in memory: blocking, comparing every candidate pair,
fitting the model without labels, and the pairs it calls duplicates. Database-free: the
caller loads ``Person`` records and stores what comes back.

Sized for a million contacts on a small machine: pairs stream from the blocking rules to
the comparison, and each compared pair is kept as 12 bytes (the two positions in one
64-bit number and the number of its distinct comparison vector) until the model is fitted
and says which are matches. ``processes=2`` compares in two forked workers.
"""

from __future__ import annotations

import gc
import io
import multiprocessing
import pickle
import time
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from rapport.identity import model as fs
from rapport.identity.blocking import MAX_BLOCK, Blocks, Person, plan
from rapport.identity.compare import VECTOR_FIELDS, contact_vector
from rapport.identity.frequency import NameFrequencies, count_names

Vector = tuple[int, ...]
_CHUNK = 20_000  # pairs sent to a worker at a time
# Random pairs compared to estimate the non-match shares: a few seconds at most, and
# enough that a level one pair in ten thousand has is seen; a fixed seed, so the same
# records fit the same model.
U_SAMPLE = 50_000
U_SEED = 20_261_202


def compare_pairs(
    people: Sequence[Person],
    pairs: Iterable[tuple[int, int]],
    frequencies: NameFrequencies | None = None,
) -> Iterator[tuple[int, int, Vector]]:
    """(i, j, comparison vector) for each pair of positions in ``people``."""
    for a, b in pairs:
        yield a, b, contact_vector(people[a], people[b], frequencies)


# What a forked worker compares against: set before the fork, inherited, never pickled.
_shared: dict[str, Any] = {}


class _Packed:
    """The people pickled one after the other into a single bytes object, with offsets.

    A forked worker that read the parent's ``Person`` objects would copy them page by page
    (reading an object writes its reference count), ending with a private copy of every
    person, a gigabyte per worker at a million contacts. One bytes object is never written,
    so its pages stay shared; a worker unpickles the few people of each chunk it compares.
    """

    def __init__(self, people: Sequence[Person]) -> None:
        buffer = io.BytesIO()
        self.offsets = array("Q", [0])
        for person in people:
            buffer.write(pickle.dumps(person, protocol=pickle.HIGHEST_PROTOCOL))
            self.offsets.append(buffer.tell())
        self.data = buffer.getvalue()

    def get(self, i: int) -> Person:
        person: Person = pickle.loads(self.data[self.offsets[i] : self.offsets[i + 1]])  # noqa: S301 - our own bytes
        return person


def _compare_chunk(encoded: bytes) -> tuple[bytes, list[Vector], bytes]:
    packed, frequencies = _shared["packed"], _shared["frequencies"]
    pairs = array("Q")
    pairs.frombytes(encoded)
    table: dict[Vector, int] = {}
    ids = array("I")
    seen: dict[int, Person] = {}  # a chunk's pairs come from a few blocks: people repeat
    for code in pairs:
        a, b = code >> 32, code & 0xFFFFFFFF
        pa = seen.get(a) or seen.setdefault(a, packed.get(a))
        pb = seen.get(b) or seen.setdefault(b, packed.get(b))
        v = contact_vector(pa, pb, frequencies)
        ids.append(table.setdefault(v, len(table)))
    return encoded, list(table), ids.tobytes()


def _chunks(pairs: Iterable[tuple[int, int]]) -> Iterator[bytes]:
    it = iter(pairs)
    while chunk := list(islice(it, _CHUNK)):
        yield array("Q", [a << 32 | b for a, b in chunk]).tobytes()


def vectors_parallel(
    people: Sequence[Person],
    pairs: Iterable[tuple[int, int]],
    processes: int = 2,
    frequencies: NameFrequencies | None = None,
) -> Iterator[tuple[int, int, Vector]]:
    """As ``compare_pairs``, in ``processes`` forked workers (the people are inherited
    packed, see ``_Packed``); the order of the pairs is kept. One process compares in this one."""
    if processes <= 1:
        yield from compare_pairs(people, pairs, frequencies)
        return
    _shared.update(packed=_Packed(people), frequencies=frequencies)
    gc.freeze()  # the collector in a worker must not write to every inherited object
    try:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            for encoded, table, id_bytes in pool.imap(_compare_chunk, _chunks(pairs)):
                codes, ids = array("Q"), array("I")
                codes.frombytes(encoded)
                ids.frombytes(id_bytes)
                for code, i in zip(codes, ids, strict=True):
                    yield code >> 32, code & 0xFFFFFFFF, table[i]
    finally:
        _shared.clear()
        gc.unfreeze()


# Pairs one worker streams and compares at a time (blocks.ranges): a few seconds of work.
_RANGE_PAIRS = 200_000


def _compare_blocks(span: tuple[int, int]) -> tuple[bytes, list[Vector], bytes, list[int]]:
    """In a worker: the pairs the blocks ``span`` produce (``Blocks.pairs``), compared.
    Returns the pairs (i << 32 | j), the distinct vectors, each pair's vector number and
    the pairs each rule produced."""
    packed, frequencies, blocks = _shared["packed"], _shared["frequencies"], _shared["blocks"]
    codes, ids = array("Q"), array("I")
    table: dict[Vector, int] = {}
    seen: dict[int, Person] = {}
    for a, b in blocks.pairs(*span):
        pa = seen.get(a) or seen.setdefault(a, packed.get(a))
        pb = seen.get(b) or seen.setdefault(b, packed.get(b))
        codes.append(a << 32 | b)
        ids.append(table.setdefault(contact_vector(pa, pb, frequencies), len(table)))
        if len(seen) > 50_000:
            seen.clear()
    return codes.tobytes(), list(table), ids.tobytes(), list(blocks.produced)


def _compare_in_workers(
    people: Sequence[Person],
    blocks: Blocks,
    processes: int,
    frequencies: NameFrequencies,
    result: ScanResult,
    index: dict[Vector, int],
) -> None:
    """Every block's pairs streamed and compared in ``processes`` forked workers, a range
    of blocks each at a time (``Blocks.ranges``): the blocks' arrays are inherited as they
    are (arrays of numbers: their pages stay shared), the people packed (``_Packed``).
    This process only gathers: pairs and vector numbers, in block order."""
    _shared.update(packed=_Packed(people), frequencies=frequencies, blocks=blocks)
    produced = [0] * len(blocks.rules)
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            spans = blocks.ranges(_RANGE_PAIRS)
            for encoded, table, id_bytes, counts in pool.imap(_compare_blocks, spans):
                result.pairs.frombytes(encoded)
                ids = array("I")
                ids.frombytes(id_bytes)
                mapping = [index.setdefault(v, len(index)) for v in table]
                result.vector_ids.extend(mapping[i] for i in ids)
                for r, n in enumerate(counts):
                    produced[r] += n
    finally:
        _shared.clear()
        gc.unfreeze()
    blocks.produced = produced


@dataclass
class ScanResult:
    model: fs.Model
    pairs: array = field(default_factory=lambda: array("Q"))  # i << 32 | j per compared pair
    vector_ids: array = field(default_factory=lambda: array("I"))  # into ``vectors``
    vectors: list[Vector] = field(default_factory=list)
    blocks: Blocks | None = None  # what blocking compared, rule by rule
    # Seconds of each phase: making the blocks, streaming and comparing the pairs, fitting.
    timings: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.pairs)

    def matches(self, threshold: float = 0.5) -> Iterator[tuple[int, int, float]]:
        """(i, j, probability) of the pairs the model calls duplicates, most certain first
        within each vector."""
        chance = [self.model.probability(v) for v in self.vectors]
        for code, vid in zip(self.pairs, self.vector_ids, strict=True):
            if chance[vid] >= threshold:
                yield code >> 32, code & 0xFFFFFFFF, chance[vid]

    def vector(self, position: int) -> Vector:
        return self.vectors[self.vector_ids[position]]


def scan_contacts(
    people: Sequence[Person],
    *,
    max_block: int = MAX_BLOCK,
    processes: int = 1,
    keep_blocks: bool = False,
) -> ScanResult:
    """Block, compare and fit over ``people``; ``ScanResult.matches()`` gives the pairs
    (positions in ``people``) the fitted model calls duplicates, and with ``keep_blocks``
    ``ScanResult.blocks`` what each blocking rule compared (a benchmark's question)."""
    timings = {}
    started = time.perf_counter()
    frequencies = count_names(people)
    blocks = plan(people, max_block=max_block, processes=processes)
    timings["blocks"] = time.perf_counter() - started
    result = ScanResult(model=fs.Model(fields=list(VECTOR_FIELDS)), timings=timings)
    index: dict[Vector, int] = {}
    started = time.perf_counter()
    if processes > 1:
        _compare_in_workers(people, blocks, processes, frequencies, result, index)
    else:
        for a, b, v in compare_pairs(people, blocks.pairs(), frequencies):
            result.pairs.append(a << 32 | b)
            result.vector_ids.append(index.setdefault(v, len(index)))
    timings["compare"] = time.perf_counter() - started
    result.vectors = list(index)
    result.blocks = blocks if keep_blocks else None
    del blocks
    started = time.perf_counter()
    counts = Counter(result.vector_ids)
    # Non-match shares from random pairs, not from the candidates (see model).
    sample = fs.sample_pairs(len(people), U_SAMPLE, seed=U_SEED)
    u = fs.estimate_u(
        VECTOR_FIELDS,
        (v for _, _, v in compare_pairs(people, sample, frequencies)),
        frequencies=frequencies,
    )
    result.model = fs.fit(
        VECTOR_FIELDS,
        {result.vectors[i]: n for i, n in counts.items()},
        frequencies=frequencies,
        u=u,
    )
    timings["fit"] = time.perf_counter() - started
    return result
