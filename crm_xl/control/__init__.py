"""Follow-up control (R2, R3, R10; SPEC §6): states, refresh, task lists and the manager's view.

* ``state``: pure rules — a customer's state (on time / due today / overdue / stalled / final)
  with the rule, deadline, lateness, owner and a bilingual reason;
* ``refresh``: re-reads the customer forms and writes states into the register;
* ``tasks``: each expert's task list (کارتابل), the manager's summary and its workbook;
* ``cli``: the ``overdue`` and ``refresh`` commands.
"""

from crm_xl.control.state import FollowUpStatus, Rule, evaluate

__all__ = ["FollowUpStatus", "Rule", "evaluate"]
