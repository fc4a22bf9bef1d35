"""Score and count formatting for the result tables."""

from __future__ import annotations

import math

from nascli.formatting import human_count, score_text


def test_score_text_keeps_readable_scores_at_two_decimals() -> None:
    assert score_text(123.456) == "123.46"
    assert score_text(-0.5) == "-0.50"
    assert score_text(0.0) == "0.00"


def test_score_text_uses_significant_digits_for_extreme_scores() -> None:
    assert score_text(2.1863865677292501e34) == "2.19e+34"
    assert score_text(-0.00123) == "-0.00123"
    assert score_text(1e6) == "1e+06"
    assert score_text(math.inf) == "inf"


def test_human_count() -> None:
    assert human_count(1234567) == "1.23 M"
    assert human_count(512, "B") == "512 B"
