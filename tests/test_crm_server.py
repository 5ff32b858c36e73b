"""The demo CRM API: HubSpot's list, search, associations and pipelines endpoints, auth and
injected faults."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import date

import pytest

from demo_company.crm_server import CrmServer, served_apart
from demo_company.simulator import DemoConfig
from demo_company.writer import write_crm_store, write_demo

TOKEN = "pat-demo-123"


def contact(number: int, updated: str, archived: bool = False, company: str = ""):
    return (
        str(1000 + number),
        "2026-01-01T09:00:00Z",
        updated,
        archived,
        {
            "email": f"person{number}@inbox.example",
            "firstname": "Ann",
            "lastname": f"Person{number}",
            "lifecyclestage": "lead",
            "company_id": company,
            "erp_customer_id": "",
            "lead_source": "paid_search",
            "createdate": "2026-01-01T09:00:00Z",
        },
    )


# 23 live contacts, several sharing a modified date (each must still be read once), the
# first linked to company 77; and 3 archived ones.
LIVE = [
    contact(n, f"2026-03-{1 + n // 3:02d}T10:00:00Z", company="77" * (n == 0)) for n in range(23)
]
ARCHIVED = [contact(100 + n, f"2026-04-0{1 + n}T08:00:00Z", archived=True) for n in range(3)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = tmp_path_factory.mktemp("crm") / "crm.sqlite"
    write_crm_store(store, [("contacts", LIVE[::-1] + ARCHIVED)])
    with CrmServer(store, token=TOKEN, search_window=20, disabled=("notes",)) as running:
        yield running


def call(
    server: CrmServer, path: str, body: dict | None = None, token: str | None = TOKEN
) -> tuple[int, dict, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data)
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def list_all(server: CrmServer, query: str) -> tuple[list[dict], int]:
    """Every object of a listing, following paging.next.after; and the number of pages."""
    results, pages, after = [], 0, None
    while True:
        path = f"/crm/v3/objects/contacts?{query}" + (f"&after={after}" if after else "")
        status, body, _ = call(server, path)
        assert status == 200, body
        results += body["results"]
        pages += 1
        if "paging" not in body:
            return results, pages
        after = body["paging"]["next"]["after"]


def since(moment: str) -> dict:
    return {
        "filterGroups": [
            {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": moment}]}
        ],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
    }


SEARCH = "/crm/v3/objects/contacts/search"


def test_listing_with_limit_7_returns_each_live_object_once_in_id_order(server):
    results, pages = list_all(server, "limit=7")
    assert [r["id"] for r in results] == sorted(c[0] for c in LIVE)
    assert pages == 4
    first = results[0]
    assert set(first) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert first["archived"] is False and first["updatedAt"] == "2026-03-01T10:00:00.000Z"
    assert first["properties"]["email"] == "person0@inbox.example"
    assert first["properties"]["hs_analytics_source"] == "PAID_SEARCH"
    assert first["properties"]["lastmodifieddate"] == "2026-03-01T10:00:00Z"


def test_archived_true_lists_only_deleted_objects_with_their_deletion_time(server):
    results, _ = list_all(server, "limit=2&archived=true")
    assert [r["id"] for r in results] == [c[0] for c in ARCHIVED]
    assert all(r["archived"] and r["archivedAt"] for r in results)


def test_the_properties_parameter_selects_the_properties(server):
    _, body, _ = call(server, "/crm/v3/objects/contacts?limit=1&properties=lifecyclestage")
    assert body["results"][0]["properties"] == {"lifecyclestage": "lead"}


def test_a_search_filters_on_the_modified_date_sorts_ascending_and_pages_by_offset(server):
    status, body, _ = call(server, SEARCH, since("2026-03-07T10:00:00Z") | {"limit": 4})
    assert status == 200
    expected = sorted((c[2], c[0]) for c in LIVE if c[2] >= "2026-03-07T10:00:00Z")
    assert body["total"] == len(expected)
    assert [(r["updatedAt"][:19] + "Z", r["id"]) for r in body["results"]] == expected[:4]
    assert body["paging"]["next"]["after"] == "4"
    millis = "1772877600000"  # 2026-03-07T10:00:00Z as epoch milliseconds
    assert call(server, SEARCH, since(millis) | {"limit": 4})[1] == body


def test_a_search_stops_at_its_window_while_the_total_counts_every_match(server):
    _, body, _ = call(server, SEARCH, since("0") | {"limit": 15, "after": "15"})
    assert body["total"] == 23
    assert len(body["results"]) == 5 and "paging" not in body  # the window ends at 20
    status, error, _ = call(server, SEARCH, since("0") | {"after": "20"})
    assert status == 400 and error["category"] == "VALIDATION_ERROR"


def test_a_search_by_object_id_reads_one_date_in_id_order(server):
    day = {"propertyName": "lastmodifieddate", "operator": "EQ", "value": "2026-03-02T10:00:00Z"}
    after = {"propertyName": "hs_object_id", "operator": "GT", "value": "1003"}
    body = {
        "filterGroups": [{"filters": [day, after]}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
    }
    _, answer, _ = call(server, SEARCH, body)
    assert [r["id"] for r in answer["results"]] == ["1004", "1005"]


def test_associations_are_read_in_batches_with_their_types(server):
    body = {"inputs": [{"id": "1000"}, {"id": "1001"}]}
    status, answer, _ = call(server, "/crm/v4/associations/contacts/companies/batch/read", body)
    assert status == 200 and answer["status"] == "COMPLETE"
    (result,) = answer["results"]
    assert result["from"] == {"id": "1000"}
    (target,) = result["to"]
    assert target["toObjectId"] == 77
    assert {t["typeId"] for t in target["associationTypes"]} == {1, 279}


def test_pipelines_hold_the_stages_and_their_meaning(server):
    _, deals, _ = call(server, "/crm/v3/pipelines/deals")
    stages = {s["id"]: s["metadata"] for s in deals["results"][0]["stages"]}
    assert stages["closedwon"] == {"isClosed": "true", "probability": "1.0"}
    _, tickets, _ = call(server, "/crm/v3/pipelines/tickets")
    states = {s["id"]: s["metadata"]["ticketState"] for s in tickets["results"][0]["stages"]}
    assert states == {"1": "OPEN", "2": "OPEN", "3": "OPEN", "4": "CLOSED"}


def test_a_wrong_or_missing_token_is_401_with_a_json_error(server):
    for token in ("wrong", None):
        status, body, _ = call(server, "/crm/v3/objects/contacts", token=token)
        assert status == 401
        assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION"


def test_unknown_or_disabled_object_types_and_bad_parameters_are_refused(server):
    assert call(server, "/crm/v3/objects/unicorns")[0] == 404
    assert call(server, "/crm/v3/objects/notes/search", {})[0] == 404  # disabled
    assert call(server, "/crm/v3/objects/feedback")[0] == 404  # not a HubSpot object
    assert call(server, "/crm/v3/objects/contacts?limit=ten")[0] == 400
    assert call(server, SEARCH, {"sorts": [{"propertyName": "email"}]})[0] == 400


def test_an_injected_429_carries_retry_after_then_the_api_recovers(server):
    server.inject_fault(429, retry_after=2)
    status, body, headers = call(server, "/crm/v3/objects/contacts")
    assert status == 429
    assert headers["Retry-After"] == "2"
    assert body["errorType"] == "RATE_LIMIT"
    assert call(server, "/crm/v3/objects/contacts")[0] == 200


def test_injected_server_errors_last_the_given_number_of_requests(server):
    server.inject_fault(500, times=2)
    statuses = [call(server, SEARCH, {})[0] for _ in range(3)]
    assert statuses == [500, 500, 200]


def test_requests_are_counted(server):
    before = server.requests
    call(server, "/crm/v3/objects/companies")
    call(server, "/crm/v3/objects/nothing")
    assert server.requests == before + 2


def test_serves_a_written_demo_without_a_token(tmp_path):
    paths = write_demo(tmp_path, DemoConfig(as_of=date(2026, 6, 30), scale=0.05))
    with CrmServer(paths.crm_db) as server:
        assert server.url.startswith("http://127.0.0.1:")
        live, _ = list_all(server, "limit=100")
        deleted, _ = list_all(server, "limit=100&archived=true")
        calls = {
            kind: len(list_all_of(server, kind))
            for kind in ("calls", "emails", "meetings", "notes")
        }
    manifest = json.loads(paths.manifest.read_text())["rows"]
    assert len({r["id"] for r in live + deleted}) == manifest["contacts"]
    assert deleted and all(r["archived"] for r in deleted)
    # the demo's engagements, served as HubSpot's calls, e-mails and meetings
    assert sum(calls.values()) == manifest["engagements"] and calls["notes"] == 0


def list_all_of(server: CrmServer, object_type: str) -> list[dict]:
    results = []
    for archived in ("false", "true"):
        after = ""
        while True:
            path = f"/crm/v3/objects/{object_type}?limit=100&archived={archived}&after={after}"
            _, body, _ = call(server, path)
            results += body["results"]
            if "paging" not in body:
                break
            after = body["paging"]["next"]["after"]
    return results


def test_a_store_served_by_a_process_of_its_own_answers_as_in_a_thread_and_stops_with_it(
    tmp_path,
):
    store = tmp_path / "crm.sqlite"
    write_crm_store(store, [("contacts", [contact(1, "2026-03-01T10:00:00Z")])])
    path = "/crm/v3/objects/contacts?limit=5"
    with CrmServer(store) as server:
        expected = json.load(urllib.request.urlopen(server.url + path))
    with served_apart(store, token="secret") as url:
        request = urllib.request.Request(url + path, headers={"Authorization": "Bearer secret"})
        assert json.load(urllib.request.urlopen(request)) == expected
        with pytest.raises(urllib.error.HTTPError, match="401"):
            urllib.request.urlopen(url + path)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + path, timeout=5)
