"""A statement as an A4 PDF (issue 15 point 1), rendered with ReportLab, a TrueType Japanese font
(IPAexゴシック from Debian's fonts-ipaexfont, ``settings.STATEMENT_PDF_FONT``) embedded as a subset.

An issued statement is a qualified invoice (適格請求書, 消費税法 57条の4 第1項): the issuer's name
and registration number (T + 13 digits), the date of issue, the period (対象月), every line, the
total per tax rate with the rate, the consumption tax per rate (rounded once per statement and
rate — the engine's rule) and the recipient (the contract holder, 様). A month not closed yet is
a preview: titled 「ご利用料金明細 (確定前)」 and marked 確定前 on every page, never 請求書.

Output is deterministic (ReportLab's ``invariant``): the same statement gives the same bytes."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils import translation
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from mypage.billing.models import LineKind
from mypage.core.formatting import date_long, month_long

from .document import StatementDocument

FONT = "MyPageJapanese"
DEFAULT_FONTS = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
)
WIDTH, HEIGHT = A4
LEFT, RIGHT = 18 * mm, WIDTH - 18 * mm
ROW = 6.6 * mm


class FontMissingError(RuntimeError):
    """No Japanese TrueType font: install fonts-ipaexfont (scripts do) or set STATEMENT_PDF_FONT."""


def font_path() -> Path | None:
    configured = getattr(settings, "STATEMENT_PDF_FONT", "")
    for candidate in (configured, *DEFAULT_FONTS) if configured else DEFAULT_FONTS:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@cache
def _register(path: str) -> str:
    pdfmetrics.registerFont(TTFont(FONT, path))
    return FONT


def _font() -> str:
    path = font_path()
    if path is None:
        raise FontMissingError(
            "no Japanese TrueType font for the statement PDF: "
            "install fonts-ipaexfont or set STATEMENT_PDF_FONT"
        )
    return _register(str(path))


def _yen(amount: int) -> str:
    return f"{amount:,}円"


def _kind(kind: str) -> str:
    return {choice.value: str(choice.label) for choice in LineKind}.get(kind, "")


def statement_pdf(document: StatementDocument) -> bytes:
    with translation.override("ja"):
        return _render(document)


def _render(doc: StatementDocument) -> bytes:
    font = _font()
    view = doc.view
    buffer = io.BytesIO()
    title = "請求書" if doc.issued else "ご利用料金明細 (確定前)"
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1, initialFontName=font)
    canvas.setTitle(f"{title} {month_long(view.month)}分 {view.customer_number}")
    canvas.setAuthor(doc.issuer_name or doc.brand_name)
    canvas.setSubject("適格請求書" if doc.issued else "確定前の見込み")

    page = [1]

    def text(x: float, y: float, value: str, size: float = 9.5, *, right: bool = False) -> None:
        canvas.setFont(font, size)
        (canvas.drawRightString if right else canvas.drawString)(x, y, value)

    def marks() -> None:
        if not doc.issued:  # every page of a preview says so
            canvas.saveState()
            canvas.setFillColorRGB(0.85, 0.1, 0.1)
            text(RIGHT, HEIGHT - 14 * mm, "確定前", 14, right=True)
            canvas.setFillColorRGB(0.93, 0.93, 0.93)
            canvas.translate(WIDTH / 2, HEIGHT / 2)
            canvas.rotate(35)
            canvas.setFont(font, 70)
            canvas.drawCentredString(0, 0, "確定前")
            canvas.restoreState()
        text(WIDTH / 2 - 8 * mm, 10 * mm, f"{page[0]} ページ", 8)

    def next_page() -> float:
        canvas.showPage()
        page[0] += 1
        marks()
        return float(HEIGHT - 25 * mm)

    marks()
    y = HEIGHT - 24 * mm
    text(LEFT, y, title, 20)
    y -= 14 * mm
    # The recipient (left) and the issuer (right).
    text(LEFT, y, f"{doc.recipient} 様", 14)
    canvas.line(LEFT, y - 2, LEFT + 85 * mm, y - 2)
    text(LEFT, y - 7 * mm, f"お客様番号  {view.customer_number}")
    last = view.month.last_day
    period = f"{month_long(view.month)}分 ({last.month}月1日〜{last.month}月{last.day}日ご利用分)"
    text(LEFT, y - 12 * mm, f"対象月  {period}")
    issued_on = date_long(doc.issued_on) if doc.issued_on else "― (締め処理前)"
    text(LEFT, y - 17 * mm, f"発行日  {issued_on}")
    issuer_lines = [
        (doc.issuer_name or doc.brand_name, 11),
        (f"登録番号  {doc.registration_number}" if doc.registration_number else "登録番号  ―", 9.5),
        (doc.issuer_address, 8.5),
        (f"{doc.brand_name}  お問い合わせ窓口 {doc.support_phone}", 8.5),
    ]
    iy = y
    for value, size in issuer_lines:
        if value:
            text(RIGHT, iy, value, size, right=True)
            iy -= 5.5 * mm
    y -= 30 * mm
    # The amount billed.
    canvas.setFillColorRGB(0.94, 0.95, 0.98)
    canvas.rect(LEFT, y - 4 * mm, RIGHT - LEFT, 12 * mm, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    text(LEFT + 4 * mm, y, "ご請求金額 (税込)" if doc.issued else "見込み金額 (税込)", 11)
    text(RIGHT - 4 * mm, y, _yen(view.total), 16, right=True)
    y -= 16 * mm
    if not doc.issued:
        text(
            LEFT,
            y,
            "この月は締め処理前のため、金額はまだ確定していません。締め処理後に請求書として確定します。",
            8.5,
        )
        y -= 8 * mm

    # The lines.
    columns = (LEFT + 2 * mm, LEFT + 104 * mm, LEFT + 134 * mm, RIGHT - 2 * mm)

    def head(y: float) -> float:
        canvas.setFillColorRGB(0.88, 0.9, 0.95)
        canvas.rect(LEFT, y - 2 * mm, RIGHT - LEFT, ROW, stroke=0, fill=1)
        canvas.setFillColorRGB(0, 0, 0)
        text(columns[0], y, "商品名", 9)
        text(columns[1], y, "アカウントID", 9)
        text(columns[2], y, "税率", 9)
        text(columns[3], y, "金額 (税別)", 9, right=True)
        return float(y - ROW)

    y = head(y)
    rows = view.lines
    if not view.lines:
        text(columns[0], y, "この月のご請求はありません。")
        y -= ROW
    for line in rows:
        if y < 45 * mm:
            y = head(next_page())
        label = line.product_name
        kind = _kind(line.kind)
        if kind and line.kind == LineKind.REAPPLICATION_FEE:  # a call line names itself (通話料)
            label = f"{label} ({kind})"
        text(columns[0], y, label[:46])
        text(columns[1], y, line.account_id or "ご契約全体", 8.5)
        text(columns[2], y, "免税" if line.tax_exempt else f"{view.tax_percent}%", 9)
        text(columns[3], y, _yen(line.amount), right=True)
        canvas.setStrokeColorRGB(0.8, 0.8, 0.8)
        canvas.line(LEFT, y - 2 * mm, RIGHT, y - 2 * mm)
        canvas.setStrokeColorRGB(0, 0, 0)
        y -= ROW
    if y < 60 * mm:
        y = next_page()
    # The totals per tax rate: the statement's rate, and the exempt lines (国際通話料) apart.
    y -= 4 * mm
    x_label, x_value = LEFT + 90 * mm, RIGHT - 2 * mm
    exempt = view.exempt_subtotal
    totals = [
        (f"{view.tax_percent}%対象 合計 (税別)", _yen(view.taxable_subtotal)),
        (f"消費税 ({view.tax_percent}%)", _yen(view.tax)),
        *([("免税 合計 (国際通話料)", _yen(exempt))] if exempt else []),
        ("合計 (税込)", _yen(view.total)),
    ]
    for i, (label, value) in enumerate(totals):
        size = 11 if i == len(totals) - 1 else 9.5
        text(x_label, y, label, size)
        text(x_value, y, value, size, right=True)
        canvas.line(x_label, y - 2 * mm, RIGHT, y - 2 * mm)
        y -= ROW
    y -= 4 * mm
    notes = [
        f"税率別内訳: {view.tax_percent}%対象 {_yen(view.taxable_subtotal)} (消費税 {_yen(view.tax)})"
        + (f"、免税 {_yen(exempt)}" if exempt else "")
        + "。軽減税率 (8%) 対象の商品はありません。",
        *(["国際通話料は消費税の免税取引です (消費税法第7条)。"] if exempt else []),
        "消費税は請求書ごとに税率別の合計から計算し、1円未満を切り捨てています。日割り計算は行いません。",
    ]
    for note in notes:
        text(LEFT, y, note, 8)
        y -= 5 * mm
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
