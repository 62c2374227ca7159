"""After-sales service (seed 003, form F-31-07-01): product forms, rules, clause, catalog.

Python API (the CLI ``crm-xl product …`` is a thin layer over it):

* ``build_profile(...)`` / ``add_product(ws, profile, replace=False) -> Path``
* ``list_products(ws)``, ``load_product(ws, code)``, ``product_record(ws, code)``
* ``clause_for(profile, company=None) -> str``
* ``check_profile(profile)`` (pure rules), ``check_product_form(path)`` (findings with cells)
* ``cases_missing_products(ws)``, ``case_product_findings(ws)``, ``crm_check(ws_or_lookup, codes)``,
  ``product_index(ws)`` and the pure ``require_aftersales(known, cases)`` for ``core.crm_done``.
"""

from crm_xl.aftersales.catalog import (
    ProductRecord,
    add_product,
    build_profile,
    case_product_findings,
    cases_missing_products,
    catalog_path,
    check_product_form,
    clean_code,
    crm_check,
    list_products,
    load_product,
    parse_cost,
    parse_service,
    product_index,
    product_record,
    read_product_form,
    rebuild_catalog,
)
from crm_xl.aftersales.clause import clause_for, clause_lines, format_rial
from crm_xl.aftersales.rules import Finding, check_profile, require_aftersales

__all__ = [
    "Finding",
    "ProductRecord",
    "add_product",
    "build_profile",
    "case_product_findings",
    "cases_missing_products",
    "catalog_path",
    "check_product_form",
    "check_profile",
    "clause_for",
    "clause_lines",
    "clean_code",
    "crm_check",
    "format_rial",
    "list_products",
    "load_product",
    "parse_cost",
    "parse_service",
    "product_index",
    "product_record",
    "read_product_form",
    "rebuild_catalog",
    "require_aftersales",
]
