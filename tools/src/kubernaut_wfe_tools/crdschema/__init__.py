"""Offline CRD schema checks: pruning, openAPIV3Schema validation and CEL rules.

Used by `kubernaut-wfe validate`, the Kubernetes API emulator and the tests. Pure: no network.
"""

from kubernaut_wfe_tools.crdschema.cel import RuleCompileError
from kubernaut_wfe_tools.crdschema.errors import CauseType, FieldError
from kubernaut_wfe_tools.crdschema.loading import load_crd_documents, packaged_crd_path
from kubernaut_wfe_tools.crdschema.metadata import validate_object_meta
from kubernaut_wfe_tools.crdschema.schema import CustomResourceSchema, PrinterColumn, ResourceNames

__all__ = [
    "CauseType",
    "CustomResourceSchema",
    "FieldError",
    "PrinterColumn",
    "ResourceNames",
    "RuleCompileError",
    "load_crd_documents",
    "packaged_crd_path",
    "validate_object_meta",
]
