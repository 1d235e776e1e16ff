"""`make chaos`: the controller under combined faults for minutes, then invariants (#20).

Pure parts: `plan` (the seeded fault schedule), `workload` (the WFE mix and what each must end
as), `invariants` (the checks over what was observed). The runner (processes, fault proxy,
kills) is built on them.
"""
