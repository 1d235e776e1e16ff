"""Label and field selector parsing and matching."""

from __future__ import annotations

import pytest

from kubernaut_wfe_tools.emulator.errors import ApiError
from kubernaut_wfe_tools.emulator.selectors import FieldSelector, LabelSelector

LABELS = {"app": "web", "tier": "front", "env": ""}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=db", False),
        ("app!=db", True),
        ("missing!=x", True),
        ("app in (web, db)", True),
        ("app in (db)", False),
        ("app notin (db,cache)", True),
        ("missing notin (x)", True),
        ("tier", True),
        ("missing", False),
        ("!missing", True),
        ("!tier", False),
        ("env=", True),
        ("app=web,tier in (front),!missing", True),
        ("app=web,tier=back", False),
    ],
)
def test_label_selector_matching(selector: str, matches: bool) -> None:
    assert LabelSelector.parse(selector).matches(LABELS) is matches


@pytest.mark.parametrize("selector", ["app in (web", "a=b=c", "=x", "a in b"])
def test_malformed_label_selectors_are_400(selector: str) -> None:
    with pytest.raises(ApiError) as caught:
        LabelSelector.parse(selector)
    assert caught.value.code == 400


def test_indexable_values_only_for_equality_and_in() -> None:
    parsed = LabelSelector.parse("a=1,b in (2,3),c!=4,d")
    assert [r.indexable_values for r in parsed.requirements] == [
        frozenset({"1"}),
        frozenset({"2", "3"}),
        None,
        None,
    ]


OBJ = {"metadata": {"name": "n", "namespace": "ns"}, "involvedObject": {"name": "x"}}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("metadata.name=n", True),
        ("metadata.name==n", True),
        ("metadata.name!=n", False),
        ("metadata.namespace=ns,metadata.name=n", True),
        ("metadata.namespace=other", False),
    ],
)
def test_field_selector_matching(selector: str, matches: bool) -> None:
    assert FieldSelector.parse(selector, kind="X").matches(OBJ) is matches


def test_field_selector_name_shortcut() -> None:
    assert FieldSelector.parse("metadata.name=n", kind="X").name == "n"
    assert FieldSelector.parse("metadata.name!=n", kind="X").name is None


def test_unsupported_field_is_400_unless_extra_fields_allowed() -> None:
    with pytest.raises(ApiError) as caught:
        FieldSelector.parse("involvedObject.name=x", kind="Pod")
    assert caught.value.message == "field label not supported: involvedObject.name"
    events = FieldSelector.parse("involvedObject.name=x", kind="Event", extra_fields=True)
    assert events.matches(OBJ)
