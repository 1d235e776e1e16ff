"""kubernaut-wfe: the WorkflowExecution controller of the kubernaut remediation platform."""

__version__ = "0.1.0"
