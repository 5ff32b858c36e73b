"""The demo CRM API: HubSpot v3 listing, paging, incremental reads, auth and injected faults."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import date

import pytest

from demo_company.crm_server import CrmServer
from demo_company.simulator import DemoConfig
from demo_company.writer import write_crm_store, write_demo

TOKEN = "pat-demo-123"


def contact(number: int, updated: str, archived: bool = False):
    return (
        str(1000 + number),
        "2026-01-01T09:00:00Z",
        updated,
        archived,
        {"email": f"person{number}@inbox.example", "lifecyclestage": "lead"},
    )


# 23 live contacts, several sharing an updatedAt (the cursor must still see each once),
# and 3 archived ones.
LIVE = [contact(n, f"2026-03-{1 + n // 3:02d}T10:00:00Z") for n in range(23)]
ARCHIVED = [contact(100 + n, f"2026-04-0{1 + n}T08:00:00Z", archived=True) for n in range(3)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = tmp_path_factory.mktemp("crm") / "crm.sqlite"
    write_crm_store(store, [("contacts", LIVE + ARCHIVED), ("companies", [])])
    with CrmServer(store, token=TOKEN) as running:
        yield running


def get(server: CrmServer, path: str, token: str | None = TOKEN) -> tuple[int, dict, dict]:
    request = urllib.request.Request(server.url + path)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def read_all(server: CrmServer, query: str) -> tuple[list[dict], int]:
    """Every object of a listing, following paging.next.after; and the number of pages."""
    results, pages, after = [], 0, None
    while True:
        path = f"/crm/v3/objects/contacts?{query}" + (f"&after={after}" if after else "")
        status, body, _ = get(server, path)
        assert status == 200, body
        results += body["results"]
        pages += 1
        if "paging" not in body:
            return results, pages
        after = body["paging"]["next"]["after"]


def test_paging_with_limit_7_returns_each_live_object_exactly_once(server):
    results, pages = read_all(server, "limit=7")
    assert [r["id"] for r in results] == [c[0] for c in LIVE]
    assert pages == 4
    first = results[0]
    assert set(first) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert first["archived"] is False
    assert first["properties"]["email"] == "person0@inbox.example"


def test_objects_come_in_updated_at_then_id_order(server):
    results, _ = read_all(server, "limit=100")
    keys = [(r["updatedAt"], r["id"]) for r in results]
    assert keys == sorted(keys)


def test_paging_link_repeats_the_query_with_the_cursor(server):
    _, body, _ = get(server, "/crm/v3/objects/contacts?limit=5&archived=false")
    link = body["paging"]["next"]["link"]
    assert link.startswith(server.url + "/crm/v3/objects/contacts?")
    assert "limit=5" in link and f"after={body['paging']['next']['after']}" in link


def test_default_limit_is_10_and_at_most_100_are_returned(server):
    assert len(get(server, "/crm/v3/objects/contacts")[1]["results"]) == 10
    assert len(get(server, "/crm/v3/objects/contacts?limit=500")[1]["results"]) == 23


def test_updated_after_is_inclusive(server):
    results, _ = read_all(server, "limit=7&updatedAfter=2026-03-07T10:00:00Z")
    assert [r["id"] for r in results] == [c[0] for c in LIVE if c[2] >= "2026-03-07T10:00:00Z"]
    assert results[0]["updatedAt"] == "2026-03-07T10:00:00Z"
    millis = "1772877600000"  # 2026-03-07T10:00:00Z as epoch milliseconds
    assert read_all(server, f"limit=7&updatedAfter={millis}")[0] == results


def test_archived_true_lists_only_deleted_objects(server):
    results, _ = read_all(server, "limit=2&archived=true")
    assert [r["id"] for r in results] == [c[0] for c in ARCHIVED]
    assert all(r["archived"] for r in results)


def test_properties_parameter_selects_the_properties(server):
    _, body, _ = get(server, "/crm/v3/objects/contacts?limit=1&properties=lifecyclestage")
    assert body["results"][0]["properties"] == {"lifecyclestage": "lead"}


def test_a_wrong_or_missing_token_is_401_with_a_json_error(server):
    for token in ("wrong", None):
        status, body, _ = get(server, "/crm/v3/objects/contacts", token=token)
        assert status == 401
        assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION"


def test_unknown_object_types_and_bad_parameters_are_refused(server):
    assert get(server, "/crm/v3/objects/unicorns")[0] == 404
    assert get(server, "/crm/v3/objects/contacts?limit=ten")[0] == 400
    assert get(server, "/crm/v3/objects/contacts?after=%%%")[0] == 400


def test_an_injected_429_carries_retry_after_then_the_api_recovers(server):
    server.inject_fault(429, retry_after=2)
    status, body, headers = get(server, "/crm/v3/objects/contacts")
    assert status == 429
    assert headers["Retry-After"] == "2"
    assert body["errorType"] == "RATE_LIMIT"
    assert get(server, "/crm/v3/objects/contacts")[0] == 200


def test_injected_server_errors_last_the_given_number_of_requests(server):
    server.inject_fault(500, times=2)
    statuses = [get(server, "/crm/v3/objects/contacts")[0] for _ in range(3)]
    assert statuses == [500, 500, 200]


def test_requests_are_counted(server):
    before = server.requests
    get(server, "/crm/v3/objects/companies")
    get(server, "/crm/v3/objects/nothing")
    assert server.requests == before + 2


def test_serves_a_written_demo_without_a_token(tmp_path):
    paths = write_demo(tmp_path, DemoConfig(as_of=date(2026, 6, 30), scale=0.05))
    with CrmServer(paths.crm_db) as server:
        assert server.url.startswith("http://127.0.0.1:")
        live, _ = read_all(server, "limit=100")
        deleted, _ = read_all(server, "limit=100&archived=true")
    rows = json.loads(paths.manifest.read_text())["rows"]["contacts"]
    assert len({r["id"] for r in live + deleted}) == rows
    assert deleted and all(r["archived"] for r in deleted)
