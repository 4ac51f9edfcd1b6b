"""The point of the simulator: the trade graph carries default information that profiles do not.

Three scorers on the same firms and dates: a LightGBM on intangibles and financials only, the
same plus a few graph columns computed here from the documents (customer distress, core
dependence, payment lateness, shipment coverage), and the truth's own pd_12m (the oracle).
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from training.simulator import SimConfig, simulate

PROFILE = [
    "invention_patents", "utility_patents", "design_patents", "trademarks", "software_copyrights",
    "tech_staff", "total_staff", "rd_int", "high_tech", "tech_sme", "spec", "age",
    "leverage", "margin", "current_ratio", "ocf_margin",
]
GRAPH = ["customer_distress", "core_dependence", "own_late", "received_late", "ship_ratio", "n_buyers", "sales"]


def _features(frames: dict[str, pd.DataFrame], t: pd.Timestamp) -> pd.DataFrame:
    firms = frames["firms"].set_index("firm_id")
    x = pd.DataFrame(index=firms.index)
    it = frames["intangibles"]
    it = it[it["as_of"] <= t].sort_values("as_of").groupby("firm_id").last()
    for c in PROFILE[:7]:
        x[c] = it[c].astype(float)
    x["rd_int"] = it["rd_expense_minor"] / it["revenue_minor"].clip(lower=1)
    x["high_tech"] = it["high_tech"].astype(float)
    x["tech_sme"] = it["tech_sme"].astype(float)
    x["spec"] = it["specialised_level"].map({"none": 0, "province": 1, "national": 2}).astype(float)
    x["age"] = (t - firms["founded_on"]).dt.days
    fi = frames["financials"]
    fi = fi[fi["reported_on"] <= t].sort_values("fiscal_year").groupby("firm_id").last()
    x["leverage"] = fi["total_liabilities_minor"] / fi["total_assets_minor"]
    x["margin"] = fi["net_profit_minor"] / fi["revenue_minor"]
    x["current_ratio"] = fi["current_assets_minor"] / fi["current_liabilities_minor"].clip(lower=1)
    x["ocf_margin"] = fi["operating_cash_flow_minor"] / fi["revenue_minor"]

    lo = t - pd.DateOffset(months=6)
    inv_all = frames["invoices"]
    inv_all = inv_all[inv_all["issue_date"] <= t]
    inv = inv_all[(inv_all["issue_date"] > lo) & (inv_all["kind"] == "normal")]
    pay = frames["payments"]
    pay = pay[(pay["paid_on"] <= t) & (pay["paid_on"] > lo) & pay["invoice_id"].notna()]
    j = pay.merge(inv_all[["invoice_id", "due_date"]], on="invoice_id")
    j["late"] = (j["paid_on"] - j["due_date"]).dt.days
    buyer_late = j.groupby("payer_id")["late"].mean()
    ce = frames["credit_events"]
    distressed = set(buyer_late[buyer_late > 30].index) | set(ce.loc[ce["event_date"] <= t, "firm_id"])
    core = set(firms.index[firms["is_core"]])
    sales = inv.groupby("seller_id")["total_minor"].sum()

    def share(mask: pd.Series) -> pd.Series:
        part = inv[mask].groupby("seller_id")["total_minor"].sum().reindex(sales.index).fillna(0)
        return part / sales

    x["customer_distress"] = share(inv["buyer_id"].isin(distressed))
    x["core_dependence"] = share(inv["buyer_id"].isin(core))
    x["own_late"] = buyer_late
    x["received_late"] = j.groupby("payee_id")["late"].mean()
    sh = frames["shipments"]
    sh = sh[(sh["ship_date"] <= t) & (sh["ship_date"] > lo)]
    x["ship_ratio"] = (sh.groupby("shipper_id")["goods_value_minor"].sum() / sales).clip(upper=2)
    x["n_buyers"] = inv.groupby("seller_id")["buyer_id"].nunique()
    x["sales"] = np.log1p(sales)
    return x


def _oof_auc(data: pd.DataFrame, cols: list[str]) -> float:
    pred = np.zeros(len(data))
    groups = data.index.to_numpy()
    for train, test in GroupKFold(4).split(data, data["y"], groups):
        model = lgb.LGBMClassifier(
            n_estimators=200, learning_rate=0.03, num_leaves=7, min_child_samples=40,
            subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=0, n_jobs=1,
            verbose=-1,
        )
        model.fit(data.iloc[train][cols], data["y"].iloc[train])
        pred[test] = np.asarray(model.predict_proba(data.iloc[test][cols]))[:, 1]
    return float(roc_auc_score(data["y"], pred))


def test_graph_adds_auc_and_oracle_beats_both() -> None:
    res = simulate(SimConfig(n_firms=5000, months=24, seed=21))
    frames = dict(res.frames)
    ev = res.truth["events"]
    pdt = res.truth["pd"]
    months = sorted(pdt["month_end"].unique())
    parts = []
    for i in (5, 11):  # month ends whose 12-month label window lies inside the period
        t = pd.Timestamp(months[i])
        snap = pdt[pdt["month_end"] == t].set_index("firm_id")
        x = _features(frames, t).loc[snap.index]
        window = ev[(ev["event_date"] > t) & (ev["event_date"] <= t + pd.DateOffset(months=12))]
        x["y"] = x.index.isin(set(window["firm_id"])).astype(int)
        x["pd_12m"] = snap["pd_12m"]
        parts.append(x)
    data = pd.concat(parts)
    assert data["y"].sum() > 150
    oracle = float(roc_auc_score(data["y"], data["pd_12m"]))
    profile_only = _oof_auc(data, PROFILE)
    with_graph = _oof_auc(data, PROFILE + GRAPH)
    print(f"AUC oracle={oracle:.3f} profile-only={profile_only:.3f} with-graph={with_graph:.3f}")
    assert with_graph > profile_only + 0.02
    assert oracle > with_graph + 0.03
    assert profile_only > 0.55  # intangibles and financials do carry some information
