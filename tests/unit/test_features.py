"""The feature space's user attributes: fitted, encoded, stored and read back."""

from __future__ import annotations

import numpy as np
import pytest

from models.features import OTHER, FeatureSpace
from models.inputs import attribute_matrix, stored_user_matrix, user_matrix
from models.schema import parse_schema

SCHEMA = parse_schema(
    {
        "name": "films",
        "item_features": [{"name": "genre", "kind": "categorical"}],
        "user_features": [
            {"name": "gender", "kind": "categorical"},
            {"name": "age", "kind": "continuous"},
        ],
    }
)
ITEMS = [{"genre": g} for g in ("drama", "comedy")] * 5
USERS = [{"gender": "F", "age": 20}, {"gender": "M", "age": 40}] * 5 + [{"gender": "X"}]


def test_attributes_are_fitted_like_item_features() -> None:
    space = FeatureSpace.fit(SCHEMA, ITEMS, users=USERS)
    assert [v.values for v in space.user_vocabularies] == [["F", "M", OTHER]]  # X is rare
    assert space.user_scalers[0].mean == pytest.approx(30.0)
    assert space.attribute_width == 3 + 2  # one-hot gender, age value and presence
    assert space.width == 3  # the item layout is unchanged


def test_attribute_matrix_known_values() -> None:
    space = FeatureSpace.fit(SCHEMA, ITEMS, users=USERS)
    got = attribute_matrix(space, [{"gender": "M", "age": 40}, {"gender": "X"}, None, {}])
    np.testing.assert_allclose(
        got,
        [
            [0, 1, 0, 1.0, 1],  # M; age one std above the mean of 30
            [0, 0, 1, 0.0, 0],  # an unknown value takes the other slot; age absent
            [0, 0, 0, 0.0, 0],  # no attributes at all
            [0, 0, 0, 0.0, 0],
        ],
    )


def test_no_attributes_anywhere_gives_no_columns() -> None:
    space = FeatureSpace.fit(SCHEMA, ITEMS, users=[{}, {}])
    assert space.attribute_width == 0
    assert attribute_matrix(space, [{}, {"gender": "F"}]).shape == (2, 0)


def test_round_trip_and_spaces_stored_before_attributes() -> None:
    space = FeatureSpace.fit(SCHEMA, ITEMS, users=USERS)
    assert FeatureSpace.from_dict(space.to_dict()) == space
    old = space.to_dict()
    del old["user_vocabularies"], old["user_scalers"]
    assert FeatureSpace.from_dict(old).attribute_width == 0


def test_stored_vectors_split_back_into_profile_and_attributes() -> None:
    space = FeatureSpace.fit(SCHEMA, ITEMS, users=USERS)
    profile = np.array([[0.5, 0.4, 0.1, np.log1p(3), 7.0]], dtype=np.float32)  # C=3, K=0
    attrs = attribute_matrix(space, [{"gender": "F", "age": 20}])
    stored = np.concatenate([profile, attrs], axis=1)
    want = user_matrix(profile, attrs)
    np.testing.assert_allclose(stored_user_matrix(stored, space), want)
    # Only the evidence weight is log-scaled; the attributes pass through.
    assert want[0, 4] == pytest.approx(np.log1p(7.0))
    np.testing.assert_allclose(want[0, 5:], [1, 0, 0, -1, 1])
