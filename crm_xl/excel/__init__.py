"""Excel integration: the macro-enabled register (VBA project, panel, buttons) and xlwings glue."""
