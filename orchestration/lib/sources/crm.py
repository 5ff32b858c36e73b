"""The CRM, read from a HubSpot CRM v3-shaped REST API.

dlt's REST client pages with the ``after`` cursor and retries ``429`` (honouring
``Retry-After``) and ``5xx`` with exponential back-off. Each object's ``properties`` are
flattened into columns and kept as the text the API sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from orchestration.lib.raw_contract import RawTable, source_tables
from orchestration.lib.sources._contract import contract_resource, incremental_cursor

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PAGE_SIZE = 100  # HubSpot's maximum for list endpoints


@dlt.source(name="crm")
def crm_source(
    api_url: str | None = None, token: str | None = None, lookback_days: float = 3
) -> Iterator[Any]:
    """One resource per CRM object type; ``api_url`` None means the source is off."""
    for table in source_tables("crm").values():
        cursor = incremental_cursor(table.cursor, EPOCH, lag=lookback_days * 86_400)
        rows = None if api_url is None else _reader(api_url, token, table)
        yield contract_resource(table, rows, cursor)


def flatten(obj: dict) -> dict:
    """A CRM v3 object as one raw row: its envelope plus every property it carries."""
    return {
        **obj.get("properties", {}),
        "id": str(obj["id"]),
        "created_at": _timestamp(obj.get("createdAt")),
        "updated_at": _timestamp(obj["updatedAt"]),
        "archived": bool(obj.get("archived", False)),
    }


def _timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _reader(api_url: str, token: str | None, table: RawTable):
    def read(cursor: dlt.sources.incremental[Any]) -> Iterator[list[dict]]:
        client = RESTClient(
            base_url=api_url,
            auth=BearerTokenAuth(token) if token else None,
            paginator=JSONResponseCursorPaginator(
                cursor_path="paging.next.after", cursor_param="after"
            ),
            data_selector="results",
        )
        since = cursor.last_value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # HubSpot lists live and deleted (archived) objects separately.
        for archived in ("false", "true"):
            params = {"limit": PAGE_SIZE, "archived": archived, "updatedAfter": since}
            for page in client.paginate(f"/crm/v3/objects/{table.name}", params=params):
                if page:
                    yield table.to_arrow([flatten(obj) for obj in page])

    return read
