"""A Tekton Pipelines v1.7 stand-in for tests and the sandbox.

It plays the two test bundles (`hello-world`, `failing` with `FAILURE_MODE`) by writing the
exact TaskRuns and status documents Tekton writes (`tekton-status.md`); any other bundle cannot
be resolved (`CouldntGetPipeline`). `documents` and `timeline` are pure; `driver` does the I/O.
"""

from kubernaut_wfe_tools.tekton_simulator.clock import Clock, LoopClock, SystemClock
from kubernaut_wfe_tools.tekton_simulator.driver import (
    TektonSimulator,
    companion,
    run_simulator,
)
from kubernaut_wfe_tools.tekton_simulator.scenario import (
    Outcome,
    Scenario,
    ScenarioError,
    read_scenario,
)
from kubernaut_wfe_tools.tekton_simulator.timeline import Pacing, Write, WriteKind, build_timeline

__all__ = [
    "Clock",
    "LoopClock",
    "Outcome",
    "Pacing",
    "Scenario",
    "ScenarioError",
    "SystemClock",
    "TektonSimulator",
    "Write",
    "WriteKind",
    "build_timeline",
    "companion",
    "read_scenario",
    "run_simulator",
]
