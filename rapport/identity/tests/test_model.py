import random

from rapport.identity import model as fs
from rapport.identity.compare import Level

FIELDS = ["name", "email", "phone", "organisation"]
# The truth the synthetic pairs are drawn from: per field, P(level) among matches and
# among non-matches (EXACT, STRONG, WEAK, DIFFERENT).
TRUE_M = [(0.6, 0.3, 0.08, 0.02), (0.7, 0.1, 0.05, 0.15), (0.5, 0.1, 0.1, 0.3), (0.6, 0.2, 0.1, 0.1)]
TRUE_U = [(0.002, 0.01, 0.05, 0.938), (0.001, 0.001, 0.01, 0.988), (0.001, 0.002, 0.02, 0.977), (0.05, 0.05, 0.1, 0.8)]
ORDER = [Level.EXACT, Level.STRONG, Level.WEAK, Level.DIFFERENT]


def _pairs(rng: random.Random, n: int, share: float) -> list[tuple[tuple[int, ...], bool]]:
    out = []
    for _ in range(n):
        is_match = rng.random() < share
        table = TRUE_M if is_match else TRUE_U
        vector = []
        for probs in table:
            level = rng.choices(ORDER, weights=probs)[0]
            vector.append(int(Level.MISSING) if rng.random() < 0.1 else int(level))  # some values missing
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
