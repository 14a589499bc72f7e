"""The statement-document benchmark (issue 15 point 8, second half), run by ``bench/statement_pdf``:
one statement's PDF rendered in-process (``billing.render.pdf.statement_pdf`` of the statement's
view and document, as the download view builds them) against the HTML statement page of the same
month rendered in-process (the project's WSGI handler, logged in, page cache off) — goal: the PDF
≤ 3× the page's time. Peak memory of one PDF render (tracemalloc) is printed too.

    python -m bench.documents N     # after bench.tool seed, on the bench database
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
import tracemalloc

from bench.tool import HOLDER_6, InProcess, _cookie, _page_cache, last_month, setup_django

GOAL = 3.0


def main(runs: int) -> None:
    setup_django()
    from mypage import billing_engine as engine
    from mypage.billing.render.document import statement_document
    from mypage.billing.render.pdf import statement_pdf
    from mypage.billing.selectors import statement_view
    from mypage.contracts.models import Contract

    month = engine.Month.parse(last_month())
    contract = Contract.objects.select_related("plan__brand").get(customer_number=HOLDER_6)

    def pdf() -> bytes:
        # As the download view does: the statement (one query), the document, the render.
        fresh = Contract.objects.select_related("plan__brand").get(pk=contract.pk)
        view = statement_view(contract=fresh, month=month)
        return statement_pdf(statement_document(contract=fresh, view=view))

    app = InProcess()
    cookie = _cookie(HOLDER_6)
    path = f"/billing/monthly/{month}/"

    def page() -> bytes:
        status, body = app.get(path, cookie)
        if status != 200:
            sys.exit(f"GET {path}: {status}")
        return body

    def timed(fn, n: int) -> list[float]:
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
        return samples

    with _page_cache(on=False):
        data = pdf()
        html = page()
        for _ in range(5):  # warm both (templates, font subset tables, prepared queries)
            pdf()
            page()
        gc.collect()
        # Interleaved rounds, so that a slower stretch of the machine weighs on both alike.
        pdf_ms: list[float] = []
        page_ms: list[float] = []
        for _ in range(max(runs // 10, 1)):
            pdf_ms += timed(pdf, 10)
            page_ms += timed(page, 10)
        tracemalloc.start()
        pdf()
        _current, peak_pdf = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        tracemalloc.start()
        page()
        _current, peak_page = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    pdf_median, page_median = statistics.median(pdf_ms), statistics.median(page_ms)
    ratio = pdf_median / page_median
    result = {
        "statement": f"{HOLDER_6} {month}",
        "lines": len(statement_view(contract=contract, month=month).lines),
        "runs": len(pdf_ms),
        "pdf_ms_median": round(pdf_median, 2),
        "pdf_ms_p95": round(sorted(pdf_ms)[int(len(pdf_ms) * 0.95) - 1], 2),
        "page_ms_median": round(page_median, 2),
        "page_ms_p95": round(sorted(page_ms)[int(len(page_ms) * 0.95) - 1], 2),
        "ratio": round(ratio, 2),
        "pdf_bytes": len(data),
        "page_bytes": len(html),
        "pdf_peak_kib": round(peak_pdf / 1024),
        "page_peak_kib": round(peak_page / 1024),
    }
    out = os.environ.get("BENCH_RESULTS", "bench/results")
    report = "\n".join(
        [
            f"statement documents: {result['statement']} ({result['lines']} lines), "
            f"{result['runs']} runs each, interleaved",
            f"  PDF in-process (query + render)   median {pdf_median:7.2f} ms  "
            f"p95 {result['pdf_ms_p95']:7.2f} ms  "
            f"{len(data):,} bytes  peak memory {result['pdf_peak_kib']:,} KiB",
            f"  HTML statement page in-process    median {page_median:7.2f} ms  "
            f"p95 {result['page_ms_p95']:7.2f} ms  "
            f"{len(html):,} bytes  peak memory {result['page_peak_kib']:,} KiB",
            f"  ratio PDF / page                  {ratio:.2f}",
            f"{'PASS' if ratio <= GOAL else 'FAIL'}: the PDF <= {GOAL:.0f} x the HTML page: {ratio:.2f}",
        ]
    )
    print(report)
    with open(f"{out}/statement-pdf-latest.txt", "w", encoding="utf-8") as fh:
        fh.write(report + "\n")
    with open(f"{out}/statement-pdf.json", "w", encoding="utf-8") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
