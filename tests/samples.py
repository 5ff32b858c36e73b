"""Sample records shared by the extraction tests."""

# One web event as the raw contract takes it (dbt_project/models/staging/web/_web__sources.yml).
WEB_EVENT = {
    "event_id": "e1",
    "event_type": "page_view",
    "occurred_at": "2026-06-30T10:00:00Z",
    "visitor_id": "v1",
    "session_id": "s1",
    "channel": "organic",
    "page_path": "/",
    "contact_id": None,
}
