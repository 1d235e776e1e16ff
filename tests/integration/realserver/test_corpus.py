"""The hostile-input corpus (`tests/corpus/wfe_specs.yaml`) on the real API server: each spec is
refused at its field, or admitted and then failed by the controller with its reason (before its
run, or from what its run reports), or admitted and run to the end with its audit trail. Nothing
stalls."""

from __future__ import annotations

import pytest

from kubernaut_wfe_tools.testing.corpus import SpecCase, spec_cases
from kubernaut_wfe_tools.testing.targets import WFE_API

from .conftest import ServerStack  # noqa: TID252

pytestmark = pytest.mark.timeout(240)

CASES = spec_cases()
REFUSED = [case for case in CASES if case.refused_at is not None]
ADMITTED = [case for case in CASES if case.refused_at is None]
COLLECTION = f"{WFE_API}/namespaces/default/workflowexecutions"


@pytest.mark.parametrize("case", REFUSED, ids=[case.name for case in REFUSED])
async def test_the_api_server_refuses_at_the_field(stack: ServerStack, case: SpecCase) -> None:
    answer = await stack.client.post(
        COLLECTION, params={"dryRun": "All"}, json=case.document("corpus-refused")
    )
    assert answer.status_code == 422, answer.text
    fields = [cause.get("field") for cause in answer.json()["details"]["causes"]]
    assert case.refused_at in fields, answer.text


async def test_what_is_admitted_ends_as_the_corpus_says(stack: ServerStack) -> None:
    await stack.start_controller()
    names = {}
    for index, case in enumerate(ADMITTED):
        name = f"corpus-admitted-{index}"
        answer = await stack.client.post(COLLECTION, json=case.document(name))
        assert answer.status_code == 201, f"{case.name}: {answer.text}"
        names[name] = case
    for name, case in names.items():
        if (reason := case.controller or case.run_fails) is not None:
            failed = await stack.wait_phase(name, "Failed")
            assert failed["status"]["failureDetails"]["reason"] == reason, case.name
            continue
        await stack.wait_phase(name, "Completed")

        async def audited(correlation: str = f"rr-{name}") -> bool:
            return len(await stack.audit_events(correlation)) >= 3

        await stack.wait_for(audited, what=f"the audit trail of {case.name}")
