"""What each record kind is: its fields, their types and the names a file may give them.

This table is the one contract shared by the parsers, the validator, the database tables,
the loaders, the simulator (which writes these columns) and the graph engine (which reads
the loaders' frames). Changing a field here changes it everywhere, on purpose.

Conventions (DESIGN.md §3, §7):
- Firm ids are USCCs (GB 32100-2015) or foreign parties written `<EAS scheme>:<id>`.
- Money arrives as a decimal string or number with an ISO 4217 `currency` column; it is kept as
  integer minor units in a column named `<field>_minor` (int64) in the database and in frames.
- Dates are calendar dates (YYYY-MM-DD); frames carry them as pandas datetime64.
- `uploaded_by` is optional on documents; without it the uploader of the batch is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FieldType(StrEnum):
    PARTY = "party"  # USCC or `<EAS scheme>:<id>`
    TEXT = "text"
    DOC_ID = "doc_id"  # issuer-scoped document id: non-empty, no control characters, ≤ 100 chars
    DATE = "date"
    MONEY = "money"  # decimal in the record's currency -> <name>_minor int64
    INT = "int"  # non-negative unless signed=True
    BOOL = "bool"
    ENUM = "enum"
    CURRENCY = "currency"  # ISO 4217 alphabetic code
    DECIMAL = "decimal"  # a non-money decimal (fx rate); kept as text/NUMERIC, float in frames
    REGION = "region"  # GB/T 2260 six-digit administrative division code
    INDUSTRY = "industry"  # GB/T 4754 code: section letter + up to 4 digits, e.g. C3670
    RATING = "rating"  # an external rating on the master scale of graph.ratings


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    required: bool = True
    signed: bool = False  # money/int may be negative (profit, cash flow, credit notes)
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other header names accepted in CSV (e.g. Chinese exports)
    max_length: int = 200


@dataclass(frozen=True)
class RecordKind:
    name: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # natural key: duplicates and replacements are judged on it
    date_field: str | None  # the event date used for "as of T"
    party_fields: tuple[str, ...] = ()  # firms that are a party to the record (authorization)
    money_fields: tuple[str, ...] = field(default=())

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _money(name: str, *, required: bool = True, signed: bool = False, aliases: tuple[str, ...] = ()) -> Field:
    return Field(name, FieldType.MONEY, required=required, signed=signed, aliases=aliases)


UPLOADED_BY = Field("uploaded_by", FieldType.PARTY, required=False, aliases=("上传方",))
CURRENCY = Field("currency", FieldType.CURRENCY, aliases=("币种",))

FIRMS = RecordKind(
    name="firms",
    fields=(
        Field("firm_id", FieldType.PARTY, aliases=("统一社会信用代码", "纳税人识别号")),
        Field("name", FieldType.TEXT, aliases=("企业名称", "名称")),
        Field("region_code", FieldType.REGION, aliases=("行政区划代码",)),
        Field("industry_code", FieldType.INDUSTRY, aliases=("行业代码",)),
        Field("cluster", FieldType.TEXT, required=False, aliases=("产业集群",)),
        Field("founded_on", FieldType.DATE, aliases=("成立日期",)),
        Field("is_core", FieldType.BOOL, aliases=("是否核心企业",)),
        Field("external_rating", FieldType.RATING, required=False, aliases=("外部评级",)),
    ),
    key=("firm_id",),
    date_field=None,
    party_fields=("firm_id",),
)

INTANGIBLES = RecordKind(
    name="intangibles",
    fields=(
        Field("firm_id", FieldType.PARTY, aliases=("统一社会信用代码",)),
        Field("as_of", FieldType.DATE, aliases=("截至日期",)),
        Field("invention_patents", FieldType.INT, aliases=("发明专利",)),
        Field("utility_patents", FieldType.INT, aliases=("实用新型专利",)),
        Field("design_patents", FieldType.INT, aliases=("外观设计专利",)),
        Field("trademarks", FieldType.INT, aliases=("注册商标",)),
        Field("software_copyrights", FieldType.INT, aliases=("软件著作权",)),
        _money("rd_expense", aliases=("研发费用",)),
        _money("revenue", aliases=("营业收入",)),
        CURRENCY,
        Field("tech_staff", FieldType.INT, aliases=("科技人员数",)),
        Field("total_staff", FieldType.INT, aliases=("职工总数",)),
        Field("high_tech", FieldType.BOOL, aliases=("高新技术企业",)),
        Field(
            "specialised_level",
            FieldType.ENUM,
            choices=("none", "province", "national"),
            aliases=("专精特新",),
        ),
        Field("tech_sme", FieldType.BOOL, aliases=("科技型中小企业",)),
    ),
    key=("firm_id", "as_of"),
    date_field="as_of",
    party_fields=("firm_id",),
    money_fields=("rd_expense", "revenue"),
)

FINANCIALS = RecordKind(
    name="financials",
    fields=(
        Field("firm_id", FieldType.PARTY, aliases=("统一社会信用代码",)),
        Field("fiscal_year", FieldType.INT, aliases=("会计年度",)),
        Field("reported_on", FieldType.DATE, required=False, aliases=("报送日期",)),
        CURRENCY,
        _money("revenue", aliases=("营业收入",)),
        _money("net_profit", signed=True, aliases=("净利润",)),
        _money("total_assets", aliases=("资产总计",)),
        _money("total_liabilities", aliases=("负债合计",)),
        _money("current_assets", aliases=("流动资产合计",)),
        _money("current_liabilities", aliases=("流动负债合计",)),
        _money("operating_cash_flow", signed=True, aliases=("经营活动产生的现金流量净额",)),
    ),
    key=("firm_id", "fiscal_year"),
    date_field="reported_on",
    party_fields=("firm_id",),
    money_fields=(
        "revenue",
        "net_profit",
        "total_assets",
        "total_liabilities",
        "current_assets",
        "current_liabilities",
        "operating_cash_flow",
    ),
)

ORDERS = RecordKind(
    name="orders",
    fields=(
        Field("order_id", FieldType.DOC_ID, aliases=("订单号",)),
        Field("buyer_id", FieldType.PARTY, aliases=("购买方纳税人识别号", "采购方")),
        Field("seller_id", FieldType.PARTY, aliases=("销售方纳税人识别号", "供应方")),
        Field("order_date", FieldType.DATE, aliases=("订单日期",)),
        _money("amount", aliases=("金额", "订单金额")),
        CURRENCY,
        Field("payment_terms_days", FieldType.INT, aliases=("账期天数",)),
        UPLOADED_BY,
    ),
    key=("seller_id", "order_id"),
    date_field="order_date",
    party_fields=("buyer_id", "seller_id"),
    money_fields=("amount",),
)

INVOICE_KINDS = ("normal", "credit_note")

INVOICES = RecordKind(
    name="invoices",
    fields=(
        Field("invoice_id", FieldType.DOC_ID, aliases=("发票号码", "数电票号码")),
        Field("seller_id", FieldType.PARTY, aliases=("销售方纳税人识别号", "销方识别号")),
        Field("buyer_id", FieldType.PARTY, aliases=("购买方纳税人识别号", "购方识别号")),
        Field("issue_date", FieldType.DATE, aliases=("开票日期",)),
        _money("net", signed=True, aliases=("金额", "不含税金额")),
        _money("tax", signed=True, aliases=("税额",)),
        _money("total", signed=True, aliases=("价税合计",)),
        _money("payable", required=False, signed=True, aliases=("应付金额",)),
        CURRENCY,
        Field("kind", FieldType.ENUM, required=False, choices=INVOICE_KINDS, aliases=("发票类型",)),
        Field("original_invoice_id", FieldType.DOC_ID, required=False, aliases=("原发票号码", "对应蓝字发票号码")),
        Field("order_id", FieldType.DOC_ID, required=False, aliases=("订单号",)),
        Field("due_date", FieldType.DATE, required=False, aliases=("到期日",)),
        Field("line_count", FieldType.INT, required=False, aliases=("明细行数",)),
        UPLOADED_BY,
    ),
    key=("seller_id", "kind", "invoice_id"),
    date_field="issue_date",
    party_fields=("seller_id", "buyer_id"),
    money_fields=("net", "tax", "total", "payable"),
)

SHIPMENTS = RecordKind(
    name="shipments",
    fields=(
        Field("shipment_id", FieldType.DOC_ID, aliases=("运单号",)),
        Field("shipper_id", FieldType.PARTY, aliases=("发货方",)),
        Field("consignee_id", FieldType.PARTY, aliases=("收货方",)),
        Field("order_id", FieldType.DOC_ID, required=False, aliases=("订单号",)),
        Field("ship_date", FieldType.DATE, aliases=("发货日期",)),
        Field("delivery_date", FieldType.DATE, required=False, aliases=("签收日期",)),
        _money("goods_value", aliases=("货值",)),
        CURRENCY,
        UPLOADED_BY,
    ),
    key=("shipper_id", "shipment_id"),
    date_field="ship_date",
    party_fields=("shipper_id", "consignee_id"),
    money_fields=("goods_value",),
)

PAYMENTS = RecordKind(
    name="payments",
    fields=(
        Field("payment_id", FieldType.DOC_ID, aliases=("流水号",)),
        Field("payer_id", FieldType.PARTY, aliases=("付款方",)),
        Field("payee_id", FieldType.PARTY, aliases=("收款方",)),
        Field("paid_on", FieldType.DATE, aliases=("付款日期",)),
        _money("amount", aliases=("金额", "付款金额")),
        CURRENCY,
        Field("invoice_id", FieldType.DOC_ID, required=False, aliases=("发票号码",)),
        UPLOADED_BY,
    ),
    key=("payer_id", "payment_id"),
    date_field="paid_on",
    party_fields=("payer_id", "payee_id"),
    money_fields=("amount",),
)

CREDIT_EVENT_KINDS = ("default_90dpd", "bankruptcy", "restructuring", "write_off", "court_enforcement")

CREDIT_EVENTS = RecordKind(
    name="credit_events",
    fields=(
        Field("firm_id", FieldType.PARTY, aliases=("统一社会信用代码",)),
        Field("event_date", FieldType.DATE, aliases=("事件日期",)),
        Field("kind", FieldType.ENUM, choices=CREDIT_EVENT_KINDS, aliases=("事件类型",)),
        Field("reported_by", FieldType.PARTY, required=False, aliases=("报送机构",)),
        Field("reported_on", FieldType.DATE, required=False, aliases=("报送日期",)),
    ),
    key=("firm_id", "kind", "event_date"),
    date_field="event_date",
    party_fields=("firm_id",),
)

FX_RATES = RecordKind(
    name="fx_rates",
    fields=(
        Field("rate_date", FieldType.DATE),
        Field("currency", FieldType.CURRENCY),
        Field("cny_per_unit", FieldType.DECIMAL),
    ),
    key=("rate_date", "currency"),
    date_field="rate_date",
)

KINDS: dict[str, RecordKind] = {
    k.name: k
    for k in (FIRMS, INTANGIBLES, FINANCIALS, ORDERS, INVOICES, SHIPMENTS, PAYMENTS, CREDIT_EVENTS, FX_RATES)
}

DOCUMENT_KINDS = ("orders", "invoices", "shipments", "payments")


class UnknownKindError(ValueError):
    pass


def kind_named(name: str) -> RecordKind:
    """Accept snake_case and kebab-case (`credit-events`), as URLs and file names use both."""
    norm = name.strip().lower().replace("-", "_")
    try:
        return KINDS[norm]
    except KeyError:
        raise UnknownKindError(
            f"unknown record kind {name!r}; known kinds: {', '.join(KINDS)}"
        ) from None
