import random

from rapport.identity import model as fs
from rapport.identity.compare import Level

FIELDS = ["name", "email", "phone", "organisation"]
# The truth the synthetic pairs are drawn from: per field, P(level) among matches and
# among non-matches (EXACT, STRONG, WEAK, DIFFERENT).
TRUE_M = [
    (0.6, 0.3, 0.08, 0.02),
    (0.7, 0.1, 0.05, 0.15),
    (0.5, 0.1, 0.1, 0.3),
    (0.6, 0.2, 0.1, 0.1),
]
TRUE_U = [
    (0.002, 0.01, 0.05, 0.938),
    (0.001, 0.001, 0.01, 0.988),
    (0.001, 0.002, 0.02, 0.977),
    (0.05, 0.05, 0.1, 0.8),
]
ORDER = [Level.EXACT, Level.STRONG, Level.WEAK, Level.DIFFERENT]


def _pairs(rng: random.Random, n: int, share: float) -> list[tuple[tuple[int, ...], bool]]:
    out = []
    for _ in range(n):
        is_match = rng.random() < share
        table = TRUE_M if is_match else TRUE_U
        vector = []
        for probs in table:
            level = rng.choices(ORDER, weights=probs)[0]
            vector.append(
                int(Level.MISSING) if rng.random() < 0.1 else int(level)
            )  # some values missing
        out.append((tuple(vector), is_match))
    return out


def test_em_recovers_the_share_of_matches_and_separates_them_without_labels():
    rng = random.Random(3)
    pairs = _pairs(rng, 40_000, share=0.08)
    model = fs.fit(FIELDS, [v for v, _ in pairs])
    assert abs(model.prior - 0.08) < 0.01
    for i, probs in enumerate(TRUE_M):
        assert abs(model.m[i][Level.EXACT] - probs[0]) < 0.05
    # Scored by the fitted model, true matches rank above non-matches almost always.
    decided = [(model.probability(v) > 0.5, truth) for v, truth in pairs]
    right = sum(guess == truth for guess, truth in decided)
    assert right / len(decided) > 0.98


def test_weights_say_which_fields_agreed_and_missing_values_weigh_nothing():
    rng = random.Random(4)
    model = fs.fit(FIELDS, [v for v, _ in _pairs(rng, 20_000, share=0.1)])
    vector = (int(Level.EXACT), int(Level.DIFFERENT), int(Level.MISSING), int(Level.EXACT))
    evidence = {name: weight for name, _, weight in model.explain(vector)}
    assert evidence["name"] > 3 and evidence["email"] < 0 and evidence["phone"] == 0
    assert model.score(vector) == sum(evidence.values())


def test_no_pairs_gives_the_starting_model():
    model = fs.fit(FIELDS, [])
    assert model.iterations == 0 and model.weight(0, Level.EXACT) > 0


def test_a_model_round_trips_through_json_with_its_name_frequencies():
    import json

    from rapport.identity.frequency import NameFrequencies

    rng = random.Random(5)
    frequencies = NameFrequencies(given={"raven": 2}, family={"smith": 400})
    model = fs.fit(FIELDS, [v for v, _ in _pairs(rng, 5_000, share=0.1)], frequencies=frequencies)
    again = fs.Model.from_json(json.loads(json.dumps(model.to_json())))
    vector = (int(Level.EXACT), int(Level.WEAK), int(Level.MISSING), int(Level.DIFFERENT))
    assert again.score(vector) == model.score(vector) and again.prior == model.prior
    assert again.frequencies == frequencies


def test_rarity_levels_are_learnt_and_a_rare_name_weighs_more_than_a_common_one():
    # Matches agree on names of every frequency; non-matches that agree agree on common ones.
    rng = random.Random(6)
    vectors = []
    for _ in range(20_000):
        if rng.random() < 0.1:
            vectors.append((int(Level.EXACT), int(Level.EXACT), rng.choice([15, 14, 12, 10, 8])))
        else:
            name = rng.choice([Level.EXACT, Level.DIFFERENT])
            vectors.append(
                (
                    int(Level.DIFFERENT),
                    int(name),
                    rng.choice([10, 8]) if name == Level.EXACT else -1,
                )
            )
    model = fs.fit(["email", "family", "family_rarity"], vectors)
    assert model.weight(2, 15) > 2 > model.weight(2, 8)
    assert model.weight(2, Level.MISSING) == 0


def test_a_different_address_weighs_nothing_but_the_same_one_counts():
    rng = random.Random(7)
    vectors = []
    for _ in range(10_000):
        match = rng.random() < 0.1
        email = Level.EXACT if match and rng.random() < 0.9 else Level.DIFFERENT
        address = (
            rng.choice([Level.EXACT, Level.DIFFERENT])
            if match
            else rng.choice([Level.DIFFERENT] * 20 + [Level.EXACT])
        )
        vectors.append((int(email), int(address)))
    model = fs.fit(["email", "address"], vectors)
    assert model.weight(1, Level.DIFFERENT) == 0 and model.weight(1, Level.EXACT) > 2


def test_the_default_model_counts_agreement_before_any_scan():
    model = fs.default_model(["given", "email", "address", "family_rarity"])
    assert model.weight(1, Level.EXACT) > 0 > model.weight(1, Level.DIFFERENT)
    assert model.weight(2, Level.DIFFERENT) == 0 and model.weight(3, 15) == 0


def test_a_field_that_always_agrees_among_the_fitted_matches_still_may_differ():
    # Matches here all share their e-mail: plain EM would make a different e-mail nearly
    # impossible for a match (a weight around -20 bits); the prior keeps it plausible.
    vectors = [(3, 3, 3)] * 200 + [(0, 3, 0)] * 50 + [(0, 0, 0)] * 5000 + [(3, 0, 0)] * 300
    free = fs.fit(["given", "email", "phone"], vectors, changes_among_matches={})
    held = fs.fit(["given", "email", "phone"], vectors)
    assert free.weight(1, Level.DIFFERENT) < -15
    assert -6 < held.weight(1, Level.DIFFERENT) < 0


def _u(fields, exact=0.002):
    """Non-match shares as random pairs give them: agreement rare, difference usual."""
    return [{3: exact, 2: exact, 1: 2 * exact, 0: 1 - 4 * exact} for _ in fields]


def test_a_job_change_counts_once_not_once_per_workplace_field():
    # Matches share their names; a third of them changed jobs (new e-mail, phone,
    # employer and office at once). Non-matches sharing names are namesakes.
    fields = ["given", "family", "email", "phone", "organisation", "address"]
    rng = random.Random(8)
    vectors = []
    for _ in range(6000):
        if rng.random() < 0.3:
            work = 0 if rng.random() < 0.33 else 3
            vectors.append((3, 3, work, work, work, work))
        else:
            vectors.append((3, 3, 0, 0, 0, 0))
    for _ in range(2000):  # pairs sharing a mailbox: the names' weights come from these
        vectors.append((rng.choice([3, 3, 3, 2, 0]), 3, 3, rng.choice([3, 0]), 3, 3))
    grouped = fs.fit(fields, vectors, u=_u(fields), records=20_000)
    alone = fs.fit(fields, vectors, u=_u(fields), records=20_000, groups=())
    moved = (3, 3, 0, 0, 0, 0)
    cost = sum(grouped.weights(moved)[2:])
    assert cost > -5  # about log2(P(job change | match)): one change
    assert sum(alone.weights(moved)[2:]) < cost - 4  # independent, it counts four times
    assert grouped.weights((3, 3, 3, 3, 3, 3))[2] > 5  # the same e-mail still counts


def test_the_prior_is_the_chance_two_random_records_are_one_person():
    fields = ["given", "family", "email"]
    vectors = [(3, 3, 3)] * 900 + [(3, 3, 0)] * 100 + [(0, 3, 0)] * 4000
    model = fs.fit(fields, vectors, u=_u(fields), records=10_000)
    assert 0.5 * 1000 / 49_995_000 < model.prior < 2 * 1000 / 49_995_000


def test_people_at_one_address_sharing_a_family_name_are_not_taken_for_one_person():
    # At one address: the same person written twice (given name and date of birth agree)
    # or two people of one household (family name agrees, given name and date differ).
    fields = ["given", "family", "address", "date:birth_date"]
    rng = random.Random(9)
    vectors = []
    for _ in range(3000):
        if rng.random() < 0.5:
            vectors.append((3, rng.choice([3, 3, 2]), 3, 3))
        else:
            vectors.append((0, 3, 3, 0))
    for _ in range(1000):  # the same date of birth elsewhere: the names' weights
        vectors.append((3, 3, rng.choice([3, 0]), 3))
    u = _u(fields)
    u[3] = {3: 0.0001, 2: 0.0001, 4: 0.0001, 1: 0.0003, 0: 0.9994}
    model = fs.fit(fields, vectors, u=u, records=20_000)
    family = model.fields.index("family")
    at_home = model.weights((-1, 3, 3, -1))[family]
    elsewhere = model.weights((-1, 3, 0, -1))[family]
    assert at_home < elsewhere - 4  # at one address, a shared family name says little
    assert model.probability((0, 3, 3, 0)) < 0.01
    assert model.probability((3, 3, 3, 3)) > 0.99
    again = fs.Model.from_json(model.to_json())
    assert again.weights((0, 3, 3, 0)) == model.weights((0, 3, 3, 0))
    # A data dictionary that gains a field keeps what the model learnt of households.
    wider = fs.with_fields(again, [*fields, "id:customer_no"])
    assert wider.weights((0, 3, 3, 0, -1)) == model.weights((0, 3, 3, 0)) + [0.0]


def test_how_rare_a_shared_name_is_tells_a_job_change_from_a_namesake_while_fitting():
    # Pairs sharing a whole name: a person written before and after a job change (every
    # workplace field differs) looks like two namesakes at two employers in every field
    # but one: how rare the name is. Rare names (two records each) are mostly one person,
    # common ones (two hundred records) mostly namesakes. A quarter of matches moved.
    from rapport.identity.frequency import NameFrequencies

    given = {f"rare{k}": 2 for k in range(400)} | {f"common{k}": 200 for k in range(5)}
    frequencies = NameFrequencies(given=given, family=dict(given), records=4000)
    fields = ["given", "family", "email", "phone", "organisation", "address"]
    rng = random.Random(12)
    vectors = []
    for _ in range(1200):  # one person: rare names four times in ten, as the table says
        band = 15 if rng.random() < 0.4 else 8
        work = 0 if rng.random() < 0.25 else 3
        vectors.append((3, 3, work, work, work, work, band, band))
    for _ in range(1500):  # namesakes share common names
        vectors.append((3, 3, 0, 0, 0, 0, 8, 8))
    for _ in range(300):  # pairs sharing a mailbox: the names' weights come from these
        vectors.append((rng.choice([3, 3, 2, 0]), 3, 3, 3, 3, 3, -1, -1))
    u = [{3: 0.002, 2: 0.002, 1: 0.004, 0: 0.992} for _ in fields]
    for i in (0, 1):  # two random records share a name as often as the table says
        u[i] = {3: 0.0126, 2: 0.002, 1: 0.004, 0: 0.9814}
    full = [*fields, "given_rarity", "family_rarity"]
    u += fs.estimate_u(full, [], frequencies=frequencies)[len(fields) :]
    model = fs.fit(full, vectors, u=u, frequencies=frequencies)
    moved = sum(p for cell, p in model.joint[0].items() if cell[0] == cell[2] == 0)
    assert 0.1 < moved < 0.4  # about the quarter who moved, not every namesake
    assert model.probability((3, 3, 0, 0, 0, 0, 15, 15)) > 0.5  # a rare name moved
    assert model.probability((3, 3, 0, 0, 0, 0, 8, 8)) < 0.5  # common: a namesake
