import itertools
import math

import numpy as np
import pytest

from annotate.media.segments import SegmentSpan, plan_segments


def bounds(spans):
    return [(s.start_s, s.end_s) for s in spans]


def test_none_gives_one_segment_covering_the_film():
    assert plan_segments(123.4, None) == [SegmentSpan(0, 0.0, 123.4)]


def test_exact_multiple_has_no_empty_tail():
    assert bounds(plan_segments(180.0, 60.0)) == [(0.0, 60.0), (60.0, 120.0), (120.0, 180.0)]


def test_short_tail_is_merged_into_previous_span():
    assert bounds(plan_segments(125.0, 60.0)) == [(0.0, 60.0), (60.0, 125.0)]


def test_tail_of_exactly_the_fraction_is_kept():
    assert bounds(plan_segments(150.0, 60.0)) == [(0.0, 60.0), (60.0, 120.0), (120.0, 150.0)]


def test_fraction_zero_keeps_every_tail_and_one_merges_every_tail():
    assert len(plan_segments(121.0, 60.0, min_last_fraction=0.0)) == 3
    assert bounds(plan_segments(179.0, 60.0, min_last_fraction=1.0)) == [(0.0, 60.0), (60.0, 179.0)]


def test_film_shorter_than_one_segment_is_one_segment():
    assert bounds(plan_segments(20.0, 60.0)) == [(0.0, 20.0)]
    assert bounds(plan_segments(20.0, 60.0, min_last_fraction=1.0)) == [(0.0, 20.0)]


def test_spans_are_contiguous_indexed_and_end_exactly_at_duration():
    duration = 0.1 * 3 * 1000  # 300.00000000000006 in floating point
    spans = plan_segments(duration, 0.1 * 3)
    assert [s.index for s in spans] == list(range(len(spans)))
    assert len(spans) == 1000
    assert spans[0].start_s == 0.0 and spans[-1].end_s == duration
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(spans))
    assert all(math.isclose(s.duration_s, 0.3) for s in spans)


def test_accepts_numpy_numbers():
    assert len(plan_segments(np.float64(10.0), np.int64(5))) == 2


@pytest.mark.parametrize("duration", [0, -1.0, float("nan"), float("inf"), "10", None, True])
def test_rejects_bad_duration(duration):
    with pytest.raises(ValueError, match="duration"):
        plan_segments(duration, 10.0)


@pytest.mark.parametrize("length", [0, -5.0, float("nan"), float("inf"), "5"])
def test_rejects_bad_segment_length(length):
    with pytest.raises(ValueError, match="Segment length"):
        plan_segments(100.0, length)


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="min_last_fraction"):
        plan_segments(100.0, 10.0, min_last_fraction=fraction)
