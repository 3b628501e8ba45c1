"""bench.scoring on tiny clusterings whose scores are computed by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bench.scoring import error_pairs, score_clusters


def _frames(pred_ids, entity_ids):
    rows = list(range(1, len(entity_ids) + 1))
    pred = pd.DataFrame({"row_number": rows, "cluster_id": pred_ids})
    truth = pd.DataFrame({"row_number": rows, "entity_id": entity_ids})
    return pred, truth


def test_mixed_errors_and_a_null_singleton():
    # Truth: {1,2,3}=A {4,5}=B {6}=C. Prediction: {1,2} {3,4,5} and row 6 quarantined (null).
    pred, truth = _frames(["c1", "c1", "c2", "c2", "c2", None], ["A", "A", "A", "B", "B", "C"])
    s = score_clusters(pred, truth)
    # predicted pairs: C(2,2)+C(3,2) = 4; true pairs: C(3,2)+C(2,2) = 4;
    # true positives: (c1,A)=2 rows -> 1, (c2,A)=1 -> 0, (c2,B)=2 -> 1, (null,C) -> 0: 2.
    assert (s.predicted_pairs, s.true_pairs, s.true_positive_pairs) == (4, 4, 2)
    assert (s.false_positive_pairs, s.false_negative_pairs) == (2, 2)
    assert s.precision == 0.5 and s.recall == 0.5 and s.f1 == 0.5
    assert s.rows == 6 and s.true_entities == 3 and s.duplicated_entities == 2
    assert s.predicted_clusters == 3 and s.predicted_multi_clusters == 2
    # Only C (alone, and alone in its singleton) is an exact match.
    assert s.exact_entities == 1 and math.isclose(s.exact_cluster_rate, 1 / 3)
    assert s.exact_duplicated_entities == 0 and s.exact_cluster_rate_duplicated == 0.0
    assert s.impure_clusters == 1  # c2 holds A and B
    assert s.split_entities == 1  # A is in c1 and c2


def test_nulls_are_separate_singletons_not_one_cluster():
    # Two quarantined rows of the same entity: not merged (a missed pair), and the two nulls of
    # different entities are not a false merge either.
    pred, truth = _frames([None, None, None, "k"], ["X", "X", "Y", "Z"])
    s = score_clusters(pred, truth)
    assert s.predicted_clusters == 4 and s.predicted_pairs == 0
    assert s.true_pairs == 1 and s.true_positive_pairs == 0
    assert s.precision == 1.0 and s.recall == 0.0 and s.f1 == 0.0
    assert s.exact_entities == 2  # Y and Z
    assert s.split_entities == 1 and s.impure_clusters == 0


def test_perfect_clustering_with_other_labels_and_order():
    pred, truth = _frames([7, 7, 3, 9, 9, 9], [1, 1, 2, 3, 3, 3])
    pred = pred.iloc[::-1]  # order does not matter, rows are joined on row_number
    s = score_clusters(pred, truth)
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)
    assert s.true_pairs == 1 + 3 and s.exact_cluster_rate == 1.0 and s.exact_cluster_rate_duplicated == 1.0


def test_everything_in_one_cluster():
    # {1,2}=A {3,4}=B all predicted together: 6 predicted pairs, 2 true, both found.
    pred, truth = _frames(["x"] * 4, ["A", "A", "B", "B"])
    s = score_clusters(pred, truth)
    assert s.predicted_pairs == 6 and s.true_positive_pairs == 2
    assert math.isclose(s.precision, 1 / 3) and s.recall == 1.0 and math.isclose(s.f1, 0.5)
    assert s.exact_entities == 0 and s.impure_clusters == 1 and s.split_entities == 0


def test_all_singletons_when_there_is_nothing_to_find():
    pred, truth = _frames(["a", "b", "c"], [1, 2, 3])
    s = score_clusters(pred, truth)
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)
    assert s.exact_cluster_rate == 1.0 and s.exact_cluster_rate_duplicated == 1.0


def test_missing_or_extra_rows_are_errors():
    pred, truth = _frames(["a", "a", "b"], [1, 1, 2])
    with pytest.raises(ValueError, match="no prediction"):
        score_clusters(pred.iloc[:2], truth)
    extra = pd.concat([pred, pd.DataFrame({"row_number": [99], "cluster_id": ["z"]})])
    with pytest.raises(ValueError, match="not in the truth"):
        score_clusters(extra, truth)
    with pytest.raises(ValueError, match="more than once"):
        score_clusters(pd.concat([pred, pred.iloc[:1]]), truth)


def test_error_pairs_lists_the_wrong_pairs():
    pred, truth = _frames(["c1", "c1", "c2", "c2", "c2", None], ["A", "A", "A", "B", "B", "C"])
    false_merges, missed = error_pairs(pred, truth)
    assert sorted(map(tuple, false_merges.to_numpy())) == [(3, 4), (3, 5)]
    assert sorted(map(tuple, missed.to_numpy())) == [(1, 3), (2, 3)]
