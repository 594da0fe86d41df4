"""Administration of the county medical community by the health bureau (卫健局): member
organisations and their departments, staff accounts, the roles, the break-glass report.

Plain functions over the caller's :class:`~countyhealth.store.Repository` and the
:class:`~countyhealth.store.AccountStore`; no web framework and no SQL here. Results are
JSON-ready dicts, shown by the web pages and returned by their JSON twins. Forms are checked
as a whole and their problems reported field by field (:class:`FormInvalid`).
"""

from .break_glass_report import break_glass_report
from .departments import DepartmentForm, add_department, department_codes, set_department_active
from .forms import PROBLEM_KEYS, FormInvalid, Problem
from .organizations import OrganizationQuery, list_organizations, organization_detail
from .role_table import role_table
from .staff import StaffAccounts, UserForm, require_privilege

__all__ = [
    "PROBLEM_KEYS",
    "DepartmentForm",
    "FormInvalid",
    "OrganizationQuery",
    "Problem",
    "StaffAccounts",
    "UserForm",
    "add_department",
    "break_glass_report",
    "department_codes",
    "list_organizations",
    "organization_detail",
    "require_privilege",
    "role_table",
    "set_department_active",
]
