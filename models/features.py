"""The one pure feature function (DESIGN §7): flow and profile frames as of T -> feature frame.

Training and serving both call `build_feature_frame`, so what is served is what was trained.
Graph features come from `graph`; the intangible-asset, financial and firm-profile features are
defined here, together with their dictionary entries, because they describe the firm rather than
its trade network. Everything is NaN where unknown: LightGBM routes missing values itself, and
"no financials" is information a bank wants the model to see, not a value to impute.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from common.progress import Progress
from graph.dictionary import Direction, FeatureSpec
from graph.prepare import money_cny as graph_money_cny

if TYPE_CHECKING:
    from graph import GraphParams

INDEX_NAME = "firm_id"
SPECIALISED_LEVELS = {"none": 0.0, "province": 1.0, "national": 2.0}

_D = Direction

PROFILE_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "intang_patents_per_staff", "intangibles",
        "Granted patents (invention, utility, design) per employee",
        "每名职工拥有的授权专利数（发明、实用新型、外观设计）",
        _D.RISK_DOWN,
        "Only {value} granted patents per employee",
        "人均授权专利仅{value}件",
        "index",
    ),
    FeatureSpec(
        "intang_invention_patents", "intangibles",
        "Granted invention patents", "授权发明专利数",
        _D.RISK_DOWN,
        "{value} granted invention patents",
        "授权发明专利{value}件",
        "count",
    ),
    FeatureSpec(
        "intang_software_copyrights", "intangibles",
        "Registered software copyrights", "登记软件著作权数",
        _D.RISK_DOWN,
        "{value} registered software copyrights",
        "登记软件著作权{value}件",
        "count",
    ),
    FeatureSpec(
        "intang_trademarks", "intangibles",
        "Registered trademarks", "注册商标数",
        _D.RISK_DOWN,
        "{value} registered trademarks",
        "注册商标{value}件",
        "count",
    ),
    FeatureSpec(
        "intang_rd_intensity", "intangibles",
        "R&D expense as a share of revenue", "研发费用占营业收入比重",
        # Unconstrained: heavy R&D spending on thin revenue can be a cash burn, not a strength.
        _D.NONE,
        "R&D expense is {value} of revenue",
        "研发费用占营业收入的{value}",
        "share",
    ),
    FeatureSpec(
        "intang_tech_staff_share", "intangibles",
        "Share of employees who are technical staff", "科技人员占职工总数比重",
        _D.NONE,
        "Technical staff are {value} of employees",
        "科技人员占职工总数的{value}",
        "share",
    ),
    FeatureSpec(
        "intang_high_tech", "intangibles",
        "Certified high-tech enterprise (1 = yes)", "是否为高新技术企业（1 = 是）",
        _D.RISK_DOWN,
        "High-tech enterprise certification: {value} (1 = yes, 0 = no)",
        "高新技术企业认定：{value}（1为是，0为否）",
        "count",
    ),
    FeatureSpec(
        "intang_specialised_level", "intangibles",
        "专精特新 level: 0 none, 1 provincial, 2 national little giant",
        "专精特新等级：0无，1省级，2国家级专精特新“小巨人”",
        _D.RISK_DOWN,
        "Specialised-and-innovative (专精特新) level {value} (0 none, 1 provincial, 2 national)",
        "专精特新等级为{value}（0无，1省级，2国家级）",
        "count",
    ),
    FeatureSpec(
        "intang_tech_sme", "intangibles",
        "Registered technology-based SME (1 = yes)", "是否为科技型中小企业（1 = 是）",
        _D.RISK_DOWN,
        "Technology-based SME registration: {value} (1 = yes, 0 = no)",
        "科技型中小企业入库：{value}（1为是，0为否）",
        "count",
    ),
    FeatureSpec(
        "intang_record_age_days", "intangibles",
        "Days since the intangible-asset record was dated", "知识产权与科技资质信息距今天数",
        _D.NONE,
        "Intangible-asset information is {value} days old",
        "知识产权与科技资质信息已有{value}天未更新",
        "days",
    ),
    FeatureSpec(
        "fin_leverage", "financials",
        "Total liabilities / total assets", "资产负债率（负债合计/资产总计）",
        _D.RISK_UP,
        "Liabilities are {value} of total assets",
        "资产负债率为{value}",
        "share",
    ),
    FeatureSpec(
        "fin_current_ratio", "financials",
        "Current assets / current liabilities", "流动比率（流动资产/流动负债）",
        _D.RISK_DOWN,
        "Current ratio is {value}",
        "流动比率为{value}",
        "index",
    ),
    FeatureSpec(
        "fin_roa", "financials",
        "Net profit / total assets", "总资产收益率（净利润/资产总计）",
        _D.RISK_DOWN,
        "Return on assets is {value}",
        "总资产收益率为{value}",
        "share",
    ),
    FeatureSpec(
        "fin_net_margin", "financials",
        "Net profit / revenue", "销售净利率（净利润/营业收入）",
        _D.RISK_DOWN,
        "Net margin is {value}",
        "销售净利率为{value}",
        "share",
    ),
    FeatureSpec(
        "fin_ocf_to_liabilities", "financials",
        "Operating cash flow / total liabilities", "经营活动现金流量净额/负债合计",
        _D.RISK_DOWN,
        "Operating cash flow covers {value} of liabilities",
        "经营活动现金流量净额为负债合计的{value}",
        "share",
    ),
    FeatureSpec(
        "fin_log_revenue", "financials",
        "Natural log of (1 + annual revenue in CNY)", "年营业收入（元）加一的自然对数",
        _D.RISK_DOWN,
        "Reported annual revenue is small (log {value})",
        "报表营业收入规模较小（对数值{value}）",
        "index",
    ),
    FeatureSpec(
        "fin_revenue_growth", "financials",
        "Revenue growth over the previous fiscal year", "营业收入同比增长率",
        _D.NONE,
        "Revenue changed by {value} on the previous year",
        "营业收入同比变动{value}",
        "share",
    ),
    FeatureSpec(
        "fin_has_financials", "financials",
        "Financial statements available as of the date (1 = yes)", "截至评分日是否有财务报表（1 = 有）",
        _D.RISK_DOWN,
        "Financial statements available: {value} (1 = yes, 0 = no)",
        "是否提供财务报表：{value}（1为有，0为无）",
        "count",
    ),
    FeatureSpec(
        "firm_age_years", "firm_profile",
        "Years since the firm was founded", "企业成立年限（年）",
        _D.RISK_DOWN,
        "The firm was founded only {value} years ago",
        "企业成立仅{value}年",
        "index",
    ),
    FeatureSpec(
        "firm_industry_section", "firm_profile",
        "Industry section (GB/T 4754 letter)", "国民经济行业门类（GB/T 4754）",
        _D.NONE,
        "Industry section {value}",
        "所属行业门类{value}",
        "",
        categorical=True,
    ),
)


def feature_dictionary() -> tuple[FeatureSpec, ...]:
    """graph's entries followed by ours: the one dictionary a model freezes a copy of."""
    import graph

    graph_specs: tuple[FeatureSpec, ...] = tuple(getattr(graph, "FEATURES", ()))
    ours = {s.name for s in PROFILE_FEATURES}
    clash = ours.intersection(s.name for s in graph_specs)
    if clash:
        raise ValueError(f"feature names defined both in graph and models: {sorted(clash)}")
    return graph_specs + PROFILE_FEATURES


def build_feature_frame(
    frames: Mapping[str, pd.DataFrame],
    as_of: date,
    graph_params: GraphParams | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Graph features joined with the profile features, one row per firm, as of `as_of`."""
    import graph

    graph_frame = graph.build_features(frames, as_of, graph_params, progress)
    return combine_features(graph_frame, profile_features(frames, as_of))


def combine_features(graph_frame: pd.DataFrame, profile_frame: pd.DataFrame) -> pd.DataFrame:
    """Outer join on firm id: graph's rows plus registry firms graph may not know about."""
    index = graph_frame.index.union(profile_frame.index)
    out = graph_frame.reindex(index).join(profile_frame.reindex(index))
    out.index.name = INDEX_NAME
    # A firm known only from documents has no profile row: it has no financials either.
    if "fin_has_financials" in out:
        out["fin_has_financials"] = out["fin_has_financials"].fillna(0.0)
    return out


def profile_features(frames: Mapping[str, pd.DataFrame], as_of: date) -> pd.DataFrame:
    """Intangible, financial and firm features for every firm seen in the profile frames."""
    t = pd.Timestamp(as_of)
    parts: list[pd.DataFrame] = []
    if "firms" in frames:
        parts.append(firm_features(frames["firms"], t))
    if "intangibles" in frames:
        parts.append(intangible_features(frames["intangibles"], t))
    if "financials" in frames:
        parts.append(financial_features(frames["financials"], t))
    names = [s.name for s in PROFILE_FEATURES]
    if not parts:
        return pd.DataFrame(columns=names, index=pd.Index([], name=INDEX_NAME), dtype=float)
    index = parts[0].index
    for p in parts[1:]:
        index = index.union(p.index)
    out = pd.concat([p.reindex(index) for p in parts], axis=1)
    for name in names:
        if name not in out:
            out[name] = np.nan
    out = out[names]
    out["fin_has_financials"] = out["fin_has_financials"].fillna(0.0)
    out.index.name = INDEX_NAME
    return out


def money_cny(frame: pd.DataFrame, field: str) -> pd.Series:
    """A money field in yuan, aligned with the frame (graph's one conversion rule)."""
    return pd.Series(graph_money_cny(frame, field), index=frame.index, dtype="float64")


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num/den, NaN where the denominator is zero or unknown (no infinities reach the model)."""
    d = den.where(den != 0)
    return (num / d).astype("float64")


def _dates(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col, errors="coerce")


def latest_as_of(frame: pd.DataFrame, date_col: str, t: pd.Timestamp) -> pd.DataFrame:
    """Each firm's latest row dated on or before t (idempotent on an already-selected frame)."""
    dates = _dates(frame[date_col])
    kept = frame.assign(**{date_col: dates}).loc[(dates <= t).to_numpy()]
    kept = kept.sort_values(["firm_id", date_col], kind="stable")
    return kept.drop_duplicates("firm_id", keep="last").set_index("firm_id")


def firm_features(firms: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    f = firms.drop_duplicates("firm_id", keep="last").set_index("firm_id")
    founded = _dates(f["founded_on"])
    age = (t - founded).dt.days / 365.25
    out = pd.DataFrame(index=f.index)
    out["firm_age_years"] = age.where(age >= 0).astype("float64")
    section = f["industry_code"].astype("string").str.slice(0, 1).str.upper()
    out["firm_industry_section"] = section.astype(object).where(section.notna(), None)
    return out


def intangible_features(intangibles: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    it = latest_as_of(intangibles, "as_of", t)
    num = {
        c: it[c].astype("float64")
        for c in (
            "invention_patents", "utility_patents", "design_patents", "trademarks",
            "software_copyrights", "tech_staff", "total_staff",
        )
    }
    patents = num["invention_patents"] + num["utility_patents"] + num["design_patents"]
    out = pd.DataFrame(index=it.index)
    out["intang_patents_per_staff"] = _ratio(patents, num["total_staff"])
    out["intang_invention_patents"] = num["invention_patents"]
    out["intang_software_copyrights"] = num["software_copyrights"]
    out["intang_trademarks"] = num["trademarks"]
    out["intang_rd_intensity"] = _ratio(money_cny(it, "rd_expense"), money_cny(it, "revenue"))
    out["intang_tech_staff_share"] = _ratio(num["tech_staff"], num["total_staff"])
    out["intang_high_tech"] = _flag(it["high_tech"])
    level = it["specialised_level"].astype("string").str.strip().str.lower()
    out["intang_specialised_level"] = level.map(SPECIALISED_LEVELS).astype("float64")
    out["intang_tech_sme"] = _flag(it["tech_sme"])
    out["intang_record_age_days"] = (t - it["as_of"]).dt.days.astype("float64")
    return out


def _flag(col: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
        return col.astype("float64")
    text = col.astype("string").str.strip().str.lower()
    return text.map({"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0}).astype("float64")


def financial_features(financials: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
    """Ratios from each firm's latest statement known at T. `reported_on` is filled by the
    store (the filing rule lives in store.pointintime); a statement without one is not known."""
    fin = financials.copy()
    fin["_usable_on"] = _dates(fin["reported_on"])
    fin = fin.loc[(fin["_usable_on"] <= t).to_numpy()]
    fin = fin.sort_values(["firm_id", "fiscal_year", "_usable_on"], kind="stable")
    fin = fin.drop_duplicates(["firm_id", "fiscal_year"], keep="last")
    vals = pd.DataFrame(
        {
            m: money_cny(fin, m).to_numpy()
            for m in (
                "revenue", "net_profit", "total_assets", "total_liabilities",
                "current_assets", "current_liabilities", "operating_cash_flow",
            )
        },
        index=pd.MultiIndex.from_arrays(
            [fin["firm_id"].to_numpy(), fin["fiscal_year"].astype("int64").to_numpy()],
            names=["firm_id", "fiscal_year"],
        ),
    )
    latest = vals.groupby(level="firm_id").tail(1)
    prev_key = pd.MultiIndex.from_arrays(
        [latest.index.get_level_values(0), latest.index.get_level_values(1) - 1]
    )
    prev_revenue = vals["revenue"].reindex(prev_key).to_numpy()
    latest = latest.droplevel("fiscal_year")
    out = pd.DataFrame(index=latest.index)
    out["fin_leverage"] = _ratio(latest["total_liabilities"], latest["total_assets"])
    out["fin_current_ratio"] = _ratio(latest["current_assets"], latest["current_liabilities"])
    out["fin_roa"] = _ratio(latest["net_profit"], latest["total_assets"])
    out["fin_net_margin"] = _ratio(latest["net_profit"], latest["revenue"])
    out["fin_ocf_to_liabilities"] = _ratio(
        latest["operating_cash_flow"], latest["total_liabilities"]
    )
    out["fin_log_revenue"] = np.log1p(latest["revenue"].clip(lower=0))
    prev = pd.Series(prev_revenue, index=latest.index)
    out["fin_revenue_growth"] = _ratio(latest["revenue"] - prev, prev.abs())
    out["fin_has_financials"] = 1.0
    out.index.name = INDEX_NAME
    return out
