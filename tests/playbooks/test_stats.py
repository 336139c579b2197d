"""The interval formulas against numbers worked out by hand (z = 1.96)."""

import pytest

from playbooks.stats import newcombe, rate, wilson


def test_wilson_8_of_20():
    # p = .4, z^2 = 3.8416; denominator 1 + 3.8416/20 = 1.19208
    # centre (.4 + 3.8416/40) / 1.19208 = .49604 / 1.19208 = .41611
    # margin 1.96 * sqrt(.24/20 + 3.8416/1600) / 1.19208 = 1.96 * .120004 / 1.19208 = .19731
    low, high = wilson(8, 20, z=1.96)
    assert low == pytest.approx(0.21880, abs=1e-4)
    assert high == pytest.approx(0.61342, abs=1e-4)


def test_wilson_at_the_ends():
    # 0 of 10: [0, z^2 / (n + z^2)] = [0, 3.8416 / 13.8416] = [0, .27754]
    assert wilson(0, 10, z=1.96) == (0.0, pytest.approx(0.27754, abs=1e-4))
    low, high = wilson(10, 10, z=1.96)
    assert (low, high) == (pytest.approx(0.72246, abs=1e-4), 1.0)
    with pytest.raises(ValueError):
        wilson(0, 0)


def test_rate_without_trials_is_empty():
    assert rate(0, 0).as_dict() == {
        "outcomes": 0,
        "total": 0,
        "rate": None,
        "low": None,
        "high": None,
    }


def test_newcombe_difference_56_of_70_vs_48_of_80():
    # Newcombe (1998), example (a): 56/70 - 48/80 = .2000, 95% interval .0524 to .3339
    difference, low, high = newcombe(56, 70, 48, 80)
    assert difference == pytest.approx(0.2)
    assert low == pytest.approx(0.0524, abs=1e-4)
    assert high == pytest.approx(0.3339, abs=1e-4)


def test_newcombe_by_hand_8_of_20_vs_4_of_20():
    # p1 = .4 [.21880, .61342]; p2 = .2: centre (.2 + .09604)/1.19208 = .24834,
    # margin 1.96 * sqrt(.16/20 + .002401) / 1.19208 = 1.96 * .101985 / 1.19208 = .16768
    # -> [.08066, .41602]; low = .2 - sqrt(.18120^2 + .21602^2) = .2 - .28196 = -.08196
    # high = .2 + sqrt(.21342^2 + .11934^2) = .2 + .24452 = .44452
    difference, low, high = newcombe(8, 20, 4, 20, z=1.96)
    assert difference == pytest.approx(0.2)
    assert low == pytest.approx(-0.0820, abs=1e-3)
    assert high == pytest.approx(0.4445, abs=1e-3)
