"""A process killed in the middle of a batch leaves nothing: no rows, no accepted batch."""

from __future__ import annotations

import textwrap

import pytest
import sqlalchemy as sa

from tests.store.killing import kill_when_ready

CHILD = textwrap.dedent(
    """
    import sys, time
    import sqlalchemy as sa
    from store.db import make_engine
    from store.ingest import Upload, ingest
    from tests.store import factories as f

    url, moment, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    engine = make_engine(url)
    frame = f.invoices(n, seed=11)

    def pause(msg):
        print(msg, flush=True)
        time.sleep(60)  # the parent kills us here, inside the open transaction

    if moment == "batch-row":
        @sa.event.listens_for(engine, "after_cursor_execute")
        def after(conn, cursor, statement, params, context, executemany):
            if statement.lstrip().upper().startswith("INSERT INTO BATCHES"):
                pause("batch-row-written")

    def progress(stage, done, total):
        # called as the rows reach the table; at the end every record is written, not committed
        if moment == "records" and done >= total:
            pause("records-written")

    ingest(engine, Upload("invoices", frame), uploader="cli", progress=progress)
    print("committed", flush=True)
    """
)


@pytest.mark.parametrize("moment", ["batch-row", "records"])
def test_sigkill_mid_batch_leaves_nothing(engine: sa.Engine, db_url: str, moment: str) -> None:
    kill_when_ready(CHILD, db_url, moment, "30000", ready={"batch-row-written", "records-written"})
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from invoices")).scalar_one() == 0
        assert conn.execute(sa.text("select count(*) from batches")).scalar_one() == 0
    # and the database is usable afterwards: the lock of the dead writer is gone
    from store.ingest import Upload, ingest
    from tests.store import factories as f

    res = ingest(engine, Upload("invoices", f.invoices(3)), uploader="cli")
    assert res.inserted == 3
