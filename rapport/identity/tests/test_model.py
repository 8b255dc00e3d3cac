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
