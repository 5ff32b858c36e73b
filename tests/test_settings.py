from datetime import date

from orchestration.lib.settings import PROJECT_ROOT, load_settings


def test_nothing_set_means_the_demo_company_for_every_source():
    settings = load_settings({"AS_OF": "2026-06-30"})
    assert [s.mode for s in (settings.erp, settings.crm, settings.web)] == ["demo"] * 3
    assert settings.warehouse_path == PROJECT_ROOT / "data" / "warehouse.duckdb"
    assert settings.as_of == date(2026, 6, 30)
    assert settings.uses_demo


def test_a_source_set_to_off_is_switched_off_and_others_are_configured():
    settings = load_settings(
        {
            "ERP_DATABASE_URL": "OFF",
            "CRM_API_URL": "https://api.hubapi.com",
            "CRM_API_TOKEN": "secret",
            "WEB_EVENTS_PATH": "/landing/web",
            "WAREHOUSE_PATH": "/tmp/w.duckdb",
        }
    )
    assert settings.erp.mode == "off" and not settings.erp.is_on
    assert (settings.crm.mode, settings.crm.location) == ("configured", "https://api.hubapi.com")
    assert settings.crm_token == "secret"
    assert settings.web.location == "/landing/web"
    assert str(settings.warehouse_path) == "/tmp/w.duckdb"
    assert not settings.uses_demo


def test_alert_channels_are_a_comma_separated_list_of_urls():
    settings = load_settings({"ALERT_CHANNELS": "jsonl://a.jsonl, https://hook.example/x ,"})
    assert settings.alert_channels == ("jsonl://a.jsonl", "https://hook.example/x")
