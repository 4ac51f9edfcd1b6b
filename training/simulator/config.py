"""The knobs of the simulated regional supply chain, and the reference tables it draws from.

Every behaviour of the simulator that a reader might want to change is a field here, with its
default and its meaning next to it, so the README table is generated from one place and a test
can build a smaller or harsher world without touching the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

# Chongqing districts (GB/T 2260-2007 and later revisions; 5001xx municipal districts).
REGION_CODES: tuple[tuple[str, str], ...] = (
    ("500101", "万州"),
    ("500102", "涪陵"),
    ("500103", "渝中"),
    ("500104", "大渡口"),
    ("500105", "江北"),
    ("500106", "沙坪坝"),
    ("500107", "九龙坡"),
    ("500108", "南岸"),
    ("500109", "北碚"),
    ("500110", "綦江"),
    ("500111", "大足"),
    ("500112", "渝北"),
    ("500113", "巴南"),
    ("500114", "黔江"),
    ("500115", "长寿"),
    ("500116", "江津"),
    ("500117", "合川"),
    ("500118", "永川"),
    ("500119", "南川"),
    ("500120", "璧山"),
    ("500151", "铜梁"),
    ("500152", "潼南"),
    ("500153", "荣昌"),
    ("500154", "开州"),
    ("500155", "梁平"),
    ("500156", "武隆"),
)


@dataclass(frozen=True)
class Cluster:
    """One of the "33618" clusters with the GB/T 4754-2017 codes its firms carry."""

    slug: str
    name_zh: str
    maker_codes: tuple[str, ...]  # manufacturers along the chain (core and suppliers)
    dealer_code: str  # wholesale/retail code for the downstream dealers
    tech: float  # mean technology intensity of its firms (latent, standard units)
    weight: float  # relative number of core firms


CLUSTERS: tuple[Cluster, ...] = (
    Cluster("automotive", "汽车", ("C3612", "C3670", "C3611"), "F5261", 0.6, 3.0),
    Cluster("electronics", "电子", ("C3911", "C3971", "C3982"), "F5176", 0.9, 3.0),
    Cluster("advanced_materials", "新材料", ("C2651", "C3130", "C3216"), "F5165", 0.3, 2.0),
    Cluster("smart_equipment", "智能装备", ("C3421", "C3491", "C3441"), "F5174", 0.7, 1.5),
    Cluster("food_processing", "食品", ("C1310", "C1391", "C1459"), "F5129", -0.4, 1.5),
    Cluster("software_services", "软件信息", ("I6510", "I6520", "I6531"), "F5176", 1.3, 1.0),
    Cluster("new_display", "新型显示", ("C3974", "C3976"), "F5176", 1.0, 0.7),
    Cluster("motorcycles", "摩托车", ("C3751", "C3752"), "F5264", 0.2, 0.7),
    Cluster("light_alloys", "轻合金", ("C3252", "C3216"), "F5165", 0.1, 0.6),
    Cluster("light_textiles", "轻纺", ("C1713", "C1810"), "F5132", -0.5, 0.6),
    Cluster("biomedicine", "生物医药", ("C2720", "C2761"), "F5151", 1.2, 0.6),
    Cluster("new_energy_storage", "新能源储能", ("C3841", "C3825"), "F5179", 1.0, 0.8),
)

# Master scale of external ratings given to core firms (best first), as in store validation.
CORE_RATINGS: tuple[str, ...] = ("AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-")

# Roles, in the order firms are numbered.
CORE, TIER1, TIER2, TIER3, TIER4, DEALER, INDEPENDENT = range(7)
ROLE_NAMES: tuple[str, ...] = ("core", "tier1", "tier2", "tier3", "tier4", "dealer", "independent")

# Fraud types (0 = honest).
FRAUD_TYPES: tuple[str, ...] = (
    "none",
    "circular_trade",
    "invoice_without_shipment",
    "double_invoicing",
    "young_shell",
)

CREDIT_EVENT_MIX: tuple[tuple[str, float], ...] = (
    ("default_90dpd", 0.75),
    ("court_enforcement", 0.10),
    ("bankruptcy", 0.08),
    ("restructuring", 0.05),
    ("write_off", 0.02),
)


@dataclass(frozen=True)
class SimConfig:
    """Parameters of the simulated world; every default is the one `chaincredit simulate` uses.

    The world: core enterprises in the 33618 clusters buy from tiers 1-4 of suppliers and sell to
    dealers; independents trade among themselves and sell into the chains. Each firm has a latent
    health (AR(1) per month); the monthly default hazard is log-linear in poor health, in the
    distress of the firm's customers, in the share of its sales paid late, in fraud and in youth.
    """

    n_firms: int = field(default=10_000, metadata={"doc": "number of firms in the region"})
    months: int = field(default=24, metadata={"doc": "simulated months (documents dated inside)"})
    seed: int = field(default=7, metadata={"doc": "seed of the single numpy Generator"})
    start: date = field(default=date(2023, 1, 1), metadata={"doc": "first day (a month start)"})
    core_share: float = field(default=0.005, metadata={"doc": "share of core enterprises"})
    tier_shares: tuple[float, float, float, float] = field(
        default=(0.08, 0.14, 0.18, 0.18),
        metadata={"doc": "shares of tier-1..tier-4 suppliers"},
    )
    dealer_share: float = field(
        default=0.15, metadata={"doc": "share of dealers (rest: independents)"}
    )
    extra_buyers: float = field(
        default=0.9,
        metadata={"doc": "mean number of buyers beyond the first per seller (Poisson)"},
    )
    attachment_offset: float = field(
        default=1.0,
        metadata={"doc": "preferential attachment: P(buyer) ∝ in-degree + offset (lower = heavier tail)"},
    )
    late_start_share: float = field(
        default=0.15, metadata={"doc": "share of relationships starting after month 0"}
    )
    churn: float = field(
        default=0.012, metadata={"doc": "monthly probability a relationship ends"}
    )
    order_prob: float = field(
        default=0.42, metadata={"doc": "mean monthly probability of an order on a relationship"}
    )
    annual_default_rate: float = field(
        default=0.03, metadata={"doc": "target annual default rate (hazard intercept calibrated)"}
    )
    health_ar: float = field(default=0.85, metadata={"doc": "AR(1) coefficient of latent health"})
    health_sigma: float = field(
        default=0.30, metadata={"doc": "monthly shock s.d. of latent health (non-tech firm)"}
    )
    tech_resilience: float = field(
        default=0.35,
        metadata={"doc": "lift of long-run health per s.d. of technology intensity"},
    )
    hazard_health: float = field(
        default=1.3, metadata={"doc": "log-hazard per unit of poor health"}
    )
    hazard_customer: float = field(
        default=2.2,
        metadata={"doc": "log-hazard per unit of sales-weighted customer distress"},
    )
    hazard_late: float = field(
        default=1.5,
        metadata={"doc": "log-hazard per unit share of sales paid more than 30 days late"},
    )
    hazard_fraud: float = field(default=1.2, metadata={"doc": "log-hazard of a fraudulent firm"})
    hazard_young: float = field(
        default=0.6, metadata={"doc": "log-hazard of a firm younger than 12 months"}
    )
    contagion_health: float = field(
        default=0.12,
        metadata={"doc": "monthly pull of customer distress on a supplier's health"},
    )
    core_shock_prob: float = field(
        default=0.01, metadata={"doc": "monthly probability that a core firm suffers a shock"}
    )
    core_shock_size: float = field(
        default=3.0, metadata={"doc": "health lost by a core firm in a shock (cascades down)"}
    )
    base_delay_days: float = field(
        default=4.0, metadata={"doc": "mean payment delay beyond terms of a healthy buyer"}
    )
    stress_delay_days: float = field(
        default=70.0, metadata={"doc": "extra mean delay (days) of a fully distressed buyer"}
    )
    financials_share: float = field(
        default=0.40, metadata={"doc": "share of firms that file financial statements"}
    )
    intangibles_share: float = field(
        default=0.90, metadata={"doc": "share of firms with an intangibles profile"}
    )
    fraud_share: float = field(
        default=0.02, metadata={"doc": "share of fraudulent firms (four types, equal split)"}
    )
    vat_rate: float = field(default=0.13, metadata={"doc": "main VAT rate (some goods 9%)"})
    missing_order: float = field(
        default=0.15, metadata={"doc": "share of trades without an uploaded purchase order"}
    )
    missing_shipment: float = field(
        default=0.06, metadata={"doc": "share of honest trades without an uploaded shipment"}
    )
    missing_invoice: float = field(
        default=0.02, metadata={"doc": "share of trades without an uploaded invoice"}
    )
    order_ref_share: float = field(
        default=0.6, metadata={"doc": "share of invoices/shipments citing their order_id"}
    )
    payment_ref_share: float = field(
        default=0.7, metadata={"doc": "share of payments citing their invoice_id"}
    )
    partial_payment_share: float = field(
        default=0.08, metadata={"doc": "share of invoices paid in two instalments"}
    )
    credit_note_share: float = field(
        default=0.01, metadata={"doc": "share of invoices reversed by a red-letter credit note"}
    )
    one_party_share: float = field(
        default=0.25,
        metadata={"doc": "share of documents uploaded by one party (uploaded_by filled)"},
    )
    early_invoice_share: float = field(
        default=0.03, metadata={"doc": "share of invoices issued before the goods ship (noise)"}
    )

    def __post_init__(self) -> None:
        if self.n_firms < 50:
            raise ValueError("n_firms must be at least 50 (a few core firms and their tiers)")
        if not 1 <= self.months <= 240:
            raise ValueError("months must be between 1 and 240")
        if self.start.day != 1:
            raise ValueError("start must be the first day of a month")
        shares = self.core_share + sum(self.tier_shares) + self.dealer_share
        if shares >= 1.0:
            raise ValueError("core, tier and dealer shares must leave room for independents")
        if not 0.0 < self.annual_default_rate < 0.5:
            raise ValueError("annual_default_rate must be in (0, 0.5)")

    @property
    def end(self) -> date:
        """Last simulated day: the day before `start` + `months` months."""
        y, m = divmod(self.start.month - 1 + self.months, 12)
        nxt = date(self.start.year + y, m + 1, 1)
        return date.fromordinal(nxt.toordinal() - 1)


def parameter_table() -> list[tuple[str, str, str]]:
    """(parameter, default, meaning) rows for the README and `--help`."""
    rows: list[tuple[str, str, str]] = []
    for f in fields(SimConfig):
        rows.append((f.name, str(f.default), str(f.metadata.get("doc", ""))))
    return rows
