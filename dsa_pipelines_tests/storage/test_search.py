"""Dataset search and suggestions over ~200 generated datasets, on every backend."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from dsa_pipelines.storage import Store, writer
from dsa_pipelines.storage.errors import InvalidInput
from dsa_pipelines_tests.storage.test_access import as_user

TOPICS = ["sales", "inventory", "payroll", "marketing", "logistics", "weather", "clinical", "telemetry"]
REGIONS = ["eu", "us", "apac", "latam"]
CREATORS = ["ana", "bo", "chen", "dee"]
MONTHS = ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
SPECIAL = {
    "customers": ("Customer master data for the CRM", ("crm", "pii")),
    "customer_churn": ("Monthly churn of retail customers, by cohort", ("crm", "analytics")),
    "invoices_2024": ("Invoices issued in 2024, one row per line item", ("finance",)),
    "orders": ("Online orders with ordering channel and status", ("retail",)),
    "marketing_spend": ("Spend per campaign; a churn proxy is derived elsewhere", ("marketing", "finance")),
}


def generated() -> dict[str, dict]:
    """Name -> {description, tags, created_by, month, public}: 195 regular datasets plus the special five."""
    out = {}
    for i in range(195):
        topic, region = TOPICS[i % len(TOPICS)], REGIONS[i % len(REGIONS)]
        tags = [topic, region] + (["pii"] if i % 5 == 0 else []) + (["gold"] if i % 7 == 0 else [])
        out[f"{topic}_{region}_{i:03d}"] = {
            "description": f"{topic.capitalize()} records for region {region.upper()}, batch {i}",
            "tags": tuple(tags), "created_by": CREATORS[i % len(CREATORS)], "month": MONTHS[i % len(MONTHS)],
            "public": i % 3 == 0}
    for j, (name, (description, tags)) in enumerate(SPECIAL.items()):
        out[name] = {"description": description, "tags": tags, "created_by": "ana", "month": MONTHS[-1],
                     "public": True}
        assert j < 5
    return out


@pytest.fixture
def catalog(store: Store, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict]:
    data = generated()
    for name, spec in data.items():
        monkeypatch.setattr(writer, "utc_now", lambda m=spec["month"]: f"{m}-15T12:00:00.000000Z")
        store.create_dataset(name, description=spec["description"], tags=spec["tags"],
                             created_by=spec["created_by"], public_read=spec["public"])
    monkeypatch.undo()
    store.create_user("viewer")
    return data


def _expected_facets(data: dict[str, dict], names: set[str]) -> dict[str, dict[str, int]]:
    tags = Counter(t for n in names for t in data[n]["tags"])
    return {"tags": tags, "created_by": Counter(data[n]["created_by"] for n in names),
            "updated_month": Counter(data[n]["month"] for n in names)}


def test_search_ranks_counts_facets_exactly_and_filters_by_permission(store: Store, catalog: dict[str, dict]):
    result = store.search("payroll", limit=5)
    payroll = {n for n in catalog if n.startswith("payroll_")}
    assert result.total == len(payroll) == 25 and len(result.items) == 5
    assert {k: dict(v) for k, v in result.facets.items()} == {
        k: dict(v) for k, v in _expected_facets(catalog, payroll).items()}
    assert list(result.facets["tags"])[:2] == ["apac", "payroll"]  # by count, then by name
    assert all("<mark>" in i.snippets.get("description", "") for i in result.items)

    # name matches rank above description-only mentions; stemming and prefixes match
    assert [i.name for i in store.search("churn").items] == ["customer_churn", "marketing_spend"]
    assert {i.name for i in store.search("customers").items[:2]} == {"customers", "customer_churn"}
    assert [i.name for i in store.search("invoic").items] == ["invoices_2024"]
    assert [i.name for i in store.search("order").items] == ["orders"]
    assert [i.name for i in store.search("churn cohort").items] == ["customer_churn"]

    # filters: all tags, any creator, update times
    both = store.search("", tags=["pii", "gold"], limit=100)
    assert {i.name for i in both.items} == {n for n, s in catalog.items() if {"pii", "gold"} <= set(s["tags"])}
    by = store.search("sales", created_by=["ana", "bo"], limit=100)
    assert {i.name for i in by.items} == {n for n, s in catalog.items()
                                          if n.startswith("sales_") and s["created_by"] in ("ana", "bo")}
    recent = store.search("", updated_after="2026-10-01T00:00:00Z", updated_before="2026-10-31T00:00:00Z",
                          limit=1000)
    assert recent.total == sum(s["month"] == "2026-10" for s in catalog.values())

    # pages cover the match once, in a stable order
    pages = [store.search("records", limit=50, offset=o) for o in range(0, 250, 50)]
    names = [i.name for p in pages for i in p.items]
    assert len(names) == len(set(names)) == pages[0].total == 195

    # only readable datasets, and facets over them only
    viewer = as_user(store, "viewer")
    seen = viewer.search("payroll", limit=100)
    visible = {n for n in payroll if catalog[n]["public"]}
    assert {i.name for i in seen.items} == visible and seen.total == len(visible)
    assert {k: dict(v) for k, v in seen.facets.items()} == {
        k: dict(v) for k, v in _expected_facets(catalog, visible).items()}
    store.grant(sorted(payroll - visible)[0], "viewer", "read")
    assert viewer.search("payroll", limit=100).total == len(visible) + 1


NASTY = ['"', "'", "*", "NEAR(sales payroll)", "sales OR payroll", "sales AND NOT payroll",
         "'; DROP TABLE datasets; --",
         "\" OR 1=1 --", "payroll*", "^sales", "-sales", "name:sales", "{name}: sales", "(", ")", "a & b | !c",
         "sales:*", "\x00", "%_%", "\\", "x" * 100_000, " ".join(["sales"] * 5000), "ünïcödé ∑ 数据", "NEAR", "AND",
         "sales\ud800"]


@pytest.mark.parametrize("query", NASTY, ids=range(len(NASTY)))
def test_queries_are_plain_text_never_syntax(store: Store, query: str):
    store.create_dataset("sales_eu", description="Sales records", tags=["sales"])
    result = store.search(query)
    assert result.total == len(result.items) <= 1
    store.suggest(query)
    assert [d.name for d in store.list_datasets()] == ["sales_eu"]


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"limit": -1}, {"limit": 10**12}, {"limit": True},
                                    {"offset": -1}, {"offset": 10**15}, {"limit": "5"},
                                    {"updated_after": "yesterday"}, {"tags": [1]}, {"tags": ["a\x00"]},
                                    {"tags": ["\ud800"]},
                                    {"created_by": ["x"] * 101}])
def test_bad_limits_offsets_and_filters(store: Store, kwargs: dict):
    with pytest.raises(InvalidInput):
        store.search("x", **kwargs)


def test_suggest_tolerates_a_typo_and_respects_permissions(store: Store, catalog: dict[str, dict]):
    assert store.suggest("custmers")[0].text == "customers"  # one letter missing
    assert store.suggest("customrs")[0].text == "customers"
    first = store.suggest("pyroll")[0]
    assert (first.text, first.kind, first.datasets) == ("payroll", "tag", 25)
    assert [s.text for s in store.suggest("invo")][:1] == ["invoices_2024"]  # prefix matches first
    assert "inventory" in [s.text for s in store.suggest("invo")]
    assert store.suggest("") == []
    with pytest.raises(InvalidInput):
        store.suggest("x", limit=0)
    viewer = as_user(store, "viewer")
    assert viewer.suggest("pyroll")[0].datasets == sum(
        1 for n, s in catalog.items() if n.startswith("payroll_") and s["public"])
    store.set_public_read("customers", False)
    assert "customers" not in [s.text for s in viewer.suggest("custmers")]


def test_the_index_follows_every_change(store: Store):
    store.create_dataset("d", description="alpha things", tags=["one"])
    assert store.search("alpha").total == 1
    store.update_dataset("d", description="beta things", tags=["two"])
    assert store.search("alpha").total == 0 and store.search("beta").total == 1
    assert store.search("", tags=["one"]).total == 0 and store.search("", tags=["two"]).total == 1
    assert [s.text for s in store.suggest("one")] == [] and store.suggest("two")[0].kind == "tag"
    result = store.commit("d", {"t": pd.DataFrame({"v": [1, 2, 3]})})
    item = store.search("beta").items[0]
    assert (item.head, item.row_count) == (result.commit_id, 3)
    assert item.updated_at == store.get_commit("d").created_at
    store.create_branch("d", "side")
    store.commit("d", {"t": pd.DataFrame({"v": [1]})}, branch="side")
    assert store.search("beta").items[0].head == result.commit_id  # only the default branch counts


def test_deleted_datasets_leave_the_index_and_purge_keeps_the_audit_trail(store: Store):
    store.create_dataset("gone", description="alpha", tags=["t1"])
    store.commit("gone", {"t": pd.DataFrame({"v": [1, 2]})})
    store.delete_dataset("gone", actor=store.user, reason="test")
    assert store.search("alpha").total == 0 and store.suggest("gone") == []
    store.restore_dataset("gone")
    [item] = store.search("alpha").items
    assert (item.name, item.row_count, item.tags) == ("gone", 2, ("t1",))
    store.delete_dataset("gone", actor=store.user, reason="test")
    store.purge_dataset("gone")
    assert store.search("", tags=["t1"]).total == 0
    actions = [e.action for e in store.audit_log(dataset="gone")]
    assert actions[:3] == ["purge_dataset", "delete_dataset", "restore_dataset"] and "create_dataset" in actions
