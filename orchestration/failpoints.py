"""Named crash points for the crash-safety tests (tests/reliability/).

`ARREARS_FAILPOINT=<name>` makes the process kill itself with SIGKILL when it reaches that
point — no cleanup, no `finally`, exactly like a power cut or the OOM killer. Unset, a
failpoint costs one dictionary lookup.

Three families: the fixed points below; `after_step.<step key>` after every step of the
`build_warehouse` job (a Dagster success hook, orchestration/defs/ingestion/assets.py); and, in
dbt's SQL (dbt_project/macros/failpoints.sql), `dbt.<model>.between_delete_and_insert` in every
incremental model's merge and `dbt.<model>.before_state_record` before an invoice-level model
records what it was built from — those block in the open transaction until the test kills dbt.
"""

import os
import signal

FAILPOINTS = (
    "ingest.before_commit",  # rows of a file inserted, transaction not committed
    "ingest.after_commit",  # a file committed, the next one not started
    "publish.table_rewritten",  # a partial publish: one changed table rewritten in the copy
    "publish.before_checkpoint",  # every table and the publish log written, not checkpointed
    "publish.before_replace",  # the new copy written, not yet swapped in
    "quality.results_written",  # check results inserted, watermarks not moved, not committed
    "quality.before_commit",  # results and watermarks written, not committed
    "quality.after_commit",  # an evaluation committed, Dagster not yet told
)


def failpoint(name: str) -> None:
    if os.environ.get("ARREARS_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
