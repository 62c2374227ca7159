"""``crm-xl validate``: findings with stable codes over workbooks, folders and workspaces.

Public API::

    from crm_xl.validation import validate_paths
    report = validate_paths(["path/to/workspace"])   # -> Report (pydantic)
    report.exit_code, report.counts, report.findings

See docs/validate-json.md for the JSON form and the codes catalogue (``CODES``).
"""

from crm_xl.validation.annotate import annotate, apply_fixes
from crm_xl.validation.findings import CODES, FIXABLE, Finding, Fix, Report
from crm_xl.validation.run import ValidateError, check_file, validate_paths

__all__ = [
    "CODES",
    "FIXABLE",
    "Finding",
    "Fix",
    "Report",
    "ValidateError",
    "annotate",
    "apply_fixes",
    "check_file",
    "validate_paths",
]
