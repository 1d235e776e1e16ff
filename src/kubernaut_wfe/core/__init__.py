"""The pure core: models, the PipelineRun builder, validation, failure analysis, decisions.

No I/O, no asyncio, no clock reads; the handlers around it do all of that.
"""
