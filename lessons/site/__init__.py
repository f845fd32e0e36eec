"""The static website of a knowledge base (``lessons site``): builder, page models,
templates and vendored assets. See docs/site.md."""

from __future__ import annotations

from lessons.site.build import BuildReport, SiteOptions, base_url_of, build_site
from lessons.site.serve import preview_server

__all__ = ["BuildReport", "SiteOptions", "base_url_of", "build_site", "preview_server"]
