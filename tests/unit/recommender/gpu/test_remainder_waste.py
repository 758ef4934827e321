"""Expected eventual waste of a GPU's free milli under the arriving mix."""

from __future__ import annotations

import pytest

from recommender.gpu.placement.remainder_waste import expected_waste
from recommender.gpu.placement.typical_pods import typical_pods
from tests.unit.recommender.gpu.cluster_fixtures import MODEL, pods, share_heavy_mix


def test_one_offer_of_a_half_share_mix() -> None:
    """500-milli shares half the mix, one offer: 499 stays, 500 ends 250, 1000 ends 625."""
    mix = typical_pods(pods([(2000, 1, 500)] * 5 + [(4000, 0, 0)] * 5), (MODEL,), threshold=1.0)
    waste = expected_waste(mix, horizon=1.0)
    assert waste[[0, 499, 500, 1000]].tolist() == pytest.approx([0.0, 499.0, 250.0, 625.0])


def test_a_remainder_only_rare_pods_fit_is_expected_to_stay() -> None:
    """160-milli pods 1 % of the mix, 470s 30 %: 190 ends 148 milli unused, 530 only 68."""
    waste = expected_waste(share_heavy_mix(), horizon=30.0)
    assert waste[190] == pytest.approx(148.4, abs=0.1)
    assert waste[530] == pytest.approx(68.3, abs=0.1)
