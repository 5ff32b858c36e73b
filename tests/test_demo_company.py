"""The demo company simulator: determinism, day-by-day growth, integrity, planted stories."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
import yaml

from demo_company.crm_objects import OBJECT_TYPES, PROPERTIES, build_crm, crm_objects
from demo_company.simulator import (
    DemoConfig,
    Stories,
    collect,
    erp_tables,
    planted_stories,
    simulate,
)
from demo_company.web_events import EVENT_KEYS, records, web_events
from demo_company.writer import ensure_demo, read_manifest, web_file_name, write_demo
from orchestration.lib.raw_contract import source_tables

AS_OF = date(2026, 6, 30)
# The mechanics are tested with the contraction alone, so a change of the default stories
# leaves them meaningful; the default stories have their own test.
ONLY_CONTRACTION = Stories(segment_contraction=True, region_churn=False, csat_drop=False)
SMALL = DemoConfig(as_of=AS_OF, seed=42, scale=0.2, stories=ONLY_CONTRACTION)
FULL = DemoConfig(as_of=AS_OF, seed=42, scale=1.0)
STAGING = Path(__file__).parents[1] / "dbt_project" / "models" / "staging"
ENVELOPE = {"id", "created_at", "updated_at", "archived"}


def contract(source: str) -> dict[str, list[str]]:
    """Columns per table of a raw contract (dbt sources file)."""
    spec = yaml.safe_load((STAGING / source / f"_{source}__sources.yml").read_text())
    (declared,) = spec["sources"]
    return {t["name"]: [c["name"] for c in t["columns"]] for t in declared["tables"]}


def rows(table: dict[str, list]) -> list[dict]:
    return [dict(zip(table, values, strict=True)) for values in zip(*table.values(), strict=True)]


def contract_key(table: str) -> list[str]:
    """The columns that identify a row of an ERP table (its contract key less the version)."""
    return [c for c in source_tables("erp")[table].primary_key if c != "updated_at"]


def everything(config: DemoConfig) -> dict:
    """ERP rows by table and key, CRM objects by (type, id), web events by day."""
    world = simulate(config)
    crm = build_crm(world)
    erp = collect(erp_tables(world))
    return {
        "erp": {
            name: {tuple(r[c] for c in contract_key(name)): r for r in rows(erp[name])}
            for name in erp
        },
        "crm": {(name, o[0]): o for name, chunk in crm_objects(crm) for o in chunk},
        "web": {day: records(columns) for day, columns in web_events(world, crm)},
    }


@pytest.fixture(scope="module")
def small():
    world = simulate(SMALL)
    crm = build_crm(world)
    return {
        "world": world,
        "erp": collect(erp_tables(world)),
        "crm": crm,
        "objects": {name: [o for n, chunk in crm_objects(crm) if n == name for o in chunk]
                    for name in OBJECT_TYPES},
        "web": {day: records(columns) for day, columns in web_events(world, crm)},
    }  # fmt: skip


@pytest.fixture(scope="module")
def full_erp():
    return collect(erp_tables(simulate(FULL)))


def order_values(erp: dict) -> dict[str, np.ndarray]:
    """Per order: customer, day, completed, and net value (lines net of discounts)."""
    orders, lines = erp["orders"], erp["order_lines"]
    order_id = np.array(orders["order_id"])
    net = np.array(lines["quantity"]) * np.array(lines["unit_price"]) - np.array(
        lines["discount_amount"]
    )
    value = np.bincount(
        np.searchsorted(order_id, lines["order_id"]), weights=net, minlength=len(order_id)
    )
    day = np.array(orders["order_date"], dtype="datetime64[D]")
    return {
        "customer": np.array(orders["customer_id"]),
        "day": day,
        "completed": np.array(orders["status"]) == "completed",
        "value": value,
    }


def segments_of(erp: dict) -> dict[int, str]:
    return dict(zip(erp["customers"]["customer_id"], erp["customers"]["segment"], strict=True))


def trailing_value_per_customer(orders: dict[str, np.ndarray], day: date) -> float:
    """Net revenue of the 365 days ending ``day`` per customer active in them."""
    end = np.datetime64(day)
    inside = orders["completed"] & (orders["day"] > end - 365) & (orders["day"] <= end)
    return orders["value"][inside].sum() / len(np.unique(orders["customer"][inside]))


# -- determinism --------------------------------------------------------------------------------


def test_same_seed_gives_identical_orders(small):
    again = collect(erp_tables(simulate(SMALL)))
    assert again == small["erp"]


def test_same_seed_gives_identical_crm_objects_and_web_events(small):
    world = simulate(SMALL)
    crm = build_crm(world)
    assert list(crm_objects(crm)) == list(crm_objects(small["crm"]))
    assert {day: records(columns) for day, columns in web_events(world, crm)} == small["web"]


def test_another_seed_gives_other_orders(small):
    other = collect(erp_tables(simulate(dataclasses.replace(SMALL, seed=7))))
    assert other["orders"]["customer_id"] != small["erp"]["orders"]["customer_id"]


def test_advancing_as_of_by_a_day_only_adds_and_updates_rows_of_that_day():
    anchored = dataclasses.replace(SMALL, scale=0.5, anchor=AS_OF)
    next_day = AS_OF + timedelta(days=3)  # a Friday with new customers and a cancellation
    before = everything(dataclasses.replace(anchored, as_of=next_day - timedelta(days=1)))
    new = everything(dataclasses.replace(anchored, as_of=next_day))
    changed = Counter()
    for name, old_rows in before["erp"].items():
        new_rows = new["erp"][name]
        assert set(old_rows) <= set(new_rows), f"{name} lost rows"
        for key, row in new_rows.items():
            if old_rows.get(key) != row:
                assert row["updated_at"].startswith(next_day.isoformat()), (name, row)
                changed[name, "added" if key not in old_rows else "updated"] += 1
    assert changed["orders", "added"] and changed["order_lines", "added"]
    assert changed["customers", "added"] and changed["refunds", "added"]
    assert changed["orders", "updated"]  # a cancellation
    assert set(before["crm"]) <= set(new["crm"])
    for key, obj in new["crm"].items():
        if before["crm"].get(key) != obj:
            assert obj[2].startswith(next_day.isoformat()), obj
            changed[key[0], "added" if key not in before["crm"] else "updated"] += 1
    assert changed["contacts", "added"] and changed["feedback", "added"]
    assert changed["contacts", "updated"] and changed["tickets", "updated"]
    assert {day: before["web"][day] for day in before["web"]} == {
        day: new["web"][day] for day in before["web"]
    }
    assert set(new["web"]) - set(before["web"]) == {next_day}


def test_switching_the_contraction_off_changes_no_order_before_its_onset():
    onset = AS_OF - timedelta(days=Stories().contraction_onset_days)
    with_story = collect(erp_tables(simulate(SMALL)))
    without = collect(
        erp_tables(
            simulate(
                dataclasses.replace(
                    SMALL,
                    stories=dataclasses.replace(ONLY_CONTRACTION, segment_contraction=False),
                )
            )
        )
    )
    assert with_story["orders"] == without["orders"]
    first_after = next(
        i for i, d in enumerate(with_story["orders"]["order_date"]) if d >= onset.isoformat()
    )
    first_line_after = with_story["order_lines"]["order_id"].index(first_after + 1)
    for column in ("order_line_id", "product_id", "quantity", "unit_price"):
        assert (
            with_story["order_lines"][column][:first_line_after]
            == without["order_lines"][column][:first_line_after]
        )
    assert with_story["order_lines"]["quantity"] != without["order_lines"]["quantity"]


# -- time ---------------------------------------------------------------------------------------


def test_nothing_is_dated_after_as_of(small):
    limit = AS_OF.isoformat()
    for name, table in small["erp"].items():
        for column, values in table.items():
            if column.endswith(("_at", "_date")):
                assert max(values)[:10] <= limit, (name, column)
    timestamp_properties = {
        "createdate", "closedate", "closed_date", "hs_submission_timestamp", "hs_timestamp",
        "published_at",
    }  # fmt: skip
    for name, objects in small["objects"].items():
        for _, created, updated, _, properties in objects:
            assert created <= updated
            assert updated[:10] <= limit, (name, updated)
            for key in timestamp_properties & properties.keys():
                assert properties[key][:10] <= limit, (name, key, properties[key])
    assert max(small["web"]) == AS_OF
    assert all(
        e["occurred_at"][:10] == day.isoformat() for day, es in small["web"].items() for e in es
    )


def test_history_starts_three_years_before_the_anchor(small):
    first_order = min(small["erp"]["orders"]["order_date"])
    assert first_order[:7] == "2023-06"
    assert len(small["web"]) == 365


def test_b2b_customers_buy_on_weekdays_and_never_between_christmas_and_new_year(full_erp):
    orders = order_values(full_erp)
    segment = segments_of(full_erp)
    b2b = np.array([segment[c] != "consumer" for c in orders["customer"]])
    weekday = (orders["day"].astype(int) + 3) % 7
    assert (weekday[b2b] >= 5).mean() < 0.02
    assert (weekday[~b2b] >= 5).mean() > 2 / 7
    month_day = np.char.add(
        (orders["day"].astype("datetime64[M]").astype(int) % 12 + 1).astype(str),
        np.char.zfill(
            ((orders["day"] - orders["day"].astype("datetime64[M]")).astype(int) + 1).astype(str),
            2,
        ),
    )
    closed = np.isin(month_day, ["1225", "1226", "1227", "1228", "1229", "1230", "1231", "101"])
    assert not (closed & b2b).any()


def test_december_sells_more_than_august_to_consumers(full_erp):
    orders = order_values(full_erp)
    segment = segments_of(full_erp)
    consumer = np.array([segment[c] == "consumer" for c in orders["customer"]])
    month = orders["day"].astype("datetime64[M]").astype(int) % 12 + 1
    december = (consumer & (month == 12)).sum()
    august = (consumer & (month == 8)).sum()
    assert december > 1.3 * august


# -- integrity ----------------------------------------------------------------------------------


def test_every_order_line_belongs_to_an_order_and_every_order_to_a_customer(small):
    erp = small["erp"]
    assert set(erp["order_lines"]["order_id"]) <= set(erp["orders"]["order_id"])
    assert set(erp["orders"]["customer_id"]) <= set(erp["customers"]["customer_id"])
    assert set(erp["refunds"]["order_id"]) <= set(erp["orders"]["order_id"])
    assert set(erp["order_lines"]["product_id"]) <= set(erp["products"]["product_id"])
    for name, table in erp.items():
        rows = list(zip(*(table[column] for column in contract_key(name)), strict=True))
        assert len(set(rows)) == len(rows), f"{name} keys are not unique"


def test_orders_follow_their_customer_and_lines_their_order(small):
    erp = small["erp"]
    opened = dict(zip(erp["customers"]["customer_id"], erp["customers"]["created_at"], strict=True))
    for customer, created in zip(
        erp["orders"]["customer_id"], erp["orders"]["created_at"], strict=True
    ):
        assert created >= opened[customer]


def test_tax_is_a_fifth_of_the_net_line_and_money_has_cents(full_erp):
    lines = full_erp["order_lines"]
    net = np.array(lines["quantity"]) * np.array(lines["unit_price"]) - np.array(
        lines["discount_amount"]
    )
    assert np.allclose(np.array(lines["tax_amount"]), np.round(net * 0.2, 2), atol=0.011)
    assert all(round(v, 2) == v for v in lines["unit_price"][:1000])
    assert set(full_erp["orders"]["currency"]) == {"EUR"}


def test_cancellations_and_refunds_happen_at_realistic_rates_and_later(full_erp):
    orders = full_erp["orders"]
    cancelled = [s == "cancelled" for s in orders["status"]]
    assert 0.02 < np.mean(cancelled) < 0.04
    assert all(
        u > c
        for u, c, x in zip(orders["updated_at"], orders["created_at"], cancelled, strict=True)
        if x
    )
    refunds = full_erp["refunds"]
    assert 0.03 < len(refunds["refund_id"]) / len(orders["order_id"]) < 0.05
    values = order_values(full_erp)
    value = dict(zip(orders["order_id"], values["value"], strict=True))
    ordered = dict(zip(orders["order_id"], orders["order_date"], strict=True))
    for order, amount, day in zip(
        refunds["order_id"], refunds["amount"], refunds["refund_date"], strict=True
    ):
        assert 0 < amount <= value[order] + 0.01
        lag = (date.fromisoformat(day) - date.fromisoformat(ordered[order])).days
        assert 3 <= lag <= 30


def test_default_scale_has_the_intended_size_and_mix(full_erp):
    customers = full_erp["customers"]
    assert 1400 < len(customers["customer_id"]) < 2200
    assert 25_000 < len(full_erp["orders"]["order_id"]) < 40_000
    assert 60_000 < len(full_erp["order_lines"]["order_line_id"]) < 100_000
    orders = order_values(full_erp)
    segment = segments_of(full_erp)
    smb = np.array([segment[c] == "smb" for c in orders["customer"]])
    share = orders["value"][smb].sum() / orders["value"].sum()
    assert 0.35 <= share <= 0.45
    assert set(customers["region"]) == {"north", "south", "east", "west"}


def test_scale_multiplies_customers():
    counts = [simulate(dataclasses.replace(SMALL, scale=s)).customers.count for s in (0.2, 0.6)]
    assert 2.6 < counts[1] / counts[0] < 3.4


def test_crm_objects_link_to_erp_customers_and_to_each_other(small):
    erp, objects = small["erp"], small["objects"]
    customer_type = dict(
        zip(erp["customers"]["customer_id"], erp["customers"]["customer_type"], strict=True)
    )
    ids = {name: {o[0] for o in objects[name]} for name in OBJECT_TYPES}
    linked = [int(o[4]["erp_customer_id"]) for o in objects["companies"] if o[4]["erp_customer_id"]]
    assert linked and all(customer_type[c] == "b2b" for c in linked)
    assert len(linked) == len(set(linked))
    assert {c for c, t in customer_type.items() if t == "b2b"} == set(linked)
    b2c = [int(o[4]["erp_customer_id"]) for o in objects["contacts"] if o[4]["erp_customer_id"]]
    assert b2c and all(customer_type[c] == "b2c" for c in b2c)
    for name in ("contacts", "deals", "tickets", "feedback", "engagements", "reviews"):
        companies = {o[4]["company_id"] for o in objects[name]} - {""}
        assert companies <= ids["companies"], name
    for name in ("feedback", "engagements"):
        assert {o[4]["contact_id"] for o in objects[name]} - {""} <= ids["contacts"], name
    assert {o[4]["ticket_id"] for o in objects["feedback"]} - {""} <= ids["tickets"]
    leads = Counter(o[4]["lifecyclestage"] for o in objects["contacts"])
    assert leads["lead"] and leads["marketingqualifiedlead"] and leads["customer"]


def test_won_deals_match_first_orders(small):
    erp, objects = small["erp"], small["objects"]
    company_customer = {o[0]: o[4]["erp_customer_id"] for o in objects["companies"]}
    first = {}
    values = order_values(erp)
    for customer, day, value in zip(
        values["customer"], values["day"], values["value"], strict=True
    ):
        first.setdefault(customer, (str(day), round(value, 2)))
    history_start = min(erp["orders"]["order_date"])
    created = dict(
        zip(erp["customers"]["customer_id"], erp["customers"]["created_at"], strict=True)
    )
    won = [o[4] for o in objects["deals"] if o[4]["dealstage"] == "closedwon"]
    checked = 0
    for deal in won:
        customer = int(company_customer[deal["company_id"]])
        if created[customer][:10] > history_start:
            day, value = first[customer]
            assert deal["closedate"][:10] == day
            assert float(deal["amount"]) == pytest.approx(value, abs=0.01)
            checked += 1
    assert checked
    assert any(o[4]["dealstage"] == "closedlost" for o in objects["deals"])


def test_crm_properties_are_the_contract_columns_and_all_strings(small):
    columns = contract("crm")
    for name in OBJECT_TYPES:
        assert set(PROPERTIES[name]) == set(columns[name]) - ENVELOPE
        for _, created, updated, _, properties in small["objects"][name]:
            assert set(properties) == set(PROPERTIES[name])
            assert all(isinstance(v, str) for v in properties.values())
            assert created.endswith("Z") and updated.endswith("Z")
            datetime.fromisoformat(created)
    assert any(o[3] for o in small["objects"]["contacts"])  # some were deleted


def test_conversations_are_in_english_or_french_with_an_outcome_half_of_the_time(small):
    talks = [o[4] for o in small["objects"]["engagements"]]
    assert {t["hs_language"] for t in talks} == {"en", "fr"}
    assert {t["hs_engagement_type"] for t in talks} == {"CALL", "EMAIL", "MEETING"}
    explicit = np.mean([t["hs_outcome"] != "" for t in talks])
    assert 0.4 < explicit < 0.6
    assert {t["hs_outcome"] for t in talks} == {"", "positive", "neutral", "negative"}
    french = [t["hs_body_preview"] for t in talks if t["hs_language"] == "fr"]
    assert any("satisfait" in body or "ravi" in body for body in french)


def test_survey_scores_stay_in_their_scales(small):
    ranges = {"csat": range(1, 6), "ces": range(1, 8), "nps": range(11)}
    feedback = [o[4] for o in small["objects"]["feedback"]]
    for answer in feedback:
        assert int(answer["hs_response_value"]) in ranges[answer["hs_survey_type"]]
        assert (answer["ticket_id"] != "") == (answer["hs_survey_type"] != "nps")
    assert {a["hs_survey_type"] for a in feedback} == set(ranges)


def test_web_sign_ups_are_the_contacts_they_created(small):
    contacts = {o[0]: o for o in small["objects"]["contacts"]}
    events = [e for es in small["web"].values() for e in es]
    assert all(list(e) == list(EVENT_KEYS) for e in events)
    assert len({e["event_id"] for e in events}) == len(events)
    sign_ups = [e for e in events if e["event_type"] == "sign_up"]
    assert sign_ups
    for event in sign_ups:
        contact = contacts[event["contact_id"]]
        assert contact[1] == event["occurred_at"]
        assert contact[4]["lead_source"] == event["channel"]
    per_day = np.mean([len({e["visitor_id"] for e in es}) for es in small["web"].values()])
    assert 40 * 0.2 <= per_day <= 80 * 0.2 * 1.2


# -- planted stories ----------------------------------------------------------------------------


def test_the_default_demo_plants_every_story():
    stories = planted_stories(DemoConfig(as_of=AS_OF))
    assert [s["story"] for s in stories] == [
        "segment_contraction",
        "region_churn",
        "csat_drop",
        "csat_drop",
        "quiet",
    ]


def test_planted_stories_list_the_enabled_stories_and_the_quiet_stretch():
    default = planted_stories(SMALL)
    assert [s["story"] for s in default] == ["segment_contraction", "quiet"]
    contraction, quiet = default
    assert contraction["start"] == AS_OF - timedelta(days=120)
    assert contraction["member"] == "smb" and contraction["effect"] == -0.40
    assert quiet["end"] == contraction["start"] - timedelta(days=30)
    assert quiet["start"] == date(2023, 6, 30) + timedelta(days=400)
    every = planted_stories(
        dataclasses.replace(SMALL, stories=Stories(region_churn=True, csat_drop=True))
    )
    kinds = {(s["story"], s["kind"]) for s in every}
    assert ("region_churn", "churn") in kinds and ("csat_drop", "satisfaction_drop") in kinds
    assert next(s for s in every if s["kind"] == "quiet")["end"] == AS_OF - timedelta(days=230)
    for story in every:
        assert set(story) >= {
            "story",
            "kind",
            "dimension",
            "member",
            "start",
            "end",
            "effect",
            "kpis",
        }


def test_the_smb_contraction_shows_in_the_baskets_of_existing_customers(full_erp):
    onset = np.datetime64(AS_OF - timedelta(days=120))
    orders = order_values(full_erp)
    segment = segments_of(full_erp)
    first_order = {}
    for customer, day in zip(orders["customer"], orders["day"], strict=True):
        first_order.setdefault(customer, day)
    existing = np.array([first_order[c] < onset for c in orders["customer"]])
    before = (
        orders["completed"] & existing & (orders["day"] < onset) & (orders["day"] >= onset - 365)
    )
    after = orders["completed"] & existing & (orders["day"] >= onset)
    ratios = {}
    for name in ("enterprise", "smb", "consumer"):
        member = np.array([segment[c] == name for c in orders["customer"]])
        ratios[name] = (
            orders["value"][after & member].mean() / orders["value"][before & member].mean()
        )
    assert ratios["smb"] == pytest.approx(0.6, abs=0.06)
    assert ratios["enterprise"] == pytest.approx(1.0, abs=0.08)
    assert ratios["consumer"] == pytest.approx(1.0, abs=0.08)


def test_the_quiet_stretch_is_quiet(full_erp):
    quiet = next(s for s in planted_stories(FULL) if s["kind"] == "quiet")
    orders = order_values(full_erp)
    start = trailing_value_per_customer(orders, quiet["start"])
    end = trailing_value_per_customer(orders, quiet["end"])
    assert end / start == pytest.approx(1.0, abs=0.03)
    days = [
        quiet["start"] + timedelta(days=d)
        for d in range(0, (quiet["end"] - quiet["start"]).days, 30)
    ]
    values = [trailing_value_per_customer(orders, d) for d in days]
    quarter_changes = [
        later / earlier - 1 for earlier, later in zip(values, values[3:], strict=False)
    ]
    assert min(quarter_changes) > -0.025


def test_region_churn_stops_half_of_the_region_s_customers():
    config = dataclasses.replace(FULL, stories=Stories(region_churn=True))
    erp = collect(erp_tables(simulate(config)))
    onset = np.datetime64(AS_OF - timedelta(days=200))
    orders = order_values(erp)
    region = dict(zip(erp["customers"]["customer_id"], erp["customers"]["region"], strict=True))
    earlier = set(orders["customer"][(orders["day"] < onset) & (orders["day"] >= onset - 365)])
    later = set(orders["customer"][orders["day"] >= onset + 60])
    still = {
        name: np.mean([c in later for c in earlier if region[c] == name])
        for name in ("north", "south", "east", "west")
    }
    others = np.mean([still[name] for name in ("north", "east", "west")])
    assert still["south"] / others == pytest.approx(0.5, abs=0.1)


def test_csat_drops_after_the_support_change_and_nps_follows():
    config = dataclasses.replace(FULL, scale=2.0, stories=Stories(csat_drop=True))
    feedback = build_crm(simulate(config)).table("feedback")
    kind = np.array(feedback.column("hs_survey_type"))
    score = np.array(feedback.column("hs_response_value")).astype(int)
    day = feedback.created.astype("datetime64[s]").astype("datetime64[D]")
    onset = np.datetime64(AS_OF - timedelta(days=90))
    csat = kind == "csat"
    satisfied_before = (score[csat & (day < onset)] >= 4).mean()
    satisfied_after = (score[csat & (day >= onset + 3)] >= 4).mean()
    assert satisfied_before == pytest.approx(0.85, abs=0.04)
    assert satisfied_after == pytest.approx(0.60, abs=0.1)

    def nps(mask):
        return 100 * ((score[mask] >= 9).mean() - (score[mask] <= 6).mean())

    answers = kind == "nps"
    assert nps(answers & (day >= onset) & (day < onset + 30)) > 20
    assert nps(answers & (day >= onset + 30)) < 15


# -- written demo -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"), SMALL)


def test_written_erp_has_the_contract_columns_with_types_sqlalchemy_understands(written):
    columns = contract("erp")
    inspector = sa.inspect(sa.create_engine(written.erp_url))
    for table, names in columns.items():
        reflected = {c["name"]: c["type"] for c in inspector.get_columns(table)}
        assert list(reflected) == names
    orders = {c["name"]: c["type"] for c in inspector.get_columns("orders")}
    assert isinstance(orders["order_date"], sa.Date)
    assert isinstance(orders["updated_at"], sa.DateTime)
    with sa.create_engine(written.erp_url).connect() as db:
        row = db.execute(sa.text("select order_date, updated_at from orders limit 1")).one()
        date.fromisoformat(row[0])
        datetime.strptime(row[1], "%Y-%m-%d %H:%M:%S")


def test_written_demo_holds_every_table_and_stories_json_matches_planted_stories(written):
    stories = json.loads(written.stories.read_text())
    expected = [
        {k: v.isoformat() if isinstance(v, date) else v for k, v in s.items()}
        for s in planted_stories(SMALL)
    ]
    assert stories == expected
    manifest = read_manifest(written)
    assert (manifest["seed"], manifest["scale"], manifest["as_of"]) == (42, 0.2, "2026-06-30")
    with sqlite3.connect(written.crm_db) as db:
        for name in OBJECT_TYPES:
            assert (
                db.execute(f"select count(*) from {name}").fetchone()[0] == manifest["rows"][name]
            )
    files = sorted(p.name for p in written.web_dir.iterdir())
    assert len(files) == 365 and files[-1] == web_file_name(AS_OF)
    events = [json.loads(line) for line in (written.web_dir / files[-1]).read_text().splitlines()]
    assert events
    for event in events:
        assert list(event) == [c for c in contract("web")["events"] if c != "_file_name"]


def test_ensure_demo_reuses_then_advances_keeping_the_anchor(tmp_path):
    paths = ensure_demo(tmp_path, AS_OF, scale=0.1)
    written_at = paths.erp_db.stat().st_mtime_ns
    assert ensure_demo(tmp_path, AS_OF, scale=0.1).erp_db.stat().st_mtime_ns == written_at
    oldest_web_file = paths.web_dir / web_file_name(AS_OF - timedelta(days=364))
    oldest = oldest_web_file.stat().st_mtime_ns

    ensure_demo(tmp_path, AS_OF + timedelta(days=2), scale=0.1)
    manifest = read_manifest(paths)
    assert manifest["anchor"] == AS_OF.isoformat()
    assert manifest["as_of"] == (AS_OF + timedelta(days=2)).isoformat()
    assert oldest_web_file.stat().st_mtime_ns == oldest  # past days are not rewritten
    assert (paths.web_dir / web_file_name(AS_OF + timedelta(days=2))).exists()
    assert json.loads(paths.stories.read_text())[0]["start"] == "2026-03-02"

    ensure_demo(tmp_path, AS_OF, scale=0.1, seed=7)  # another demo: anchored on its day
    manifest = read_manifest(paths)
    assert (manifest["seed"], manifest["as_of"], manifest["anchor"]) == (
        7,
        "2026-06-30",
        "2026-06-30",
    )
    assert not (paths.web_dir / web_file_name(AS_OF + timedelta(days=1))).exists()
    assert not list(tmp_path.glob(".writing-*"))
