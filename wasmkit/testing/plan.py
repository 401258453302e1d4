"""From a suite to a plan: which filter variants an engine must configure, case by case.

Cases that share (configuration, root id, failure policy) share one filter
variant - in Envoy one listener, in the emulator one VM - so a run needs one
proxy however many configurations the suite tries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wasmkit._validation import ConfigValue
from wasmkit.envoy.harness import FilterVariant as FilterVariant  # defined with the layout
from wasmkit.envoy.harness import vm_id
from wasmkit.errors import UsageError
from wasmkit.filter import FailurePolicy, plugin_configuration
from wasmkit.module import ModuleInfo
from wasmkit.testspec import Case, Suite


@dataclass(frozen=True)
class PlannedCase:
    index: int
    case: Case
    variant: FilterVariant


@dataclass(frozen=True)
class TestPlan:
    __test__ = False

    filter_name: str
    module_path: Path
    module: ModuleInfo | None
    variants: tuple[FilterVariant, ...]
    cases: tuple[PlannedCase, ...]
    #: The path the user gave (a .wat source, say), for reports; module_path is what runs.
    source_path: Path | None = None
    #: Clusters the filter may call on every engine (the suite's ``clusters``).
    clusters: tuple[str, ...] = ()
    #: gRPC services the filter may call on every engine (the suite's ``grpcClusters``).
    grpc_clusters: tuple[str, ...] = ()
    #: The route's filter metadata (the suite's ``routeMetadata``).
    route_metadata: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def display_path(self) -> Path:
        return self.source_path or self.module_path

    def vm_id(self, variant: FilterVariant) -> str:
        """Each variant's VM id, alike on both engines (Envoy prints it in the filter's lines)."""
        return vm_id(self.filter_name, variant.index)


def make_plan(
    suite: Suite,
    module_path: Path,
    module: ModuleInfo | None,
    *,
    filter_name: str = "wasmkit-filter",
    root_id: str | None = None,
    config: ConfigValue | None = None,
    select: str | None = None,
    source_path: Path | None = None,
) -> TestPlan:
    """Resolve every case's effective filter settings.

    ``root_id`` and ``config`` (from the command line) override the suite's
    defaults but not a case's own values. ``select`` keeps cases whose name
    contains it.
    """
    default_root = root_id if root_id is not None else suite.root_id
    default_config = config if config is not None else suite.config
    variants: dict[tuple[str, str, FailurePolicy], FilterVariant] = {}
    planned: list[PlannedCase] = []
    for index, case in enumerate(suite.cases):
        if select and select not in case.name:
            continue
        effective_root = case.root_id if case.root_id is not None else default_root
        key = (
            effective_root or "",
            plugin_configuration(case.config if case.config is not None else default_config),
            case.failure_policy or suite.failure_policy,
        )
        if key not in variants:
            variants[key] = FilterVariant(len(variants), *key)
        planned.append(PlannedCase(index, case, variants[key]))
    if not planned:
        raise UsageError(
            f"no test case matches {select!r}",
            hint="run without -k to see every case's name",
        )
    return TestPlan(
        filter_name,
        module_path,
        module,
        tuple(variants.values()),
        tuple(planned),
        source_path,
        tuple(suite.clusters),
        tuple(suite.grpc_clusters),
        suite.route_metadata,
    )


#: What a declared cluster answers once the case's canned answers for it are used up.
NO_ANSWER_STATUS = 503
NO_ANSWER_BODY = b"no canned answer left"
#: ... and a declared gRPC cluster's: UNAVAILABLE, with the same words as its message.
NO_GRPC_ANSWER_STATUS = 14


def calls_need_emulator(plan: TestPlan, planned: PlannedCase) -> bool:
    """Whether a case's canned HTTP-call answers exist only in the emulator: an answer to any
    cluster, a timeout, or a cluster the suite does not declare (only declared clusters get
    a canned upstream in Envoy)."""
    calls = planned.case.http_calls
    return calls is not None and any(
        reply.cluster is None or reply.timeout or reply.cluster not in plan.clusters
        for reply in calls
    )


def emulator_only(plan: TestPlan, planned: PlannedCase) -> tuple[str, ...]:
    """The test-file keys of a case that only the emulator can give: canned HTTP-call answers
    (see calls_need_emulator) and property overrides (Envoy computes its properties itself)."""
    return tuple(
        key
        for key, only in (
            ("httpCalls", calls_need_emulator(plan, planned)),
            ("properties", planned.case.properties is not None),
        )
        if only
    )


def refusal_variants(plan: TestPlan) -> set[int]:
    """The variants a case expects the proxy to refuse (``expect.loadError``): engines load
    them on their own, so that the others still run."""
    return {pc.variant.index for pc in plan.cases if pc.case.expect.load_error is not None}
