import pytest

from dsa_pipelines.storage.errors import InvalidName
from dsa_pipelines.storage.names import validate_dataset_name, validate_ref_name, validate_table_name

GOOD = ["main", "feature/x", "samples/audit-q3", "v1.0", "release-2026.11", "a@b"]
BAD = {
    "": "empty",
    "a..b": "'..'",
    "a\x01b": "control",
    "-main": "starts with '-'",
    "main/": "ends with '/'",
    "x.lock": ".lock",
    "has space": "spaces",
    "a" * 201: "201 characters",
    "a~1": "'~'",
    "a^": "'^'",
    "a:b": "':'",
    "a@{1}": "'@{'",
    "@": "reserved",
    ".hidden": "starting with '.'",
    "a//b": "'//'",
    "end.": "ends with '.'",
}


@pytest.mark.parametrize("name", GOOD)
def test_good_ref_names(name):
    assert validate_ref_name(name) == name


@pytest.mark.parametrize("name,why", BAD.items())
def test_bad_ref_names_say_why(name, why):
    with pytest.raises(InvalidName) as err:
        validate_ref_name(name, "tag")
    assert why in str(err.value)
    assert "tag" in str(err.value)


def test_dataset_names_have_no_slash():
    assert validate_dataset_name("customers") == "customers"
    with pytest.raises(InvalidName, match="'/'"):
        validate_dataset_name("a/b")


def test_table_names():
    assert validate_table_name("Q1 orders") == "Q1 orders"
    for bad in ["", " x", "a/b", "a\nb", "x" * 129]:
        with pytest.raises(InvalidName):
            validate_table_name(bad)
