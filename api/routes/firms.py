"""A firm's supply-chain neighbourhood, with edge flows and verification.

A bank sees a consented firm's neighbours only as id and name, and only the edges that touch
the consented firm (DESIGN.md §7); an enterprise sees its own firm's neighbourhood; an admin any.
The edge table is built once per snapshot date and worker (api.graph_data), from the same
loaders and graph functions as the features.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query

from api.auth import forbidden
from api.deps import GraphReaderDep, StateDep
from api.graph_data import edge_rows
from api.problems import Problem
from api.schemas import PROBLEM_RESPONSES, GraphOut
from store.feature_snapshots import firm_known, snapshot_dates

router = APIRouter(tags=["graph"])


@router.get("/v1/firms/{firm_id}/graph", response_model=GraphOut, responses=PROBLEM_RESPONSES,
            summary="The firm's neighbourhood: firms within `depth` links and the edges among them")
async def firm_graph(
    firm_id: str,
    principal: GraphReaderDep,
    state: StateDep,
    depth: Annotated[int, Query(ge=1, le=3)] = 1,
) -> dict[str, Any]:
    if principal.role == "bank":
        if await state.auth.consent(principal.org, firm_id, date.today()) is None:
            raise forbidden(f"no consent in force from firm {firm_id} for bank {principal.org}")
        depth = 1
    elif principal.role == "enterprise" and firm_id != principal.org:
        raise forbidden(f"an enterprise key sees its own firm's neighbourhood only ({principal.org})")
    if not await anyio.to_thread.run_sync(firm_known, state.engine, firm_id):
        raise Problem(404, f"no firm {firm_id} is known to the service", title="Unknown firm")
    dates = await anyio.to_thread.run_sync(snapshot_dates, state.engine)
    as_of = dates[-1]
    data = await anyio.to_thread.run_sync(state.graph.get, state.engine, as_of)
    edges, names = data.edges, data.names
    import graph

    nodes, sub = graph.neighbourhood(edges, firm_id, depth)
    if principal.role == "bank":
        sub = sub[(sub["seller_id"] == firm_id) | (sub["buyer_id"] == firm_id)]
    return {
        "firm_id": firm_id,
        "as_of": as_of.isoformat(),
        "depth": depth,
        "nodes": [{"firm_id": n, "name": names.get(str(n))} for n in nodes],
        "edges": edge_rows(sub),
    }
