"""A unit's pod as Kubernetes reports it, read with lightkube; every call bounded.

A pod's UID and its containers' restart counts tell a new pod and a restarted
container from the old ones, so that a count of starts "in this pod" is
never read across two of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import Pod

from tests.integration.waits import bounded, poll_until

NOT_FOUND = 404


@dataclass(frozen=True)
class PodState:
    """The unit's pod as Kubernetes reports it."""

    uid: str
    restarts: dict[str, int]  # per container
    ready: bool

    @property
    def incarnation(self) -> str:
        """The pod and each container's run in it, as one word: changes with any restart."""
        counts = ",".join(f"{name}={count}" for name, count in sorted(self.restarts.items()))
        return f"{self.uid}:{counts}"


def uid_of(incarnation: str) -> str:
    """The pod UID an :attr:`PodState.incarnation` names."""
    return incarnation.split(":", 1)[0]


def pod_name(unit: str) -> str:
    """The pod Juju runs ``unit`` in (``app/1`` in ``app-1``)."""
    return unit.replace("/", "-")


async def pod_state(kube: AsyncClient, namespace: str, pod: str) -> PodState:
    """The pod's UID, its containers' restart counts, and whether all of them are ready."""
    found = await bounded(kube.get(Pod, pod, namespace=namespace), f"reading the pod {pod}")
    assert found.metadata is not None
    assert found.metadata.uid is not None
    statuses = (found.status.containerStatuses if found.status else None) or []
    return PodState(
        uid=found.metadata.uid,
        restarts={status.name: status.restartCount for status in statuses},
        ready=bool(statuses) and all(status.ready for status in statuses),
    )


async def new_pod(kube: AsyncClient, namespace: str, pod: str, old_uid: str) -> PodState:
    """Wait for a pod with another UID whose containers are all ready; it."""
    found: list[PodState] = []

    async def replaced() -> bool:
        try:
            state = await pod_state(kube, namespace, pod)
        except ApiError as e:
            if e.status.code == NOT_FOUND:  # briefly absent while it is recreated
                return False
            raise
        found[:] = [state]
        return state.uid != old_uid and state.ready

    await poll_until(replaced, f"a new, ready pod {pod}")
    return found[0]


async def delete_pod(kube: AsyncClient, namespace: str, pod: str) -> PodState:
    """Delete the pod as a node failure or an eviction would; wait for its replacement."""
    old = await pod_state(kube, namespace, pod)
    await bounded(kube.delete(Pod, pod, namespace=namespace), f"deleting {pod}")
    return await new_pod(kube, namespace, pod, old.uid)
