"""Statements as documents (issue 15 points 1–4): the PDF (適格請求書) and the CSV of 月額請求明細照会,
read back — the PDF's text with pypdf, its page 1 pictured with pdftoppm into test-artifacts/ —
for the issued months of the F-BILL-VIEW history (tests/pages/billing/history.py) and a preview;
the downloads' permissions, step-up, headers and names; ``manage.py statement --pdf/--csv``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from mypage import billing_engine as engine
from mypage.billing.render.csv import cell as csv_cell
from mypage.billing.render.csv import statement_csv
from mypage.billing.render.document import statement_document
from mypage.billing.render.pdf import statement_pdf
from mypage.billing.selectors import statement_view
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.invoice import registration_number_valid
from tests.pages.billing.history import CUSTOMER, engine_statement, seed_history
from tests.support.logins import ADMIN_002, HOLDER_9000, HOLDER_9999, USER_003, logged_in_client

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=clock.TOKYO)
OPEN = engine.Month(2026, 11)
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def closed(demo) -> tuple[engine.Month, engine.Month]:
    return seed_history(OPEN)


def document(month: engine.Month, number: str = CUSTOMER):
    contract = Contract.objects.get(customer_number=number)
    return statement_document(contract=contract, view=statement_view(contract=contract, month=month))


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def squeeze(text: str) -> str:
    return "".join(text.split())


def yen(amount: int) -> str:
    return f"{amount:,}円"


# --- The PDF --------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", [0, 1])
def test_an_issued_pdf_holds_every_field_of_a_qualified_invoice(closed, which):
    month = closed[which]
    doc = document(month)
    data = statement_pdf(doc)
    assert data.startswith(b"%PDF-")
    text = squeeze(pdf_text(data))
    expected = engine_statement(CUSTOMER, month)
    contract = Contract.objects.get(customer_number=CUSTOMER)
    brand = contract.brand
    assert registration_number_valid(brand.invoice_registration_number)
    for field in (
        "請求書",
        brand.invoice_issuer_name,  # 発行者
        f"登録番号{brand.invoice_registration_number}",
        f"{contract.holder_name}様",  # 受領者
        f"お客様番号{CUSTOMER}",
        f"対象月{month.year}年{month.month}月分",  # the period
        "発行日",
        f"10%対象合計(税別){yen(expected.subtotal)}",  # the total per rate, with the rate
        f"消費税(10%){yen(expected.tax)}",  # the tax per rate
        f"合計(税込){yen(expected.total)}",
    ):
        assert squeeze(field) in text, field
    assert "確定前" not in text
    issued_at = doc.view.issued_at.astimezone(clock.TOKYO)
    assert f"発行日{issued_at.year}年{issued_at.month}月{issued_at.day}日" in text
    for line in expected.lines:  # every line, with its amount
        assert squeeze(line.product_name) in text
        assert yen(line.amount) in text
        assert (line.account_id or "ご契約全体") in text


def test_the_hand_computed_month_reads_right_to_the_yen(closed):
    # closed[0]: 事務手数料 3,000 + セキュリティ360° 571 = 3,571, 消費税 357 (切り捨て), 3,928
    text = squeeze(pdf_text(statement_pdf(document(closed[0]))))
    assert "10%対象合計(税別)3,571円" in text
    assert "消費税(10%)357円" in text
    assert "合計(税込)3,928円" in text
    assert "ご請求金額(税込)3,928円" in text


def test_the_font_is_embedded_and_the_pdf_is_a4_and_deterministic(closed):
    data = statement_pdf(document(closed[1]))
    reader = PdfReader(io.BytesIO(data))
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)  # A4
    fonts = page["/Resources"]["/Font"]
    descriptors = [fonts[name].get_object() for name in fonts]
    embedded = [
        f for f in descriptors if "/FontDescriptor" in f and "/FontFile2" in f["/FontDescriptor"].get_object()
    ]
    assert embedded, "a TrueType font is embedded"
    assert all("IPAex" in str(f["/BaseFont"]) for f in embedded)
    assert statement_pdf(document(closed[1])) == data  # the same statement, the same bytes


def test_a_month_not_closed_is_a_preview_marked_and_not_titled_invoice(closed):
    data = statement_pdf(document(OPEN))
    text = squeeze(pdf_text(data))
    assert "ご利用料金明細(確定前)" in text
    assert "請求書" not in text.replace("請求書として確定", "").replace("請求書ごと", "")
    assert "確定前" in text and "見込み金額(税込)" in text
    assert f"合計(税込){yen(engine_statement(CUSTOMER, OPEN).total)}" in text
    assert document(OPEN).file_stem == f"seikyu-{CUSTOMER}-{OPEN}-kakuteimae"


def test_a_long_statement_goes_on_to_a_second_page_with_its_totals(closed, monkeypatch):
    doc = document(closed[0])
    line = doc.view.lines[0]
    many = tuple(line for _ in range(40))
    view = type(doc.view)(**{**doc.view.__dict__, "lines": many})
    data = statement_pdf(type(doc)(**{**doc.__dict__, "view": view}))
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2
    assert "1 ページ" in reader.pages[0].extract_text() and "2 ページ" in reader.pages[1].extract_text()
    assert "合計 (税込)" in reader.pages[1].extract_text()


def test_page_one_is_pictured_for_a_person_to_look_at(closed, tmp_path):
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "poppler-utils is installed by scripts/test (ensure_documents)"
    source = tmp_path / "statement.pdf"
    source.write_bytes(statement_pdf(document(closed[0])))
    ARTIFACTS.mkdir(exist_ok=True)
    for name, data in (("statement-pdf-issued", source.read_bytes()), ("statement-pdf-preview", None)):
        if data is None:
            source.write_bytes(statement_pdf(document(OPEN)))
        subprocess.run(
            [
                pdftoppm,
                "-png",
                "-r",
                "80",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(source),
                str(ARTIFACTS / name),
            ],
            check=True,
            timeout=60,
        )
        png = ARTIFACTS / f"{name}.png"
        assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000
    text = subprocess.run(
        ["pdftotext", "-layout", str(source), "-"], capture_output=True, check=True, text=True
    )
    assert "確定前" in text.stdout  # poppler reads the embedded font's text too


# --- The CSV --------------------------------------------------------------------------------------


def test_the_csv_has_a_bom_a_row_per_line_then_subtotal_tax_total(closed):
    month = closed[0]
    data = statement_csv(document(month))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    expected = engine_statement(CUSTOMER, month)
    assert rows[0] == [
        "お客様番号",
        "対象月",
        "区分",
        "商品名",
        "アカウントID",
        "税率",
        "金額(税別)",
        "消費税",
        "金額(税込)",
    ]
    body = rows[1 : 1 + len(expected.lines)]
    assert [(r[3], r[4], int(r[6])) for r in body] == [
        (c.product_name, c.account_id or "", c.amount) for c in expected.lines
    ]
    assert all(r[0] == CUSTOMER and r[1] == str(month) and r[5] == "10%" for r in body)
    subtotal, tax, total = rows[1 + len(expected.lines) :]
    assert (subtotal[2], int(subtotal[6])) == ("小計", expected.subtotal)
    assert (tax[2], int(tax[7])) == ("消費税", expected.tax)
    assert (total[2], int(total[8])) == ("合計", expected.total)
    assert sum(int(r[6]) for r in body) == expected.subtotal


def test_a_preview_csv_says_so(closed):
    rows = list(csv.reader(io.StringIO(statement_csv(document(OPEN)).decode("utf-8-sig"))))
    assert [r[2] for r in rows[-3:]] == ["小計(確定前)", "消費税(確定前)", "合計(確定前)"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("a\x00b", "ab"),
        ("セキュリティ360°", "セキュリティ360°"),
    ],
)
def test_a_cell_excel_would_execute_is_escaped(value, written):
    assert csv_cell(value) == written


# --- The downloads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "content_type"), [("pdf", "application/pdf"), ("csv", "text/csv; charset=utf-8")]
)
def test_the_holder_downloads_the_month(closed, kind, content_type):
    month = closed[1]
    holder = logged_in_client(HOLDER_9000)
    page = holder.get(f"/billing/monthly/{month}/").content.decode()
    assert f'href="/billing/monthly/{month}/seikyu.{kind}"' in page
    response = holder.get(f"/billing/monthly/{month}/seikyu.{kind}")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="seikyu-{CUSTOMER}-{month}.{kind}"'
    assert "no-store" in response["Cache-Control"]
    expected = engine_statement(CUSTOMER, month)
    if kind == "pdf":
        assert f"合計(税込){yen(expected.total)}" in squeeze(pdf_text(response.content))
    else:
        assert response.content.startswith(b"\xef\xbb\xbf")
        assert response.content.decode("utf-8-sig").splitlines()[-1].endswith(f",{expected.total}")


def test_each_holder_downloads_only_its_own(closed):
    month = closed[1]
    theirs = logged_in_client(HOLDER_9999).get(
        f"/billing/monthly/{month}/seikyu.csv?customer_number={CUSTOMER}"
    )
    assert CUSTOMER not in theirs.content.decode("utf-8-sig")


def test_a_user_id_is_refused_and_an_admin_id_steps_up_first(closed):
    month = closed[1]
    url = f"/billing/monthly/{month}/seikyu.pdf"
    assert logged_in_client(USER_003).get(url).status_code == 403
    admin = logged_in_client(ADMIN_002)
    response = admin.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/step-up/?next=")
    passed = admin.post(
        response.headers["Location"], {"c-customer_number": CUSTOMER, "c-password": "demo-pass-9000"}
    )
    assert passed.status_code == 302 and passed.headers["Location"] == url
    assert admin.get(url)["Content-Type"] == "application/pdf"


def test_no_login_no_file_and_a_month_without_statement_is_404(closed):
    from django.test import Client

    response = Client().get(f"/billing/monthly/{closed[1]}/seikyu.pdf")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/")
    holder = logged_in_client(HOLDER_9000)
    assert holder.get(f"/billing/monthly/{OPEN + 1}/seikyu.pdf").status_code == 404
    assert holder.get("/billing/monthly/2026-13/seikyu.csv").status_code == 404


# --- manage.py statement --pdf / --csv -----------------------------------------------------------


def test_the_command_writes_the_same_files(closed, tmp_path):
    month = closed[1]
    call_command("statement", CUSTOMER, str(month), "--pdf", str(tmp_path / "s.pdf"))
    call_command("statement", CUSTOMER, str(month), "--csv", str(tmp_path / "s.csv"))
    assert (tmp_path / "s.pdf").read_bytes() == statement_pdf(document(month))
    assert (tmp_path / "s.csv").read_bytes() == statement_csv(document(month))
    with pytest.raises(CommandError):
        call_command("statement", CUSTOMER, str(month), "--pdf", str(tmp_path / "missing-dir" / "s.pdf"))
    with pytest.raises(CommandError):
        call_command("statement", "12345", str(month), "--csv", str(tmp_path / "x.csv"))
