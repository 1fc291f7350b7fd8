"""Feature schema loading and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.schema import SchemaError, load_schema, slug


@pytest.fixture(scope="module")
def vehicles():
    return load_schema("vehicles")


def test_builtin_schemas_load() -> None:
    v = load_schema("vehicles")
    assert v.item_names == (
        "price", "mileage_km", "power_kw", "first_registration_year",
        "make", "model", "body_type", "fuel", "gearbox", "colour",
    )  # fmt: skip
    assert v.item("price").unit == "EUR" and v.item("price").log and v.item("price").required
    ml = load_schema("movielens-100k")
    assert ml.item("genres").multi
    assert ml.user_names == ("age", "age_band", "gender", "occupation")
    assert load_schema("taobao").item_names == ("category",)


def test_valid_listing_passes_unchanged(vehicles) -> None:
    raw = {"price": 6800, "mileage_km": 235000, "make": "bmw", "fuel": "diesel"}
    result = vehicles.validate_item(raw)
    assert result.features == raw
    assert result.issues == [] and not result.rejected


def test_missing_required_rejects(vehicles) -> None:
    result = vehicles.validate_item({"make": "bmw"})
    assert result.rejected
    assert [(i.field, i.reason) for i in result.issues] == [("price", "required value is missing")]


def test_implausible_optional_value_is_dropped_not_the_row(vehicles) -> None:
    result = vehicles.validate_item(
        {"price": 5000, "make": "vw", "power_kw": 0, "first_registration_year": 1000}
    )
    assert not result.rejected
    assert result.features == {"price": 5000, "make": "vw"}
    assert {i.field for i in result.issues} == {"power_kw", "first_registration_year"}
    assert "below the plausible minimum 1" in result.issues[0].reason


def test_implausible_required_value_rejects(vehicles) -> None:
    assert vehicles.validate_item({"price": 0, "make": "vw"}).rejected
    assert vehicles.validate_item({"price": 11_111_111, "make": "vw"}).rejected


def test_types_and_vocabularies(vehicles) -> None:
    result = vehicles.validate_item(
        {"price": "5000", "make": "vw", "fuel": "petrol", "gearbox": "manual", "colour": True}
    )
    reasons = {i.field: i.reason for i in result.issues}
    assert reasons["price"].startswith("expected a number")
    assert "'petrol' is not one of" in reasons["fuel"]
    assert reasons["colour"].startswith("expected a non-empty string")
    assert result.rejected  # price is required and was not a number
    assert vehicles.validate_item({"price": float("nan"), "make": "vw"}).rejected


def test_unknown_feature_is_reported(vehicles) -> None:
    result = vehicles.validate_item({"price": 5000, "make": "vw", "wheels": 4})
    assert result.features == {"price": 5000, "make": "vw"}
    assert [(i.field, i.fatal) for i in result.issues] == [("wheels", False)]


def test_multi_valued_categories() -> None:
    ml = load_schema("movielens-100k")
    assert ml.validate_item({"genres": ["Drama", "Comedy", "Drama"]}).features == {
        "genres": ["Comedy", "Drama"]
    }
    assert ml.validate_item({"genres": []}).features == {}
    assert ml.validate_user({"gender": "X"}).issues[0].field == "gender"


def test_schema_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[item_features]]\nname = "a"\nkind = "weird"\n')
    with pytest.raises(SchemaError, match="kind"):
        load_schema(bad)
    bad.write_text('name = "x"\n[[item_features]]\nname = "a"\nkind = "categorical"\ncolour = 1\n')
    with pytest.raises(SchemaError, match="unknown keys"):
        load_schema(bad)
    bad.write_text("name = [")
    with pytest.raises(SchemaError, match=str(bad)):
        load_schema(bad)
    with pytest.raises(SchemaError, match="built-in"):
        load_schema("boats")


def test_fingerprint_tracks_content(tmp_path: Path) -> None:
    assert load_schema("vehicles").fingerprint() == load_schema("vehicles").fingerprint()
    assert load_schema("vehicles").fingerprint() != load_schema("taobao").fingerprint()


def test_categories_are_canonicalised(vehicles) -> None:
    result = vehicles.validate_item(
        {"price": 5000, "make": " Mercedes_Benz ", "body_type": "Small", "fuel": "DIESEL"}
    )
    assert result.issues == []
    assert result.features == {
        "price": 5000, "make": "mercedes-benz", "body_type": "small", "fuel": "diesel",
    }  # fmt: skip


def test_slug_folds_case_separators_and_accents() -> None:
    assert slug(" Mercedes_Benz ") == "mercedes-benz"
    assert slug("Škoda") == "skoda"
    assert slug("Citroën C4") == "citroen-c4"


def test_values_with_nothing_left_after_canonicalising_are_refused(vehicles) -> None:
    for empty in ("\u0301", "___", " - "):
        result = vehicles.validate_item({"price": 9000, "make": empty})
        assert result.rejected and result.issues[0].field == "make"
    # Numbers beyond any float are refused, not an overflow.
    assert vehicles.validate_item({"price": 10**400, "make": "bmw"}).rejected
