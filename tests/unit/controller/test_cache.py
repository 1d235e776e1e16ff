"""The object cache: newest state wins, runs and TaskRuns map to their WFE."""

from __future__ import annotations

from typing import Any

from kubernaut_wfe.constants import Annotation, Label, TektonLabel
from kubernaut_wfe.controller.cache import ObjectCache, newer_or_same, wfe_key_of_run


def obj(name: str, rv: str, uid: str = "u1", **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": uid, "resourceVersion": rv, **meta}
    }


def run(name: str, rv: str, holder: str = "team/wfe-a", uid: str = "r1") -> dict[str, Any]:
    return obj(name, rv, uid, annotations={Annotation.WORKFLOW_EXECUTION.value: holder})


def test_an_older_delivery_never_replaces_a_newer_state() -> None:
    cache = ObjectCache()
    cache.store_wfe(obj("a", "10"))
    cache.store_wfe(obj("a", "7"))
    assert cache.wfe(("ns", "a"))["metadata"]["resourceVersion"] == "10"  # type: ignore[index]
    cache.store_wfe(obj("a", "12"))
    assert cache.wfe(("ns", "a"))["metadata"]["resourceVersion"] == "12"  # type: ignore[index]


def test_a_new_incarnation_replaces_the_old_one_whatever_its_version() -> None:
    assert newer_or_same(obj("a", "3", uid="new"), obj("a", "9", uid="old"))
    assert not newer_or_same(obj("a", "3"), obj("a", "9"))
    assert newer_or_same(obj("a", "x"), obj("a", "9"))


def test_copies_are_handed_out() -> None:
    cache = ObjectCache()
    cache.store_wfe(obj("a", "1"))
    copy = cache.wfe(("ns", "a"))
    assert copy is not None
    copy["metadata"]["name"] = "changed"
    assert cache.wfe(("ns", "a"))["metadata"]["name"] == "a"  # type: ignore[index]


def test_drop_wfe_only_forgets_that_incarnation() -> None:
    cache = ObjectCache()
    cache.store_wfe(obj("a", "1", uid="new"))
    cache.drop_wfe(("ns", "a"), "old")
    assert cache.wfe(("ns", "a")) is not None
    cache.drop_wfe(("ns", "a"), "new")
    assert cache.wfe(("ns", "a")) is None


def test_runs_map_to_their_wfe_by_annotation() -> None:
    cache = ObjectCache()
    assert cache.store_run(run("wfe-1", "5")) == ("team", "wfe-a")
    assert cache.run("wfe-1") is not None
    assert cache.drop_run(run("wfe-1", "6", uid="other")) == ("team", "wfe-a")
    assert cache.run("wfe-1") is not None  # a different incarnation's deletion
    cache.drop_run(run("wfe-1", "7"))
    assert cache.run("wfe-1") is None


def test_wfe_key_of_run_needs_namespace_and_name() -> None:
    assert wfe_key_of_run(run("r", "1", holder="no-slash")) is None
    assert wfe_key_of_run(run("r", "1", holder="/name")) is None
    assert wfe_key_of_run({"metadata": {}}) is None


def test_taskruns_map_through_their_run_or_their_labels() -> None:
    cache = ObjectCache()
    cache.store_run(run("wfe-1", "5"))
    child = obj("wfe-1-hello", "6", uid="t1", labels={TektonLabel.PIPELINE_RUN.value: "wfe-1"})
    assert cache.store_taskrun(child) == ("team", "wfe-a")
    assert [t["metadata"]["name"] for t in cache.taskruns("wfe-1")] == ["wfe-1-hello"]
    cache.store_taskrun(child, deleted=True)
    assert cache.taskruns("wfe-1") == []

    cache.store_wfe({"metadata": {"name": "wfe-b", "namespace": "team", "uid": "w"}})
    orphan = obj(
        "wfe-2-x",
        "8",
        uid="t2",
        labels={
            TektonLabel.PIPELINE_RUN.value: "wfe-2",
            Label.SOURCE_NAMESPACE.value: "team",
            Label.WORKFLOW_EXECUTION.value: "wfe-b",
        },
    )
    assert cache.store_taskrun(orphan) == ("team", "wfe-b")
    assert cache.store_taskrun(obj("stray", "9", uid="t3")) is None


def test_presence_and_uid_without_copies() -> None:
    cache = ObjectCache()
    assert not cache.has_wfe(("ns", "a"))
    assert cache.wfe_uid(("ns", "a")) is None
    cache.store_wfe(obj("a", "1", uid="u-a"))
    assert cache.has_wfe(("ns", "a"))
    assert cache.wfe_uid(("ns", "a")) == "u-a"
