"""casegen.errors.require: the one way a value that cannot be None by construction is narrowed
(mypy checks the whole package with strict optional). A None there is a bug in casegen, never bad
input: an InternalError (exit status 70 like any other bug), not a CasegenError (status 1)."""

from __future__ import annotations

import pytest

from casegen.errors import CasegenError, InternalError, require
from casegen.runs.fields import sub_object


def test_require_returns_the_value_itself():
    value = [0.0]
    assert require(value, "a list") is value
    assert require(0, "a count") == 0  # falsy values are present: only None is missing
    assert require("", "a text") == ""


def test_require_none_is_an_internal_error_naming_what():
    with pytest.raises(InternalError, match="'ttfts' .* is missing .*a bug in casegen") as exc:
        require(None, "'ttfts' (checked by the caller)")
    assert not isinstance(exc.value, CasegenError)  # not reported as the user's input error


def test_sub_object_reads_an_optional_nested_object():
    assert sub_object({"info": {"a": 1}}, "info") == {"a": 1}
    assert sub_object({"info": None}, "info") == {}
    assert sub_object({"info": [1]}, "info") == {}
    assert sub_object({}, "info") == {}
