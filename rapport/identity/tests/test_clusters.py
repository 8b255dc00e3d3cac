"""Review groups: the kept pairs split where one weak link would chain people together."""

from __future__ import annotations

import itertools

import pytest

from rapport.customers.tests.factories import make_contact
from rapport.identity import scanjob
from rapport.identity.models import Candidate, Cluster
from rapport.identity.scanjob import review_clusters


def clique(ids: list[int], p: float = 0.99) -> list[tuple[int, int, float]]:
    return [(a, b, p) for a, b in itertools.combinations(ids, 2)]


def test_one_link_between_two_families_does_not_make_them_one_group():
    edges = [*clique([1, 2, 3, 4]), *clique([5, 6, 7]), (4, 5, 0.99)]
    assert review_clusters(edges, lower=0.5) == [[1, 2, 3, 4], [5, 6, 7]]


def test_a_record_matching_most_of_a_group_joins_it():
    # 9 matches 1, 2 and 3 of the four; a record matching one member of four does not join.
    edges = [*clique([1, 2, 3, 4]), (1, 9, 0.9), (2, 9, 0.95), (3, 9, 0.8), (4, 8, 0.9)]
    assert review_clusters(edges, lower=0.5) == [[1, 2, 3, 4, 9]]


def test_a_chain_of_single_links_is_cut_into_pairs():
    edges = [(1, 2, 0.99), (2, 3, 0.97), (3, 4, 0.99), (4, 5, 0.6)]
    assert review_clusters(edges, lower=0.5) == [[1, 2], [3, 4]]


def test_a_pair_alone_is_a_group_and_a_group_never_exceeds_the_bound():
    assert review_clusters([(7, 8, 0.51)], lower=0.5) == [[7, 8]]
    groups = review_clusters(clique(list(range(1, 13))), lower=0.5, most=5)
    assert max(len(g) for g in groups) <= 5
    assert sorted(pk for g in groups for pk in g) == list(range(1, 13))


def test_the_grouping_does_not_depend_on_the_order_of_the_pairs():
    edges = [*clique([1, 2, 3]), *clique([4, 5, 6], 0.9), (3, 4, 0.99), (1, 6, 0.7)]
    assert review_clusters(edges, lower=0.5) == review_clusters(edges[::-1], lower=0.5)


@pytest.mark.django_db
def test_rebuilt_clusters_leave_a_pair_across_two_groups_in_none(personas):
    ids = [make_contact(given_name=f"P{i}", family_name="Lee").pk for i in range(7)]
    a, b = ids[:4], ids[4:]
    for x, y, p in [*clique(a), *clique(b), (a[3], b[0], 0.99)]:
        Candidate.objects.create(
            kind="contact", left_id=min(x, y), right_id=max(x, y), probability=p, score=9, vector=[]
        )
    assert scanjob._rebuild_clusters("contact", 0.5) == 2
    groups = sorted(Cluster.objects.filter(kind="contact"), key=lambda c: c.record_ids)
    assert [c.record_ids for c in groups] == [sorted(a), sorted(b)]
    across = Candidate.objects.get(left_id=min(a[3], b[0]), right_id=max(a[3], b[0]))
    assert across.cluster_id is None
    for c in groups:
        pairs = Candidate.objects.filter(cluster=c)
        assert pairs.count() == len(c.record_ids) * (len(c.record_ids) - 1) // 2
        assert all(p.left_id in c.record_ids and p.right_id in c.record_ids for p in pairs)
