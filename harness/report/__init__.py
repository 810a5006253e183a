"""Reports: the results document (JSON), and the HTML pages rendered from it."""

from harness.report.document import build_document, load_document, merge_documents, write_report

__all__ = ["build_document", "load_document", "merge_documents", "write_report"]
