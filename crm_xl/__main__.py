"""``python -m crm_xl`` runs the ``crm-xl`` command."""

from crm_xl.cli.main import main

main()
