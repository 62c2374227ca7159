"""The rest of the CRM (seed 002/004): complaints (ISO 10002/10003), satisfaction surveys
(ISO 10004), sales plans against actual sales, the party database export and lead import.

Each area keeps its records in its own workbook at the workspace root, declared with the
same schema classes as the ISO forms (``extras.forms``), so ``layout`` lays them out and
``workbook.FormBook`` reads and writes them unchanged.
"""
