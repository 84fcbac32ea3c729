"""The morning reports of one night in `reports/YYYY-MM-DD/` (see report.py)."""

from huracan_core.reports.report import REPORT_FILES, reports_dir, write_reports

__all__ = ["REPORT_FILES", "reports_dir", "write_reports"]
