"""The object cache: newest state wins, runs and TaskRuns map to their WFE."""

from __future__ import annotations

from typing import Any

import pytest

from kubernaut_wfe.constants import JOB_NAME_LABEL, Annotation, Label, RunKind, TektonLabel
from kubernaut_wfe.reconcile import cache as cache_module
from kubernaut_wfe.reconcile.cache import ObjectCache, newer_or_same, wfe_key_of_run


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


def test_only_a_newer_state_or_incarnation_is_news() -> None:
    cache = ObjectCache()
    assert cache.store_wfe(obj("a", "5")).news
    assert not cache.store_wfe(obj("a", "5")).news  # the watch echoing what we stored
    assert not cache.store_wfe(obj("a", "4")).news
    assert cache.store_wfe(obj("a", "6")).news
    assert cache.store_wfe(obj("a", "1", uid="u2")).news
    assert cache.resource_version(("ns", "a")) == "1"
    assert cache.resource_version(("ns", "missing")) is None


def test_run_and_taskrun_news() -> None:
    cache = ObjectCache()
    assert cache.store_run(run("wfe-1", "5")).news
    assert not cache.store_run(run("wfe-1", "5")).news
    assert not cache.store_run(run("wfe-1", "3")).news
    assert cache.store_run(run("wfe-1", "2", uid="r2")).news
    child = obj("wfe-1-t", "6", uid="t1", labels={TektonLabel.PIPELINE_RUN.value: "wfe-1"})
    assert cache.store_taskrun(child).news
    assert not cache.store_taskrun(child).news
    assert cache.store_taskrun(child, deleted=True).news
    assert not cache.store_taskrun(child, deleted=True).news


def test_owned_documents_are_kept_without_a_deep_copy() -> None:
    cache = ObjectCache()
    handed = obj("a", "1")
    cache.store_wfe(handed, owned=True)
    assert cache.wfe_view(("ns", "a"))[0]["metadata"] is handed["metadata"]  # type: ignore[index]
    borrowed = run("wfe-1", "1")
    cache.store_run(borrowed)
    assert cache.run("wfe-1")["metadata"] is not borrowed["metadata"]  # type: ignore[index]
    assert cache.run("wfe-1") == borrowed
    handed_run = run("wfe-2", "1")
    cache.store_run(handed_run, owned=True)
    assert cache.run("wfe-2")["metadata"] is handed_run["metadata"]  # type: ignore[index]


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
    assert cache.store_run(run("wfe-1", "5")).key == ("team", "wfe-a")
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
    assert cache.store_taskrun(child).key == ("team", "wfe-a")
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
    assert cache.store_taskrun(orphan).key == ("team", "wfe-b")
    assert cache.store_taskrun(obj("stray", "9", uid="t3")).key is None


def test_presence_and_uid_without_copies() -> None:
    cache = ObjectCache()
    assert not cache.has_wfe(("ns", "a"))
    assert cache.wfe_uid(("ns", "a")) is None
    cache.store_wfe(obj("a", "1", uid="u-a"))
    assert cache.has_wfe(("ns", "a"))
    assert cache.wfe_uid(("ns", "a")) == "u-a"


def on_target(name: str, target: str, rv: str = "1", uid: str | None = None) -> dict[str, Any]:
    return {**obj(name, rv, uid or f"uid-{name}"), "spec": {"targetResource": target}}


def locked(
    name: str, rv: str, phase: str | None, lock: str = "True", target: str = "ns/deployment/x"
) -> dict[str, Any]:
    document = on_target(name, target, rv=rv)
    document["status"] = {"conditions": [{"type": "ResourceLocked", "status": lock}]}
    if phase is not None:
        document["status"]["phase"] = phase
    return document


def waiting_on(cache: ObjectCache, target: str) -> set[str]:
    return {typed.metadata.name for _, typed in cache.waiting_on_target(target)}


def test_waiters_are_indexed_by_target_through_changes_and_drops() -> None:
    cache = ObjectCache()
    cache.store_wfe(locked("a", "1", "Pending"))
    cache.store_wfe(locked("b", "1", "Pending"))
    cache.store_wfe(locked("c", "1", "Pending", target="ns/deployment/y"))
    assert waiting_on(cache, "ns/deployment/x") == {"a", "b"}
    cache.store_wfe(locked("b", "2", "Pending", target="ns/deployment/y"))
    assert waiting_on(cache, "ns/deployment/x") == {"a"}
    assert waiting_on(cache, "ns/deployment/y") == {"b", "c"}
    cache.drop_wfe(("ns", "a"))
    assert waiting_on(cache, "ns/deployment/x") == set()
    assert waiting_on(cache, "ns/deployment/nothing") == set()


def test_every_spelling_of_one_objects_kind_is_found_under_one_index_key() -> None:
    cache = ObjectCache()
    cache.store_wfe(locked("a", "1", "Pending", target="ns/deployment/x"))
    cache.store_wfe(locked("b", "1", "Pending", target="ns/Deployment/x"))
    cache.store_wfe(locked("c", "1", "Pending", target="ns/nosuchkind/x"))
    cache.store_wfe(locked("d", "1", "Pending", target="other/deployment/x"))
    cache.store_wfe(locked("e", "1", "Pending", target="ns/deployment/y"))
    cache.store_wfe(locked("w", "1", "Pending", target="ns/deployments.apps/x"))
    # The index is the object's name; the reconciler compares canonical targets.
    assert waiting_on(cache, "ns/deploy/x") == {"a", "b", "c", "d", "w"}
    for name in ("a", "b", "c", "d", "w"):
        cache.drop_wfe(("ns", name))
    assert cache.waiting_on_target("ns/deploy/x") == []


def test_the_typed_view_is_parsed_once_per_state() -> None:
    cache = ObjectCache()
    cache.store_wfe(on_target("a", "ns/deployment/x", rv="1"))
    first = cache.wfe_view(("ns", "a"))
    assert first is not None
    assert cache.wfe_view(("ns", "a")) == first
    assert cache.wfe_view(("ns", "a"))[1] is first[1]  # type: ignore[index]
    cache.store_wfe(on_target("a", "ns/deployment/x", rv="1"))  # the same state again
    assert cache.wfe_view(("ns", "a"))[1] is first[1]  # type: ignore[index]
    cache.store_wfe(on_target("a", "ns/deployment/x", rv="2"))
    second = cache.wfe_view(("ns", "a"))
    assert second is not None
    assert second[1] is not first[1]
    assert second[1].metadata.resource_version == "2"


def test_only_owned_documents_are_kept_without_a_copy() -> None:
    cache = ObjectCache()
    given = on_target("a", "ns/deployment/x", rv="1")
    cache.store_wfe(given)
    given["metadata"]["name"] = "changed"
    assert cache.wfe_view(("ns", "a"))[0]["metadata"]["name"] == "a"  # type: ignore[index]
    answer = on_target("a", "ns/deployment/x", rv="2")
    cache.store_wfe(answer, owned=True)
    assert cache.wfe_view(("ns", "a"))[0] == answer  # type: ignore[index]


def test_only_possible_waiters_are_indexed_as_waiting() -> None:
    cache = ObjectCache()
    cache.store_wfe(locked("pending", "1", "Pending"))
    cache.store_wfe(locked("new", "1", None))
    cache.store_wfe(locked("free", "1", "Pending", lock="False"))
    cache.store_wfe(locked("running", "1", "Running"))
    cache.store_wfe(on_target("plain", "ns/deployment/x"))
    waiting = {typed.metadata.name for _, typed in cache.waiting_on_target("ns/deployment/x")}
    assert waiting == {"pending", "new"}
    cache.store_wfe(locked("pending", "2", "Running"))
    cache.drop_wfe(("ns", "new"))
    assert cache.waiting_on_target("ns/deployment/x") == []


def test_typed_views_are_kept_for_the_recently_used_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cache_module, "PARSED_CAPACITY", 2)
    cache = ObjectCache()
    for name in ("a", "b", "c"):
        cache.store_wfe(on_target(name, "ns/deployment/x"))
    first_a = cache.wfe_view(("ns", "a"))
    first_b = cache.wfe_view(("ns", "b"))
    cache.wfe_view(("ns", "a"))  # used again: "b" is now the oldest
    cache.wfe_view(("ns", "c"))  # evicts "b"
    assert first_a is not None
    assert first_b is not None
    assert cache.wfe_view(("ns", "a"))[1] is first_a[1]  # type: ignore[index]
    again_b = cache.wfe_view(("ns", "b"))  # parsed anew
    assert again_b is not None
    assert again_b[1] is not first_b[1]
    assert again_b[1] == first_b[1]


# --- Jobs, their pods and the Warning Events about them -------------------------------------


def job(name: str, rv: str, holder: str = "team/wfe-a", uid: str = "j1") -> dict[str, Any]:
    return {"kind": "Job", **run(name, rv, holder, uid)}


def pod(name: str, job_name: str, rv: str = "1") -> dict[str, Any]:
    return obj(name, rv, uid=f"p-{name}", labels={JOB_NAME_LABEL: job_name})


def warning(name: str, kind: str, about: str) -> dict[str, Any]:
    return {
        **obj(name, "1", uid=f"e-{name}"),
        "type": "Warning",
        "involvedObject": {"kind": kind, "name": about, "namespace": "ns"},
    }


def test_a_job_and_a_pipelinerun_of_one_name_are_cached_apart() -> None:
    cache = ObjectCache()
    cache.store_run(run("wfe-1", "1", holder="team/tekton"))
    cache.store_run(job("wfe-1", "2", holder="team/job"))
    tekton_run, job_run = cache.run("wfe-1"), cache.run("wfe-1", RunKind.JOB)
    assert tekton_run is not None
    assert job_run is not None
    assert wfe_key_of_run(tekton_run) == ("team", "tekton")
    assert wfe_key_of_run(job_run) == ("team", "job")


def test_pods_and_warning_events_map_to_the_wfe_of_their_job() -> None:
    cache = ObjectCache()
    cache.store_run(job("wfe-1", "1"))
    assert cache.store_pod(pod("wfe-1-abcde", "wfe-1")) == (("team", "wfe-a"), True)
    assert cache.store_run_event(warning("e1", "Pod", "wfe-1-abcde")).key == ("team", "wfe-a")
    assert cache.store_run_event(warning("e2", "Job", "wfe-1")).key == ("team", "wfe-a")
    assert cache.store_run_event(warning("e3", "Deployment", "wfe-1")) == (None, False)
    assert [p["metadata"]["name"] for p in cache.pods("wfe-1")] == ["wfe-1-abcde"]
    assert [e["metadata"]["name"] for e in cache.run_events("wfe-1")] == ["e1", "e2"]


def test_an_event_about_a_pod_not_seen_yet_finds_its_job_by_the_pod_name() -> None:
    cache = ObjectCache()
    cache.store_run(job("wfe-1", "1"))
    assert cache.store_run_event(warning("e1", "Pod", "wfe-1-zzzzz")).key == ("team", "wfe-a")


def test_a_job_keeps_only_its_newest_warning_events() -> None:
    cache = ObjectCache()
    cache.store_run(job("wfe-1", "1"))
    for index in range(cache_module.RUN_EVENTS_KEPT + 5):
        cache.store_run_event(warning(f"e{index}", "Job", "wfe-1"))
    kept = [e["metadata"]["name"] for e in cache.run_events("wfe-1")]
    assert len(kept) == cache_module.RUN_EVENTS_KEPT
    assert kept[-1] == f"e{cache_module.RUN_EVENTS_KEPT + 4}"


def test_a_deleted_job_takes_its_pods_and_events_along() -> None:
    cache = ObjectCache()
    cache.store_run(job("wfe-1", "1"))
    cache.store_pod(pod("wfe-1-abcde", "wfe-1"))
    cache.store_run_event(warning("e1", "Job", "wfe-1"))
    assert cache.drop_run(job("wfe-1", "1")) == ("team", "wfe-a")
    assert cache.pods("wfe-1") == []
    assert cache.run_events("wfe-1") == []
    assert cache.store_pod(pod("wfe-1-abcde", "wfe-1"), deleted=True).news is False
