# Issue 13 acceptance 4: every workbook the suite writes is scanned for formula cells.
pytest_plugins = ["helpers_formulas"]
