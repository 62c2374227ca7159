"""crm_xl: an Excel-centric CRM toolkit for the sales unit (ISO forms F-31-08-01/02, F-31-07-01)."""

__version__ = "0.1.0"
