"""The statistics: Wilson intervals, the winner rule, and its false-winner rate on A/A tests."""

from __future__ import annotations

import random

from rapport.marketing import stats


def test_wilson_interval_matches_the_textbook():
    low, high = stats.wilson(0, 10)
    assert low == 0 and abs(high - 0.2775) < 0.001
    low, high = stats.wilson(50, 100)
    assert abs(low - 0.4038) < 0.001 and abs(high - 0.5962) < 0.001
    assert stats.wilson(0, 0) == (0.0, 0.0)


def test_a_real_difference_is_found():
    result = stats.pick_winner([(1, 100, 1000), (2, 50, 1000)])
    assert result.winner == 1
    assert result.p_values[2] < 0.001


def test_no_winner_below_the_minimum_sample_or_for_a_small_difference():
    assert stats.pick_winner([(1, 30, 50), (2, 5, 50)]).winner is None
    assert "at least 100" in stats.pick_winner([(1, 30, 50), (2, 5, 50)]).reason
    assert stats.pick_winner([(1, 52, 1000), (2, 50, 1000)]).winner is None
    assert stats.pick_winner([(1, 5, 1000)]).winner is None


def test_three_variants_need_the_best_to_beat_both_others():
    # Best clearly beats the worst, but not the second: no winner.
    assert stats.pick_winner([(1, 80, 1000), (2, 75, 1000), (3, 30, 1000)]).winner is None


def test_an_aa_test_picks_a_false_winner_at_most_5_percent_of_the_time():
    rate = stats.aa_false_winner_rate(runs=600, variants=2, recipients=1000, rate=0.08, seed=11)
    assert rate <= 0.05
    three = stats.aa_false_winner_rate(runs=300, variants=3, recipients=1200, rate=0.08, seed=12)
    assert three <= 0.05


def test_the_rule_would_fail_without_its_protections():
    # Peeking after every 100 recipients and stopping at the first "significant" look: the
    # naive way picks false winners well above 5 %, which is why the rule tests once.
    rng = random.Random(3)
    false = 0
    for _ in range(300):
        x, n = [0, 0], [0, 0]
        for i in range(2000):
            arm = rng.randrange(2)
            n[arm] += 1
            x[arm] += rng.random() < 0.08
            if (
                i % 100 == 99
                and min(n) >= 100
                and stats.two_proportion_p(x[0], n[0], x[1], n[1]) < 0.05
            ):
                false += 1
                break
    assert false / 300 > 0.05
