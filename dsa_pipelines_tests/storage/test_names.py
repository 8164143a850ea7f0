import re

import pytest

from dsa_pipelines.storage.errors import InvalidName
from dsa_pipelines.storage.names import (
    validate_dataset_name,
    validate_ref_name,
    validate_table_name,
)

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


# --------------------------------------------------------------------------- confusables, hex, text (issue 12)

CONFUSABLE = {
    "m\u0430in": "Cyrillic and Latin",
    "\uff4d\uff41\uff49\uff4e": "compatibility character",
    "ma\u200bin": "U+200B",
    "\u202emain": "U+202E",
    "\ufeffmain": "U+FEFF",
    "CON": "Windows device name",
    "nul.txt": "Windows device name",
    "a\ud800b": "lone surrogate",
}


@pytest.mark.parametrize("name", sorted(CONFUSABLE))
def test_confusable_and_invisible_names_are_refused(name):
    for validate in (validate_dataset_name, validate_ref_name):
        with pytest.raises(InvalidName, match=re.escape(CONFUSABLE[name])):
            validate(name)


@pytest.mark.parametrize("name", ["abcd", "deadbeef", "0" * 40, "F" * 64])
def test_ref_names_of_4_to_64_hex_digits_are_refused(name):
    with pytest.raises(InvalidName, match="hex digits"):
        validate_ref_name(name, "branch")
    assert validate_ref_name(name + "-x") == name + "-x" and validate_ref_name("abc") == "abc"


def test_names_are_taken_in_nfc_and_table_names_allow_real_world_scripts():
    assert validate_dataset_name("cafe\u0301") == "caf\u00e9"
    assert validate_ref_name("feature/cafe\u0301") == "feature/caf\u00e9"
    assert validate_table_name("\u30c7\u30fc\u30bf\uff11") == "\u30c7\u30fc\u30bf\uff11"  # full-width digit
    assert validate_table_name("\u0414\u0430\u043d\u043d\u044b\u0435 Q1") == "\u0414\u0430\u043d\u043d\u044b\u0435 Q1"
    assert validate_dataset_name("\u041f\u0440\u043e\u0434\u0430\u0436\u0438-EU")
    with pytest.raises(InvalidName, match=re.escape("U+202E")):
        validate_table_name("sheet\u202e1")
