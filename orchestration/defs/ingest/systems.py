"""Where each source system lives: the user's own, or the embedded demo company."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from orchestration.lib.settings import Settings, load_settings


class SourceSystems(dg.ConfigurableResource):
    """Resolves a source to the location its extraction reads, starting the demo if needed.

    The demo company is generated on first use (and regenerated when ``AS_OF`` moves on);
    its CRM is served on loopback, by a process of its own, only while the extraction runs.
    """

    @contextmanager
    def location(
        self, source: str, log: logging.Logger, settings: Settings | None = None
    ) -> Iterator[str | None]:
        """Where ``source`` is read from; the demo company is generated as of the run's day
        (``settings``, as the run sees them; the environment's by default)."""
        settings = settings or load_settings()
        system = getattr(settings, source)
        if system.mode == "off":
            log.warning(
                "%s source is off (%s): its raw tables are created empty and the "
                "marts built on them will be empty.",
                source.upper(),
                f"{system.setting}, beside a source of your own: set it to your system, or to "
                "demo for the demo company's"
                if system.unset
                else system.setting,
            )
            yield None
        elif system.mode == "configured":
            yield system.location
        else:
            with _demo_location(settings, source, log) as location:
                yield location


@contextmanager
def _demo_location(settings: Settings, source: str, log: logging.Logger) -> Iterator[str]:
    # Imported here: the simulator is only needed when a source runs on the demo.
    from demo_company.crm_server import served_apart
    from demo_company.writer import ensure_demo

    demo = ensure_demo(
        settings.demo_dir, settings.as_of, seed=settings.demo_seed, scale=settings.demo_scale
    )
    log.info(
        "%s source: the demo company as of %s (%s).",
        source.upper(),
        settings.as_of,
        getattr(settings, source).setting,
    )
    if source == "erp":
        yield demo.erp_url
    elif source == "web":
        yield str(demo.web_dir)
    elif source == "hr":
        yield str(demo.hr_dir)
    else:
        with served_apart(demo.crm_db) as url:
            yield url
