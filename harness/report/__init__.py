"""Reports: the results document (JSON), its HTML pages, and comparisons of two runs.

The results model and its strict decoder live in :mod:`harness.results`; this package writes
and reads documents (:mod:`~harness.report.document`), renders HTML (:mod:`~harness.report.html`
from the views of :mod:`~harness.report.model`), prints the console summary
(:mod:`~harness.report.text`) and compares runs (:mod:`~harness.report.compare`).
"""

from harness.report.document import build_document, load_document, merge_documents, write_report

__all__ = ["build_document", "load_document", "merge_documents", "write_report"]
