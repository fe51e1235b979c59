"""The worker's web pages: report a hazard from a phone, follow a report with its token."""

from hazard_reporter.pages.routes import pages

__all__ = ["pages"]
