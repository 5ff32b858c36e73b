import logging
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from orchestration.lib.settings import DBT_TARGETS, PROJECT_ROOT, SettingsError, load_settings


def test_nothing_set_means_the_demo_company_for_every_source():
    settings = load_settings({"AS_OF": "2026-06-30"})
    assert [s.mode for s in (settings.erp, settings.crm, settings.web)] == ["demo"] * 3
    assert settings.warehouse_path == PROJECT_ROOT / "data" / "warehouse.duckdb"
    assert settings.as_of == date(2026, 6, 30)


def test_the_serving_copy_dashboard_and_alert_file_lie_beside_the_warehouse_unless_set():
    data = PROJECT_ROOT / "data"
    demo = load_settings({})
    assert (demo.serving_path, demo.dashboard_path, demo.alert_channels) == (
        data / "serving.duckdb",
        data / "dashboard" / "index.html",
        ("jsonl://data/alerts.jsonl",),
    )
    acme = load_settings({"WAREHOUSE_PATH": "/srv/acme/warehouse.duckdb"})
    assert (acme.serving_path, acme.dashboard_path, acme.alert_channels) == (
        Path("/srv/acme/serving.duckdb"),
        Path("/srv/acme/dashboard/index.html"),
        ("jsonl:///srv/acme/alerts.jsonl",),
    )
    chosen = load_settings(
        {"WAREHOUSE_PATH": "/srv/acme/warehouse.duckdb", "SERVING_PATH": "/srv/bi/radar.duckdb"}
    )
    assert chosen.serving_path == Path("/srv/bi/radar.duckdb")


def test_beside_a_source_of_the_company_an_unset_one_is_off_not_the_demo():
    settings = load_settings(
        {"ERP_DATABASE_URL": "sqlite:////srv/erp.sqlite", "CRM_API_URL": "demo"}
    )
    assert (settings.erp.mode, settings.erp.location) == ("configured", "sqlite:////srv/erp.sqlite")
    assert settings.crm.mode == "demo" and not settings.crm.unset
    assert [(s.mode, s.unset) for s in (settings.web, settings.hr)] == [("off", True)] * 2
    # off and demo are not the company's own: the others stay the demo
    settings = load_settings({"ERP_DATABASE_URL": "off", "CRM_API_URL": "Demo"})
    assert [s.mode for s in (settings.erp, settings.crm, settings.web, settings.hr)] == [
        "off",
        "demo",
        "demo",
        "demo",
    ]


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


def test_alert_channels_are_a_comma_separated_list_of_urls():
    settings = load_settings({"ALERT_CHANNELS": "jsonl://a.jsonl, json://hook.example/x ,"})
    assert settings.alert_channels == ("jsonl://a.jsonl", "json://hook.example/x")


@pytest.mark.parametrize(
    "channels",
    ["jsonl://a.jsonl,foo", "jsonl://", "slack://secret-token", "carrier-pigeon://roof/secret"],
)
def test_a_channel_no_alert_could_reach_stops_before_any_work_its_secrets_unsaid(channels):
    with pytest.raises(SettingsError) as error:
        load_settings({"ALERT_CHANNELS": channels})
    message = str(error.value)
    assert message.startswith("ALERT_CHANNELS='") and "not a channel" in message
    assert "secret" not in message


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("AS_OF", "2026-02-30", "not a calendar day"),
        ("DEMO_SCALE", "abc", "not a number"),
        ("DEMO_SCALE", "0", "not above 0"),
        ("DEMO_SEED", "4.2", "not a whole number"),
        ("INCREMENTAL_LOOKBACK_MINUTES", "-5", "below 0"),
        ("REPORTING_TIMEZONE", "Europe/Atlantis", "not an IANA time zone"),
        ("REPORTING_CURRENCY", "euro", "not a three-letter ISO 4217"),
        ("CRM_ERP_LINK", "erp customer id", "CRM company property"),
        ("ERP_DATABASE_URL", "/srv/erp/erp.sqlite", "sqlite:////srv/erp/erp.sqlite"),
        ("ERP_DATABASE_URL", "none", "not a database URL"),
        ("CRM_API_URL", "api.hubapi.com", "not an http:// or https:// address"),
        ("DAGSTER_POSTGRES_URL", "sqlite:///runs.db", "not a PostgreSQL URL"),
        ("DAGSTER_POSTGRES_URL", "postgresql://host-but-no-database", "not a PostgreSQL URL"),
        ("DAGSTER_POSTGRES_URL", "postgresql://u@db/dagster", "needs the psycopg2 driver"),
    ],
)
def test_a_bad_setting_is_named_with_its_value_and_an_example(variable, value, problem):
    with pytest.raises(SettingsError) as error:
        load_settings({variable: value})
    message = str(error.value)
    assert message.startswith(f"{variable}={value!r}: ")
    assert problem in message and "Example of a good value: " in message
    assert error.value.variable == variable


def test_dagster_keeps_its_runs_in_local_files_unless_a_postgresql_url_is_set():
    assert load_settings({}).dagster_postgres_url is None
    url = "postgresql+psycopg2://dagster:secret@db.internal:5432/dagster"
    assert load_settings({"DAGSTER_POSTGRES_URL": url}).dagster_postgres_url == url


def test_a_folder_given_as_the_warehouse_file_is_refused(tmp_path):
    with pytest.raises(SettingsError, match=r"^WAREHOUSE_PATH=.*is a folder; a file path"):
        load_settings({"WAREHOUSE_PATH": str(tmp_path)})


def test_the_as_of_day_is_today_in_the_reporting_time_zone_unless_set():
    far_east, far_west = (
        load_settings({"REPORTING_TIMEZONE": zone}).as_of
        for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago")
    )
    # UTC+14 and UTC-11 are 25 hours apart: never the same calendar day.
    assert (far_east - far_west).days in (1, 2)
    assert load_settings({"AS_OF": "2026-06-30"}).as_of == date(2026, 6, 30)


def test_unset_the_day_of_a_company_of_its_own_is_yesterday_whose_data_is_whole():
    zone = {"REPORTING_TIMEZONE": "Europe/Berlin"}
    # read around the demo's, so that both see the same calendar day unless midnight passes
    before = load_settings(zone).as_of
    own = load_settings(zone | {"ERP_DATABASE_URL": "sqlite:////srv/erp.sqlite"}).as_of
    after = load_settings(zone).as_of
    assert own + timedelta(days=1) in (before, after)
    assert load_settings(zone | {"ERP_DATABASE_URL": "off"}).as_of in (before, after)
    own_set = {"AS_OF": "2026-06-30", "ERP_DATABASE_URL": "sqlite:////srv/erp.sqlite"}
    assert load_settings(own_set).as_of == date(2026, 6, 30)


def test_the_settings_dbt_reads_are_passed_as_its_vars_and_the_day_in_its_environment():
    settings = load_settings(
        {"AS_OF": "2026-06-30", "REPORTING_TIMEZONE": "Europe/Paris", "REPORTING_CURRENCY": "usd"}
    )
    assert settings.dbt_env() == {
        "DBT_AS_OF": "2026-06-30",
        "DBT_TARGET": "dev",
        "WAREHOUSE_PATH": str(PROJECT_ROOT / "data" / "warehouse.duckdb"),
        "SPARK_THRIFT_HOST": "127.0.0.1",
        "SPARK_THRIFT_PORT": "10000",
    }
    assert settings.dbt_vars() == {
        "reporting_timezone": "Europe/Paris",
        "reporting_currency": "USD",
        "incremental_lookback_minutes": 1440,
    }
    assert load_settings({"INCREMENTAL_LOOKBACK_MINUTES": "0"}).incremental_lookback_minutes == 0


def test_a_bad_setting_stops_the_command_before_any_work(monkeypatch, capsys):
    from orchestration.__main__ import main

    monkeypatch.setenv("DEMO_SCALE", "abc")
    assert main(["run"]) == 2
    assert "DEMO_SCALE='abc': not a number" in capsys.readouterr().err


def test_the_crm_reviews_object_can_be_named_or_switched_off():
    assert load_settings({}).crm_reviews_object == "p_reviews"
    assert load_settings({"CRM_REVIEWS_OBJECT": "2-1234567"}).crm_reviews_object == "2-1234567"
    assert load_settings({"CRM_REVIEWS_OBJECT": "off"}).crm_reviews_object is None


def test_the_engine_is_the_type_of_the_dbt_target_in_profiles_yml():
    profiles = yaml.safe_load((PROJECT_ROOT / "profiles.yml").read_text())
    outputs = profiles["customer_value_radar"]["outputs"]
    assert {target: output["type"] for target, output in outputs.items()} == DBT_TARGETS
    assert load_settings({}).engine == "duckdb"
    spark = load_settings(
        {"DBT_TARGET": "spark", "STORAGE_LOCATION": "lake", "SPARK_THRIFT_PORT": "10001"}
    )
    assert (spark.engine, spark.storage_location) == ("spark", str(PROJECT_ROOT / "lake"))
    assert spark.dbt_env()["SPARK_THRIFT_PORT"] == "10001"
    url = load_settings({"DBT_TARGET": "spark", "STORAGE_LOCATION": "s3://lake/radar"})
    assert url.storage_location == "s3://lake/radar"


def test_on_spark_each_source_lands_in_a_duckdb_file_of_its_own():
    duck = load_settings({"WAREHOUSE_PATH": "/srv/radar/warehouse.duckdb"})
    assert duck.landing_path("erp") == duck.warehouse_path
    spark = load_settings(
        {
            "WAREHOUSE_PATH": "/srv/radar/warehouse.duckdb",
            "DBT_TARGET": "spark",
            "STORAGE_LOCATION": "/mnt/lake",
        }
    )
    assert spark.landing_path("erp") == Path("/srv/radar/landing/erp.duckdb")
    assert spark.landing_path("crm") == Path("/srv/radar/landing/crm.duckdb")


def test_a_spark_target_without_a_storage_location_or_an_unknown_target_is_refused():
    with pytest.raises(SettingsError, match=r"STORAGE_LOCATION=''.*reads the raw tables"):
        load_settings({"DBT_TARGET": "spark"})
    with pytest.raises(SettingsError, match=r"DBT_TARGET='prod'.*not a target of profiles\.yml"):
        load_settings({"DBT_TARGET": "prod"})


def test_an_unset_source_beside_one_of_the_company_lands_nothing_and_says_why(monkeypatch, caplog):
    from orchestration.defs.ingest.systems import SourceSystems

    monkeypatch.setenv("ERP_DATABASE_URL", "sqlite:////srv/erp.sqlite")
    monkeypatch.delenv("CRM_API_URL", raising=False)
    log = logging.getLogger("test_settings")
    with caplog.at_level(logging.WARNING), SourceSystems().location("crm", log) as location:
        assert location is None
    assert "CRM_API_URL unset, beside a source of your own" in caplog.text


def test_the_command_line_installs_the_local_instance_in_a_dagster_home_without_one(
    tmp_path, monkeypatch, capsys
):
    from orchestration.__main__ import main

    home = tmp_path / "home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("ERP_DATABASE_URL", f"sqlite:///{tmp_path / 'missing.sqlite'}")
    for name in ("CRM_API_URL", "WEB_EVENTS_PATH", "HR_SURVEY_PATH"):
        monkeypatch.setenv(name, "off")
    main(["check"])
    installed = (home / "dagster.yaml").read_text()
    assert installed == (PROJECT_ROOT / "orchestration" / "dagster.yaml").read_text()
    assert f"copied to {home / 'dagster.yaml'}" in capsys.readouterr().out
