"""The CRM reader against HubSpot's shapes: recorded pages served from loopback, and the demo
CRM server for what needs many objects (the search window)."""

import json
import logging
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest

from demo_company.crm_server import CrmServer
from demo_company.writer import write_crm_store
from orchestration.defs.ingest.assets import pipeline
from orchestration.lib.raw_contract import source_tables
from orchestration.lib.sources.crm import EPOCH, HubSpot, crm_objects, crm_source

PAGES = Path(__file__).parent / "data" / "hubspot"


class RecordedHubSpot:
    """The recorded pages on a loopback port: a search answers its object's page, a list
    with ``archived=true`` its archived page, an association batch read the recorded
    associations of the ids asked for, a pipelines read its page. An object type without a
    recorded search page (or listed in ``missing``) answers 404, as in an account without
    it; a custom object's name (``p_...``) 400, as HubSpot answers a name it cannot resolve to
    an object type."""

    def __init__(self, missing: tuple[str, ...] = ()) -> None:
        self.missing = set(missing)
        self.requests: list[tuple[str, str, dict]] = []

    def page(self, name: str) -> dict | None:
        path = PAGES / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def answer(self, method: str, url: str, body: dict) -> tuple[int, dict]:
        self.requests.append((method, url, body))
        parts = urlsplit(url)
        segments = parts.path.strip("/").split("/")
        not_found = {"status": "error", "message": "Not found", "category": "OBJECT_NOT_FOUND"}
        if segments[:3] == ["crm", "v3", "objects"]:
            object_type = segments[3]
            search = self.page(f"{object_type}.search")
            if object_type in self.missing or search is None:
                if object_type.startswith("p_"):
                    message = f"Unable to infer object type from: {object_type}"
                    return 400, {"status": "error", "message": message}
                return 404, not_found
            if segments[-1] == "search":
                return 200, search
            assert parse_qs(parts.query).get("archived") == ["true"]
            return 200, self.page(f"{object_type}.archived") or {"results": []}
        if segments[:3] == ["crm", "v4", "associations"]:
            recorded = self.page(f"associations.{segments[3]}.{segments[4]}") or {"results": []}
            asked = {str(item["id"]) for item in body["inputs"]}
            results = [r for r in recorded["results"] if r["from"]["id"] in asked]
            return 200, {**recorded, "status": "COMPLETE", "results": results}
        if segments[:3] == ["crm", "v3", "pipelines"]:
            return 200, self.page(f"pipelines.{segments[3]}")
        return 404, not_found


@pytest.fixture
def recorded():
    """Starts a recorded account; the test passes the object types it lacks."""
    servers = []

    def start(missing: tuple[str, ...] = ()) -> tuple[str, RecordedHubSpot]:
        account = RecordedHubSpot(missing)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.reply(*account.answer("GET", self.path, {}))

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                self.reply(*account.answer("POST", self.path, json.loads(raw)))

            def reply(self, status, body):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", account

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def landed(warehouse: Path, table: str) -> dict[str, dict]:
    """The rows of ``raw_crm.<table>`` by id, contract columns only."""
    columns = list(source_tables("crm")[table].columns)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(f"select {', '.join(columns)} from raw_crm.{table}").fetchall()
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_each_hubspot_object_lands_in_its_contract_table_field_by_field(recorded, warehouse):
    url, _ = recorded()
    pipeline("crm", warehouse).run(crm_source(url))

    companies = landed(warehouse, "companies")
    assert companies["101"] == {
        "id": "101",
        "created_at": at("2025-11-03T08:15:00Z"),
        "updated_at": at("2026-06-29T10:00:00Z"),
        "archived": False,
        "name": "Acme Tools",
        "domain": "acme-tools.example",
        "industry": "MACHINERY",
        "erp_customer_id": "4711",
        "lifecyclestage": "customer",
    }
    assert companies["102"]["erp_customer_id"] == ""
    # a deleted company (the list endpoint with archived=true) is a version dated by deletion
    assert companies["103"]["archived"] is True
    assert companies["103"]["updated_at"] == at("2026-06-02T16:45:00Z")

    contacts = landed(warehouse, "contacts")
    assert contacts["201"] == {
        "id": "201",
        "created_at": at("2026-01-05T10:20:00Z"),
        "updated_at": at("2026-06-28T07:00:00Z"),
        "archived": False,
        "email": "ines.martin@bolt-partners.example",
        "firstname": "Ines",
        "lastname": "Martin",
        "lifecyclestage": "opportunity",
        "company_id": "102",
        "erp_customer_id": "",
        "lead_source": "paid_search",
        "createdate": "2026-01-05T10:20:00.000Z",
    }
    assert (contacts["202"]["erp_customer_id"], contacts["202"]["lead_source"]) == (
        "4800",
        "direct",
    )

    deals = landed(warehouse, "deals")
    assert deals["301"] | {"created_at": None, "updated_at": None} == {
        "id": "301",
        "created_at": None,
        "updated_at": None,
        "archived": False,
        "dealname": "Acme Tools - renewal 2026",
        "amount": "12500.00",
        "dealstage": "closedwon",
        "closedate": "2026-06-20T15:00:00.000Z",
        "company_id": "101",
    }

    tickets = landed(warehouse, "tickets")
    assert tickets["401"] | {"created_at": None, "updated_at": None} == {
        "id": "401",
        "created_at": None,
        "updated_at": None,
        "archived": False,
        "subject": "Drill bits arrived damaged",
        "hs_pipeline_stage": "closed",
        "hs_ticket_category": "PRODUCT_ISSUE",
        "hs_ticket_priority": "HIGH",
        "company_id": "101",
        "closed_date": "2026-06-24T16:10:00.000Z",
    }

    feedback = landed(warehouse, "feedback")
    assert feedback["501"] | {"created_at": None} == {
        "id": "501",
        "created_at": None,
        "updated_at": at("2026-06-26T19:02:00Z"),
        "archived": False,
        "hs_survey_type": "NPS",
        "hs_response_value": "9",
        "hs_submission_timestamp": "2026-06-26T19:01:44.000Z",
        "company_id": "102",  # the primary company of the contact who answered
        "contact_id": "201",
        "ticket_id": "",
        "hs_content": "Great tools, quick delivery.",
    }
    assert (feedback["502"]["ticket_id"], feedback["502"]["company_id"]) == ("401", "")

    engagements = landed(warehouse, "engagements")
    assert {i: row["hs_engagement_type"] for i, row in engagements.items()} == {
        "601": "CALL",
        "602": "EMAIL",
        "603": "MEETING",
        "604": "NOTE",
    }
    assert engagements["601"] | {"created_at": None, "updated_at": None} == {
        "id": "601",
        "created_at": None,
        "updated_at": None,
        "archived": False,
        "hs_engagement_type": "CALL",
        "hs_timestamp": "2026-06-27T13:45:00.000Z",
        "company_id": "101",
        "contact_id": "201",
        "hs_language": "fr",
        "hs_body_preview": "Client ravi de la livraison, souhaite renouveler.",
        "hs_outcome": "positive",
    }
    assert engagements["602"]["hs_body_preview"] == "Could you send the updated price list?"
    assert engagements["604"]["hs_body_preview"] == "Asked for a discount on the next order."

    reviews = landed(warehouse, "reviews")
    assert reviews["701"] | {"created_at": None, "updated_at": None} == {
        "id": "701",
        "created_at": None,
        "updated_at": None,
        "archived": False,
        "platform": "google",
        "rating": "5",
        "title": "Recommended",
        "body": "Solid drills, fair prices.",
        "hs_language": "en",
        "published_at": "2026-06-21T18:12:00.000Z",
        "company_id": "",
    }


def test_a_property_sent_as_a_json_number_or_flag_lands_as_its_text(recorded, warehouse):
    url, account = recorded()
    recorded_page = account.page

    def typed(name: str) -> dict | None:
        page = recorded_page(name)
        if name == "feedback_submissions.search":
            first = page["results"][0]["properties"]
            first.update(hs_value=0, hs_content=None, hs_survey_channel=True)
            page["results"][1]["properties"]["hs_value"] = 7.5
        return page

    account.page = typed
    pipeline("crm", warehouse).run(crm_source(url))

    feedback = landed(warehouse, "feedback")
    assert (feedback["501"]["hs_response_value"], feedback["501"]["hs_content"]) == ("0", "")
    assert feedback["502"]["hs_response_value"] == "7.5"


def test_changes_are_searched_by_last_modified_date_and_deletions_listed(recorded, warehouse):
    url, account = recorded()
    pipeline("crm", warehouse).run(crm_source(url).with_resources("contacts", "companies"))
    searches = {u: body for method, u, body in account.requests if u.endswith("/search")}
    contacts = searches["/crm/v3/objects/contacts/search"]
    assert contacts["filterGroups"] == [
        {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}
    ]
    assert contacts["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert {"email", "hs_analytics_source", "erp_customer_id"} <= set(contacts["properties"])
    companies = searches["/crm/v3/objects/companies/search"]
    assert companies["filterGroups"][0]["filters"][0]["propertyName"] == "hs_lastmodifieddate"
    assert any(
        method == "GET" and u.startswith("/crm/v3/objects/companies?") and "archived=true" in u
        for method, u, _ in account.requests
    )


def test_deal_and_ticket_stage_ids_are_resolved_through_their_pipelines(recorded, warehouse):
    url, _ = recorded()
    pipeline("crm", warehouse).run(crm_source(url).with_resources("deals", "tickets"))
    stages = {i: row["dealstage"] for i, row in landed(warehouse, "deals").items()}
    # a custom pipeline's numeric won stage, the default lost stage, an open stage by its id
    assert stages == {"301": "closedwon", "302": "closedlost", "303": "qualifiedtobuy"}
    tickets = {i: row["hs_pipeline_stage"] for i, row in landed(warehouse, "tickets").items()}
    assert tickets == {"401": "closed", "402": "open"}


def test_associations_fill_the_link_columns_primary_first(recorded, warehouse):
    url, account = recorded()
    pipeline("crm", warehouse).run(crm_source(url).with_resources("contacts", "deals"))
    # contact 201 is associated with 101 and, as primary, with 102
    assert landed(warehouse, "contacts")["201"]["company_id"] == "102"
    assert landed(warehouse, "contacts")["202"]["company_id"] == ""
    deals = landed(warehouse, "deals")
    assert (deals["301"]["company_id"], deals["302"]["company_id"]) == ("101", "102")
    batch = [body for _, u, body in account.requests if u.endswith("/deals/companies/batch/read")]
    assert batch == [{"inputs": [{"id": "301"}, {"id": "302"}, {"id": "303"}]}]


@pytest.mark.parametrize(
    ("erp_link", "company_link", "consumer_link"),
    [
        ("erp_customer_id", "4711", "4800"),
        ("sap_customer_number", "5001", ""),
        ("domain", None, "4800"),  # companies by domain; consumers by the default property
    ],
)
def test_the_erp_link_is_the_configured_company_property_or_the_domain(
    recorded, warehouse, erp_link, company_link, consumer_link
):
    url, account = recorded()
    source = crm_source(url, erp_link=erp_link).with_resources("companies", "contacts")
    pipeline("crm", warehouse).run(source)
    company = landed(warehouse, "companies")["101"]
    assert company["erp_customer_id"] == company_link
    assert company["domain"] == "acme-tools.example"  # what staging matches with domain
    assert landed(warehouse, "contacts")["202"]["erp_customer_id"] == consumer_link
    (search,) = [body for _, u, body in account.requests if u.endswith("/companies/search")]
    erp_properties = set(search["properties"]) & {"erp_customer_id", "sap_customer_number"}
    assert erp_properties == (set() if erp_link == "domain" else {erp_link})


def test_an_object_type_the_account_lacks_is_a_warning_and_its_table_lands_empty(
    recorded, warehouse, caplog
):
    url, _ = recorded(missing=("feedback_submissions", "p_reviews"))
    with caplog.at_level(logging.WARNING, logger="orchestration.lib.sources.crm"):
        pipeline("crm", warehouse).run(crm_source(url))
    (warning,) = [
        r.getMessage() for r in caplog.records if "feedback_submissions" in r.getMessage()
    ]
    assert "404" in warning and "raw_crm.feedback" in warning and "Service Hub" in warning
    (warning,) = [r.getMessage() for r in caplog.records if "p_reviews" in r.getMessage()]
    assert "400" in warning and "raw_crm.reviews" in warning and "CRM_REVIEWS_OBJECT" in warning
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw_crm.feedback").fetchone() == (0,)
        assert con.execute("select count(*) from raw_crm.reviews").fetchone() == (0,)
        columns = {
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw_crm' and table_name = 'feedback'"
            ).fetchall()
        }
    assert set(source_tables("crm")["feedback"].columns) <= columns
    assert len(landed(warehouse, "companies")) == 3  # the other objects still land


def contact(number: int, updated: str) -> tuple:
    properties = {
        "email": f"person{number}@inbox.example",
        "firstname": "Ann",
        "lastname": f"Person{number}",
        "lifecyclestage": "lead",
        "company_id": "",
        "erp_customer_id": "",
        "lead_source": "organic",
        "createdate": "2026-01-01T09:00:00Z",
    }
    return (str(1000 + number), "2026-01-01T09:00:00Z", updated, False, properties)


def test_a_search_past_its_window_starts_again_from_the_last_date_losing_and_repeating_none(
    tmp_path,
):
    # 20 contacts a minute apart, 30 modified at the same second (more than a window of 25:
    # read by id), 10 more after; each window ends in the middle of a shared date.
    times = [f"2026-03-01T10:{m:02d}:00Z" for m in range(20)]
    times += ["2026-03-02T08:00:00Z"] * 30 + [f"2026-03-03T10:{m:02d}:00Z" for m in range(10)]
    contacts = [contact(n, when) for n, when in enumerate(times)]
    store = tmp_path / "crm.sqlite"
    write_crm_store(store, [("contacts", contacts[::-1])])
    with CrmServer(store, search_window=25) as server:
        api = HubSpot(server.url, None)
        pages = list(api.changed(crm_objects()["contacts"][0], EPOCH))
        searches = [path for method, path in server.served if path.endswith("/search")]
    read = [o["id"] for page in pages for o in page]
    assert sorted(read) == sorted(c[0] for c in contacts)
    assert len(read) == len(set(read)) == 60
    assert len(searches) >= 4  # the windows and the date read by id


def test_a_search_from_a_date_reads_only_what_changed_since(tmp_path):
    contacts = [contact(n, f"2026-03-{1 + n:02d}T10:00:00Z") for n in range(10)]
    store = tmp_path / "crm.sqlite"
    write_crm_store(store, [("contacts", contacts)])
    with CrmServer(store) as server:
        api = HubSpot(server.url, None)
        since = datetime(2026, 3, 8, 10, tzinfo=UTC)
        read = [o["id"] for page in api.changed(crm_objects()["contacts"][0], since) for o in page]
    assert read == ["1007", "1008", "1009"]
