"""Which target runs a node: its override, else the first target that can run its kind and
fits its hardware profile (so a profile that outgrows local Docker lands on Batch)."""

from __future__ import annotations

from twinflow_studio.project.errors import TwinFlowError
from twinflow_studio.project.kinds import get_kind
from twinflow_studio.project.model import Node, Project, TargetConfig


class PlacementError(TwinFlowError):
    pass


def resolve_target(project: Project, node: Node) -> TargetConfig:
    kind = get_kind(node.kind)
    if kind is None:
        raise PlacementError(f"unknown node kind {node.kind!r}")
    profile = project.profiles.get(node.profile)
    if profile is None:
        raise PlacementError(f"unknown hardware profile {node.profile!r}")
    if node.target is not None:
        target = project.targets.get(node.target)
        if target is None:
            raise PlacementError(f"unknown target {node.target!r}")
        if target.kind not in kind.target_kinds:
            raise PlacementError(
                f"target {target.name!r} is {target.kind}; a {kind.name} node runs on "
                + " or ".join(kind.target_kinds)
            )
        if not target.fits(profile):
            raise PlacementError(_misfit(profile.name, target))
        return target
    candidates = [t for t in project.targets.values() if t.kind in kind.target_kinds]
    candidates.sort(key=lambda t: (kind.target_kinds.index(t.kind), t.name))
    for target in candidates:
        if target.fits(profile):
            return target
    if not candidates:
        raise PlacementError(
            f"no target can run a {kind.name} node (needs a target of kind "
            + " or ".join(kind.target_kinds)
            + ")"
        )
    raise PlacementError(
        f"hardware profile {profile.name!r} ({profile.vcpus:g} vCPU, {profile.memory_mib} MiB, "
        f"{profile.gpus} GPU, {profile.arch}) fits no target: "
        + "; ".join(_misfit(profile.name, t) for t in candidates)
    )



class Placements:
    """``resolve_target`` for the nodes of one project, worked out once per kind, profile and
    target (all an answer depends on): a large project has thousands of nodes and a handful
    of such triples, and validation, the scheduler and the trust check ask for every node."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self._answers: dict[tuple[str, str, str | None], TargetConfig | str] = {}

    def target(self, node: Node) -> TargetConfig:
        """The node's target; raises ``PlacementError`` (the same message each time) if none."""
        alike = (node.kind, node.profile, node.target)
        answer = self._answers.get(alike)
        if answer is None:
            try:
                answer = resolve_target(self._project, node)
            except PlacementError as exc:
                answer = str(exc)
            self._answers[alike] = answer
        if isinstance(answer, str):
            raise PlacementError(answer)
        return answer


def _misfit(profile_name: str, target: TargetConfig) -> str:
    return (
        f"target {target.name!r} offers {target.vcpus:g} vCPU, {target.memory_mib} MiB, "
        f"{target.gpus} GPU, {target.arch}, too little for profile {profile_name!r}"
    )
