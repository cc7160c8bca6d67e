"""UCI Online Retail: invoice lines. Checked line by line; its products are the distinct stock codes.

The file is messy on purpose: guest orders (no CustomerID), cancellations (InvoiceNo 'C...'), negative
quantities (stock adjustments), zero prices, postage and fee lines that are not products.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aisle.catalog import fields as F
from aisle.catalog.quality import QuarantinedRow
from aisle.catalog.raw import RawRow, SourceRows, read_delimited, require_file
from aisle.catalog.text import has_invalid_encoding

# Stock codes that are charges or adjustments, not goods.
NON_PRODUCT_CODES = frozenset(
    {"POST", "DOT", "M", "D", "C2", "S", "CRUK", "AMAZONFEE", "BANK CHARGES", "PADS", "B", "m"}
)


@dataclass(frozen=True, slots=True)
class Purchase:
    invoice: str
    stock_code: str
    description: str
    quantity: int
    timestamp: datetime
    unit_price: float
    customer_id: str
    country: str


@dataclass(frozen=True, slots=True)
class TransactionLoad:
    purchases: list[Purchase]
    quarantine: list[QuarantinedRow]

    def summary(self) -> dict[str, object]:
        reasons = Counter(r for q in self.quarantine for r in q.reasons)
        return {
            "lines": len(self.purchases) + len(self.quarantine),
            "valid_purchases": len(self.purchases),
            "quarantined_lines": len(self.quarantine),
            "quarantine_reasons": dict(reasons.most_common()),
            "customers": len({p.customer_id for p in self.purchases}),
        }


def _line_problems(rec: dict[str, str]) -> list[tuple[str, str]]:
    problems = []
    if any(has_invalid_encoding(v or "") for v in rec.values()):
        problems.append(("invalid_encoding", "bytes that are not UTF-8"))
    if (rec.get("InvoiceNo") or "").startswith("C"):
        problems.append(("cancellation", f"cancelled invoice {rec.get('InvoiceNo')}"))
    code = (rec.get("StockCode") or "").strip()
    if code in NON_PRODUCT_CODES:
        problems.append(("not_a_product", f"stock code {code!r} is a charge or adjustment"))
    if not (rec.get("Description") or "").strip():
        problems.append(("missing_description", "no description"))
    if not (rec.get("CustomerID") or "").strip():
        problems.append(("guest_purchase", "no customer id"))
    try:
        if int(float(rec.get("Quantity") or "")) <= 0:
            problems.append(("non_positive_quantity", f"quantity {rec.get('Quantity')}"))
    except ValueError:
        problems.append(("invalid_quantity", f"quantity {rec.get('Quantity')!r}"))
    try:
        if float(rec.get("UnitPrice") or "") <= 0:
            problems.append(("non_positive_price", f"unit price {rec.get('UnitPrice')}"))
    except ValueError:
        problems.append(("invalid_price", f"unit price {rec.get('UnitPrice')!r}"))
    try:
        datetime.fromisoformat((rec.get("InvoiceDate") or "").strip())
    except ValueError:
        problems.append(("invalid_date", f"invoice date {rec.get('InvoiceDate')!r}"))
    return problems


def load_online_retail_transactions(path: Path) -> TransactionLoad:
    """Every invoice line, either a clean purchase by a known customer or quarantined with its reasons."""
    purchases: list[Purchase] = []
    quarantine: list[QuarantinedRow] = []
    for n, rec in enumerate(read_delimited(require_file(path, "Online Retail data")), start=1):
        problems = _line_problems(rec)
        if problems:
            quarantine.append(
                QuarantinedRow(
                    n,
                    F.parse_id(rec.get("StockCode")),
                    tuple(r for r, _ in problems),
                    "; ".join(d for _, d in problems),
                    dict(rec),
                )
            )
            continue
        purchases.append(
            Purchase(
                invoice=rec["InvoiceNo"].strip(),
                stock_code=rec["StockCode"].strip(),
                description=rec["Description"].strip(),
                quantity=int(float(rec["Quantity"])),
                timestamp=datetime.fromisoformat(rec["InvoiceDate"].strip()),
                unit_price=float(rec["UnitPrice"]),
                customer_id=str(int(float(rec["CustomerID"]))),
                country=(rec.get("Country") or "").strip(),
            )
        )
    return TransactionLoad(purchases, quarantine)


def load_online_retail(path: Path) -> SourceRows:
    """Products = distinct stock codes of the lines that sell goods (guest orders count: the goods exist).

    Title is the most frequent description, price the median positive unit price. Row numbers count the
    derived products (sorted by stock code); line-level checks are under `transactions` in the report.
    """
    transactions = load_online_retail_transactions(path)
    titles: dict[str, Counter[str]] = defaultdict(Counter)
    prices: dict[str, list[float]] = defaultdict(list)
    kept_reasons = {"guest_purchase"}
    lines: list[tuple[str, str, Any]] = [(p.stock_code, p.description, p.unit_price) for p in transactions.purchases]
    lines += [
        (str(q.record.get("StockCode", "")).strip(), str(q.record.get("Description", "")), q.record.get("UnitPrice"))
        for q in transactions.quarantine
        if set(q.reasons) <= kept_reasons
    ]
    for code, description, price in lines:
        titles[code][description.strip()] += 1
        prices[code].append(float(price or 0))
    rows = [
        RawRow(
            i,
            {
                "id": code,
                "title": titles[code].most_common(1)[0][0],
                "price": statistics.median(prices[code]),
                "currency": "GBP",
            },
        )
        for i, code in enumerate(sorted(titles), start=1)
    ]
    return SourceRows(
        name="online_retail",
        kind="online_retail",
        location=path,
        rows=rows,
        extra_report={"transactions": transactions.summary()},
    )
