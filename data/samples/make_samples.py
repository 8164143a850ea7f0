"""Write the sample files in this folder, byte for byte the same on every run.

    python data/samples/make_samples.py

Files: customers.csv and customers_v2.csv (its second version), sales.xlsx (sheets
``orders`` and ``products``), transactions.parquet. README.md describes them. Every
random choice comes from one seeded generator; the workbook gets fixed timestamps so
regenerating it produces no Git diff.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
SEED = 20241121
FIXED_TIME = dt.datetime(2024, 11, 21, 9, 0, 0)

# (display name, ASCII form used in e-mail addresses)
FIRST_NAMES = [
    ("Anna", "anna"), ("Ben", "ben"), ("Chloé", "chloe"), ("Daniel", "daniel"),
    ("Elif", "elif"), ("François", "francois"), ("Greta", "greta"), ("Hugo", "hugo"),
    ("Inès", "ines"), ("José", "jose"), ("Jürgen", "juergen"), ("Katarzyna", "katarzyna"),
    ("Liam", "liam"), ("Małgorzata", "malgorzata"), ("Noah", "noah"), ("Olivia", "olivia"),
    ("Pablo", "pablo"), ("Renée", "renee"), ("Søren", "soren"), ("Sofia", "sofia"),
    ("Thomas", "thomas"), ("Zoë", "zoe"), ("Björn", "bjorn"), ("Emma", "emma"),
    ("Mia", "mia"), ("Lucas", "lucas"), ("Amélie", "amelie"), ("Oliver", "oliver"),
]  # fmt: skip
LAST_NAMES = [
    ("Müller", "mueller"), ("Schmidt", "schmidt"), ("García", "garcia"), ("Rossi", "rossi"),
    ("Dubois", "dubois"), ("Novák", "novak"), ("Kowalski", "kowalski"), ("Nguyễn", "nguyen"),
    ("Silva", "silva"), ("Jensen", "jensen"), ("Andersson", "andersson"), ("O'Brien", "obrien"),
    ("Yılmaz", "yilmaz"), ("Horváth", "horvath"), ("Smith", "smith"), ("Taylor", "taylor"),
    ("Brown", "brown"), ("Weber", "weber"), ("Øvergård", "overgard"), ("Dvořák", "dvorak"),
    ("Martin", "martin"), ("Bernard", "bernard"), ("Lefèvre", "lefevre"), ("Wilson", "wilson"),
]  # fmt: skip
WHOLE_NAMES = [("山田 花子", "hanako.yamada"), ("李 娜", "na.li"), ("Ἑλένη Παππᾶ", "eleni.pappa")]
COUNTRIES = ["DE", "FR", "GB", "US", "ES", "IT", "NL", "PL", "SE", "DK", "JP", "CN", "GR", "TR"]
COUNTRY_WEIGHTS = [18, 12, 12, 14, 7, 6, 6, 5, 4, 3, 4, 3, 3, 3]
DOMAINS = ["example.com", "mail.example.org", "example.net", "post.example.de"]


def _weights(raw: list[int]) -> np.ndarray:
    w = np.asarray(raw, dtype=float)
    return w / w.sum()


def _customers(rng: np.random.Generator, ids: np.ndarray, whole_names: bool = True) -> pd.DataFrame:
    n = len(ids)
    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    names = [f"{FIRST_NAMES[f][0]} {LAST_NAMES[s][0]}" for f, s in zip(first, last)]
    local = [f"{FIRST_NAMES[f][1]}.{LAST_NAMES[s][1]}" for f, s in zip(first, last)]
    slots = rng.choice(n, len(WHOLE_NAMES), replace=False) if whole_names else []
    for slot, (whole, ascii_name) in zip(slots, WHOLE_NAMES):
        names[slot], local[slot] = whole, ascii_name
    emails = pd.Series([f"{loc}@{dom}" for loc, dom in zip(local, rng.choice(DOMAINS, n))])
    dup = emails.duplicated()
    emails[dup] = [
        f"{loc}{i}@{e.split('@')[1]}"
        for loc, i, e in zip(np.asarray(local)[dup], ids[dup.to_numpy()], emails[dup])
    ]
    value = np.round(rng.lognormal(6.0, 1.0, n), 2)
    value[rng.random(n) < 0.04] = np.nan
    return pd.DataFrame(
        {
            "customer_id": ids,
            "name": names,
            "email": emails.to_numpy(),
            "country": rng.choice(COUNTRIES, n, p=_weights(COUNTRY_WEIGHTS)),
            "signup_date": pd.to_datetime("2019-01-01")
            + pd.to_timedelta(rng.integers(0, 2000, n), unit="D"),
            "lifetime_value": value,
            "is_active": rng.random(n) < 0.8,
        }
    )


def _second_version(rng: np.random.Generator, v1: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """5 rows changed, 4 removed, 8 appended; the order of the rest is kept."""
    picked = rng.choice(v1.index.to_numpy(), 9, replace=False)
    changed, removed = np.sort(picked[:5]), np.sort(picked[5:])
    v2 = v1.copy()
    v2.loc[changed[0], "email"] = v2.loc[changed[0], "email"].split("@")[0] + "@newmail.example.com"
    old_value = v2.loc[changed[1], "lifetime_value"]
    new_value = 250.0 if pd.isna(old_value) else round(old_value + 250, 2)
    v2.loc[changed[1], "lifetime_value"] = new_value
    v2.loc[changed[2], "is_active"] = not v2.loc[changed[2], "is_active"]
    v2.loc[changed[3], "country"] = "CH" if v2.loc[changed[3], "country"] != "CH" else "AT"
    v2.loc[changed[4], "name"] = v2.loc[changed[4], "name"] + "-Lindqvist"
    v2 = v2.drop(index=removed)
    start = int(v1["customer_id"].max()) + 1
    added = _customers(rng, np.arange(start, start + 8), whole_names=False)
    added["signup_date"] = pd.to_datetime("2024-07-01") + pd.to_timedelta(np.arange(8), unit="W")
    v2 = pd.concat([v2, added], ignore_index=True)
    ids = {
        "changed": v1.loc[changed, "customer_id"].tolist(),
        "removed": v1.loc[removed, "customer_id"].tolist(),
        "added": added["customer_id"].tolist(),
    }
    return v2, ids


def _write_customers_csv(df: pd.DataFrame, path: Path) -> None:
    out = df.copy()
    out["signup_date"] = out["signup_date"].dt.strftime("%Y-%m-%d")
    out["is_active"] = out["is_active"].map({True: "true", False: "false"})
    out.to_csv(path, index=False, float_format="%.2f", lineterminator="\n", encoding="utf-8")


PRODUCTS = [
    ("Espresso beans 1 kg", "coffee", 24.90), ("Filter coffee 500 g", "coffee", 11.50),
    ("Decaf beans 250 g", "coffee", 8.90), ("Single-origin Ethiopia 250 g", "coffee", 13.40),
    ("Cold brew concentrate", "coffee", 9.80), ("Green tea sencha 100 g", "tea", 7.20),
    ("Earl Grey 100 g", "tea", 6.50), ("Rooibos 100 g", "tea", 5.90),
    ("Chai blend 200 g", "tea", 8.30), ("Matcha 30 g", "tea", 19.00),
    ("Pour-over dripper", "equipment", 22.00), ("French press 1 l", "equipment", 34.50),
    ("Burr grinder", "equipment", 129.00), ("Gooseneck kettle", "equipment", 59.90),
    ("Milk frother", "equipment", 39.00), ("Espresso machine", "equipment", 449.00),
    ("Paper filters ×100", "accessories", 4.50), ("Travel mug", "accessories", 18.00),
    ("Ceramic cup set", "accessories", 27.50), ("Tamper 58 mm", "accessories", 21.00),
    ("Scale 0.1 g", "accessories", 29.90), ("Cleaning tablets", "accessories", 9.90),
    ("Descaler", "accessories", 7.90), ("Knock box", "accessories", 16.50),
    ("Gift card 25 €", "gifts", 25.00), ("Gift card 50 €", "gifts", 50.00),
    ("Tasting box", "gifts", 39.00), ("Barista course", "services", 89.00),
    ("Machine service", "services", 75.00), ("Subscription (monthly)", "services", 29.00),
]  # fmt: skip
ORDER_STATUSES = ["paid", "shipped", "delivered", "cancelled", "refunded", "pending"]
STATUS_WEIGHTS = [20, 25, 40, 6, 3, 6]


def _write_sales_xlsx(rng: np.random.Generator, customer_ids: np.ndarray, path: Path) -> None:
    wb = Workbook()
    orders = wb.active
    orders.title = "orders"
    orders.append(["order_id", "customer_id", "order_date", "amount", "currency", "status"])
    n = 150
    days = np.sort(rng.integers(0, 548, n))
    amounts = np.round(rng.lognormal(3.8, 0.8, n), 2)
    currencies = rng.choice(["EUR", "USD", "GBP", "CHF"], n, p=_weights([60, 20, 15, 5]))
    statuses = rng.choice(ORDER_STATUSES, n, p=_weights(STATUS_WEIGHTS))
    buyers = rng.choice(customer_ids, n)
    for i in range(n):
        orders.append(
            [
                50_001 + i,
                int(buyers[i]),
                dt.date(2023, 1, 1) + dt.timedelta(days=int(days[i])),
                float(amounts[i]),
                str(currencies[i]),
                str(statuses[i]),
            ]
        )
    for row in orders.iter_rows(min_row=2, min_col=3, max_col=4):
        row[0].number_format = "yyyy-mm-dd"
        row[1].number_format = "#,##0.00"

    products = wb.create_sheet("products")
    products.append(["sku", "name", "category", "unit_price", "in_stock"])
    in_stock = rng.random(len(PRODUCTS)) < 0.85
    for i, (name, category, price) in enumerate(PRODUCTS):
        products.append([f"SKU-{1001 + i}", name, category, price, bool(in_stock[i])])
    for row in products.iter_rows(min_row=2, min_col=4, max_col=4):
        row[0].number_format = "0.00"
    for sheet in (orders, products):
        sheet.freeze_panes = "A2"

    wb.properties.creator = "make_samples.py"
    wb.properties.created = FIXED_TIME
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(_with_fixed_timestamps(buffer.getvalue()))


def _with_fixed_timestamps(xlsx: bytes) -> bytes:
    """Rewrite the zip with fixed entry times and a fixed ``modified`` property."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)
    return out.getvalue()


TXN_CATEGORIES = [
    "groceries", "rent", "salary", "utilities", "travel", "dining", "transfer", "fees"
]  # fmt: skip
TXN_WEIGHTS = [30, 5, 5, 10, 10, 20, 15, 5]


def _write_transactions_parquet(rng: np.random.Generator, path: Path) -> None:
    n = 300
    category = rng.choice(TXN_CATEGORIES, n, p=_weights(TXN_WEIGHTS))
    cents = np.round(rng.lognormal(3.5, 1.1, n) * 100).astype(np.int64)
    for fixed, low, high in (("salary", 250_000, 600_000), ("rent", 80_000, 160_000)):
        cents[category == fixed] = rng.integers(low, high, (category == fixed).sum())
    sign = np.where(category == "salary", 1, -1)
    sign[(category == "transfer") & (rng.random(n) < 0.5)] = 1
    start = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()) * 1_000_000
    booked = np.sort(start + rng.integers(0, 182 * 86_400, n) * 1_000_000)
    table = pa.table(
        {
            "txn_id": [f"TXN-{i:06d}" for i in range(1, n + 1)],
            "account": rng.choice([f"ACC-{a}" for a in range(1001, 1026)], n),
            "amount": pa.array(
                [Decimal(int(c * s)).scaleb(-2) for c, s in zip(cents, sign)], pa.decimal128(12, 2)
            ),
            "currency": rng.choice(["EUR", "USD", "GBP", "CHF"], n, p=_weights([70, 15, 10, 5])),
            "booked_at": pa.array(booked, pa.timestamp("us", tz="UTC")),
            "category": category,
            "flagged": rng.random(n) < 0.03,
        }
    )
    pq.write_table(table, path, compression="zstd")


def main() -> None:
    """Write every sample file next to this script."""
    rng = np.random.default_rng(SEED)
    v1 = _customers(rng, np.arange(1, 201))
    v2, ids = _second_version(rng, v1)
    _write_customers_csv(v1, HERE / "customers.csv")
    _write_customers_csv(v2, HERE / "customers_v2.csv")
    _write_sales_xlsx(rng, v1["customer_id"].to_numpy(), HERE / "sales.xlsx")
    _write_transactions_parquet(rng, HERE / "transactions.parquet")
    print(f"customers_v2.csv vs customers.csv: {ids}")


if __name__ == "__main__":
    main()
