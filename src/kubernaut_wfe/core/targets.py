"""One target, one lock: every spelling of an object's kind resolves to one canonical target.

`spec.targetResource` names the kind as its author wrote it: `deployment`, `Deployment`,
`deployments`, `deploy` and `deployment.apps` all name the Deployment `web`. The run's name, the
per-target lock, is a hash of the target (spec §2); hashed as written, each spelling would get a
lock of its own and several runs could act on one object at once. The canonical target spells
the kind as the lowercase singular resource name, the spelling of the contract's examples, so
`default/deployment/web` keeps exactly the run name the contract gives it; namespace and name
stay as written (both are case-sensitive names).

The spellings come from API discovery: `kind_table` builds the table from what the adapter
read, `canonical_target` resolves a target with it. Both are pure. Messages, Events, the audit
trail, the run's `kubernaut.ai/target-resource` annotation and its `TARGET_RESOURCE` parameter
keep the target as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

EXAMPLE_SPELLINGS = "deployment, deployments, Deployment, deploy or deployment.apps"
"""How a message shows the spellings kubectl accepts, on the kind everyone knows."""


@dataclass(frozen=True)
class Kind:
    """What one spelling of a kind resolves to."""

    resource: str
    """The canonical spelling: the lowercase singular resource name (`deployment`)."""
    namespaced: bool


@dataclass(frozen=True)
class KindTable:
    """Every accepted spelling (lowercased) of every kind the API serves, and the API groups
    whose discovery failed when the table was read (their kinds are missing from it)."""

    spellings: Mapping[str, Kind] = field(default_factory=dict)
    unavailable_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnresolvedTarget:
    """A target that names no object the lock can be taken for; `message` says why and what
    to do."""

    message: str
    kind_unknown: bool = False
    """The table lacks the kind: a discovery read made later may know it (a CRD installed
    since). False when the target is malformed or lacks the namespace its kind needs."""


TargetResolution = str | UnresolvedTarget
"""The canonical target, or why there is none."""

DiscoveredGroup = tuple[str, Iterable[Mapping[str, Any]]]
"""An API group's name (`""` for the core group) and the `resources` of its preferred version's
APIResourceList."""


def kind_table(
    groups: Iterable[DiscoveredGroup], unavailable_groups: Iterable[str] = ()
) -> KindTable:
    """The table of spellings of the `groups`' resources, given in discovery order: the core
    group first, then the groups in the order `/apis` lists them.

    Each resource is accepted as its plural, its singular name and its Kind (any case), and as
    its short names; each also with `.<group>` appended (`deployments.apps`). Where two
    resources claim one spelling, the choice is kubectl's and deterministic: a name (plural,
    singular, Kind) wins over a short name, so a CRD's short name never shadows a served
    resource; between two names, or two short names, the first group in discovery order wins
    (the core group, then the server's preferred group order, built-in groups before CRDs).

    The group never enters the canonical spelling, so resources of two groups that share a
    singular name (`events` of the core group and of `events.k8s.io`) share the lock of an
    object of one namespace and name. That errs on the safe side (such runs wait for each other,
    they never run at once on one object) and keeps lock names stable: a CRD installed later
    never changes the lock of a target that is already locked.
    """
    names: dict[str, Kind] = {}
    short_names: dict[str, Kind] = {}
    for group, resources in groups:
        suffix = f".{group}" if group else ""
        for resource in resources:
            plural = str(resource.get("name") or "").lower()
            if not plural or "/" in plural:  # subresources (`deployments/scale`) are no kinds
                continue
            kind_name = str(resource.get("kind") or "").lower()
            singular = str(resource.get("singularName") or "").lower() or kind_name or plural
            kind = Kind(singular, bool(resource.get("namespaced")))
            for spelling in filter(None, {plural, singular, kind_name}):
                for spelled in {spelling, spelling + suffix}:
                    names.setdefault(spelled, kind)
            for short in resource.get("shortNames") or ():
                for spelled in {str(short).lower(), str(short).lower() + suffix}:
                    short_names.setdefault(spelled, kind)
    spellings = {**short_names, **names}
    return KindTable(spellings, tuple(sorted(unavailable_groups)))


def canonical_target(target: str, table: KindTable) -> TargetResolution:
    """`namespace/<resource>/name` or `<resource>/name` with the kind spelled canonically, or
    why the target cannot be locked: malformed, a kind the table lacks, or no namespace for a
    namespaced kind. A namespace given for a cluster-scoped kind is dropped (the object is the
    same), so `default/node/n` and `node/n` share the lock."""
    parts = target.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        return UnresolvedTarget(
            f"spec.targetResource: {target!r} must be namespace/kind/name, or kind/name for a"
            " cluster-scoped resource"
        )
    written = parts[-2]
    kind = table.spellings.get(written.lower())
    if kind is None:
        return UnresolvedTarget(_unknown_kind(target, written, table), kind_unknown=True)
    name = parts[-1]
    if not kind.namespaced:
        # A cluster-scoped object has no namespace: one given names the same object.
        return f"{kind.resource}/{name}"
    if len(parts) == 2:
        return UnresolvedTarget(
            f"spec.targetResource: {target!r} gives no namespace, but the kind {written!r} is"
            f" namespaced: write it as <namespace>/{written}/{name} and create the"
            " WorkflowExecution again"
        )
    return "/".join((*parts[:-2], kind.resource, name))


def _unknown_kind(target: str, written: str, table: KindTable) -> str:
    message = (
        f"spec.targetResource: {target!r} names the kind {written!r}, which this cluster's API"
        " does not serve (API discovery lists no resource of that name). Spell the kind as"
        f" kubectl accepts it ({EXAMPLE_SPELLINGS} for a Deployment); for a custom resource,"
        " install its CRD first. Then create the WorkflowExecution again"
    )
    if table.unavailable_groups:
        message += (
            f" (the discovery of {', '.join(table.unavailable_groups)} failed: if the kind is"
            " served there, try again once that API answers)"
        )
    return message


def lock_target(target: str, resolution: TargetResolution | None) -> str:
    """The target the lock is named after: the canonical one when resolved, else the target as
    written (offline tools, which have no API to ask; a WFE that failed before anything ran)."""
    return resolution if isinstance(resolution, str) else target


def target_identity(target: str, kinds: KindTable | None) -> str:
    """What two targets share when they name one object: their lock target (the target as
    written when there is no table)."""
    return target if kinds is None else lock_target(target, canonical_target(target, kinds))


def object_key(target: str) -> str:
    """The object's name, the target's last part: the same for every spelling of one object
    (its kind in any spelling, a cluster-scoped one with or without a namespace), so that an
    index on it finds them all without discovery. Callers then compare canonical targets."""
    return target.rsplit("/", 1)[-1]
