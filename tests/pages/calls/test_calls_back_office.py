"""The back office of the call details (issue 15 point 5): 通話明細の取込, the upload of the carriers'
CSV (the same import as ``manage.py import_calls``), only for staff holding
``calls.import_callrecord``; every import listed with its report; the calls read-only."""

from __future__ import annotations

import codecs
import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client

from mypage.audit.models import AuditAction, AuditEntry
from mypage.calls.locks import BUSY_MESSAGE, CallsBusyError
from mypage.calls.models import CallImport, CallRecord
from mypage.calls.rules import HEADER
from mypage.core import clock
from mypage.principals.models import Principal
from mypage.staff import admin
from tests.support.logins import HOLDER_9000, logged_in_client
from tests.support.pages import plain, text

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parents[3] / "docs" / "samples" / "calls-sample.csv"
NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=clock.TOKYO)
PASSWORD = "staff-password-123"
UPLOAD = "/staff/calls/callimport/add/"
IMPORTS = "/staff/calls/callimport/"
CALLS = "/staff/calls/callrecord/"
IMPORT = "import_callrecord"

GOOD = [
    "GATE CALL,90000000000000,2026-11-02 09:15:04,0312345678,205,30",
    "GATE CALL050,90000000000000,2026-11-05 12:00:00,05012345678,600,60",
    "UCOM光電話,90000000000000,2026-11-20 18:30:10,0661234567,1830,240",
]
BAD_NUMBER = "GATE CALL,90000000000000,2026-11-03 10:00:00,03-1234-5678,60,10"  # hyphens


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def staff_client(name: str, *codenames: str) -> Client:
    user = Principal.objects.create_staff(name, PASSWORD)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    response = client.post("/staff/login/", {"username": name, "password": PASSWORD})
    assert response.status_code == 302, plain(response)[:300]
    return client


@pytest.fixture
def importer(demo) -> Client:
    return staff_client("importer", IMPORT)


def csv_bytes(*rows: str, encoding: str = "utf-8", header: str = ",".join(HEADER)) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


def upload(client: Client, data: bytes | None, name: str = "calls.csv", **extra: str) -> HttpResponse:
    form: dict[str, object] = dict(extra)
    if data is not None:
        form["file"] = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post(UPLOAD, form)


def followed(client: Client, response: HttpResponse) -> HttpResponse:
    """The page a successful upload redirects to: the import's own page, with its report."""
    assert response.status_code == 302, plain(response)[:800]
    location = response.headers["Location"]
    assert re.fullmatch(r"/staff/calls/callimport/\d+/change/", location), location
    page = client.get(location)
    assert page.status_code == 200
    return page


def csrf_token(page: HttpResponse) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text(page))
    assert found, plain(page)[:300]
    return found.group(1)


def nothing_imported() -> None:
    assert not CallRecord.objects.exists()
    assert not CallImport.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.CALLS_IMPORT).exists()


# --- the upload ------------------------------------------------------------------------------------


def test_the_upload_page_explains_the_file(importer):
    page = plain(importer.get(UPLOAD))
    assert "通話明細の取込" in page and "CSVファイル" in page and "不正な行を除いて取り込む" in page
    for column in HEADER:
        assert column in page
    assert "取込済みのファイルをもう一度取り込んでも、何も変わりません" in page
    assert "200 MB" in page
    assert 'enctype="multipart/form-data"' in text(importer.get(UPLOAD))
    nothing_imported()


def test_the_sample_file_is_imported_and_audited_with_the_staff_name(importer):
    response = upload(importer, SAMPLE.read_bytes(), name="calls-sample.csv")
    page = plain(followed(importer, response))
    assert "「calls-sample.csv」を取り込みました: 読込 5 行 / 取込 5 件 / 取込済み 0 件 / 不正 0 行" in page
    # The import's page: its figures and the stored report.
    assert "importer" in page and "読込 5 行 / 取込 5 件" in page

    assert CallRecord.objects.filter(contract__customer_number="90000000000000").count() == 5
    assert set(CallRecord.objects.values_list("service", flat=True)) == {"gatecall", "gatecall050", "phone"}
    record = CallImport.objects.get()
    assert (record.file_name, record.imported_by, record.rows_read, record.rows_imported) == (
        "calls-sample.csv",
        "importer",
        5,
        5,
    )
    entry = AuditEntry.objects.get(action=AuditAction.CALLS_IMPORT)
    assert (entry.actor_kind, entry.actor, entry.target) == ("staff", "importer", "calls-sample.csv")
    assert entry.ip == "127.0.0.1"
    assert (entry.details["import"], entry.details["imported"]) == (record.pk, 5)
    # The customer sees them.
    holder = logged_in_client(HOLDER_9000)
    assert "03-1234-XXXX" in plain(holder.get("/billing/gatecall/2026-11/"))


def test_a_file_with_a_bad_row_imports_nothing_and_names_the_line(importer):
    response = upload(importer, csv_bytes(GOOD[0], BAD_NUMBER, GOOD[1]))
    assert response.status_code == 200
    page = plain(response)
    assert "不正な行が 1 行あるため、このファイルは1件も取り込んでいません。" in page
    assert "3行目 通話先電話番号は0で始まる10〜16桁の数字です" in page
    assert "不正な行を除いて取り込む" in page  # what to do next
    nothing_imported()


def test_skip_invalid_imports_the_other_rows_and_reports_the_rejected(importer):
    response = upload(importer, csv_bytes(GOOD[0], BAD_NUMBER, GOOD[1]), skip_invalid="on")
    page = followed(importer, response)
    said = plain(page)
    assert "読込 3 行 / 取込 2 件 / 取込済み 0 件 / 不正 1 行" in said
    assert "不正な 1 行は取り込んでいません。" in said
    # The stored report, line breaks kept.
    assert "3行目: 通話先電話番号は0で始まる10〜16桁の数字です" in said
    assert re.search(r"不正 1 行<br>\s*3行目", text(page))
    assert CallRecord.objects.count() == 2
    assert not CallRecord.objects.filter(
        started_at=dt.datetime(2026, 11, 3, 10, 0, tzinfo=clock.TOKYO)
    ).exists()
    assert CallImport.objects.get().rows_rejected == 1
    assert AuditEntry.objects.get(action=AuditAction.CALLS_IMPORT).details["rejected"] == 1


def test_uploading_the_same_file_again_changes_nothing(importer):
    data = csv_bytes(*GOOD)
    followed(importer, upload(importer, data))
    before = list(CallRecord.objects.order_by("pk").values())
    page = plain(followed(importer, upload(importer, data)))
    assert "読込 3 行 / 取込 0 件 / 取込済み 3 件 / 不正 0 行" in page
    assert "このファイルの通話はすべて取込済みでした。登録内容は変わっていません。" in page
    assert list(CallRecord.objects.order_by("pk").values()) == before
    assert list(CallImport.objects.order_by("pk").values_list("rows_imported", "rows_present")) == [
        (3, 0),
        (0, 3),
    ]
    assert AuditEntry.objects.filter(action=AuditAction.CALLS_IMPORT).count() == 2


def test_a_shift_jis_file_is_imported(importer):
    data = csv_bytes(GOOD[2], encoding="cp932")
    assert "UCOM光電話".encode() not in data  # really Shift_JIS, not UTF-8
    page = plain(followed(importer, upload(importer, data, name="通話明細.csv")))
    assert "「通話明細.csv」を取り込みました: 読込 1 行 / 取込 1 件" in page
    call = CallRecord.objects.get()
    assert (call.service, call.called_number, call.amount) == ("phone", "0661234567", 240)
    assert CallImport.objects.get().file_name == "通話明細.csv"


def test_a_file_kept_on_disk_while_it_arrives_is_imported(importer, settings):
    # Django keeps an upload over FILE_UPLOAD_MAX_MEMORY_SIZE in a temporary file; the import reads it there.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64
    data = csv_bytes(*GOOD, encoding="cp932")
    assert len(data) > 64
    page = plain(followed(importer, upload(importer, data)))
    assert "読込 3 行 / 取込 3 件 / 取込済み 0 件 / 不正 0 行" in page
    assert CallRecord.objects.count() == 3


def test_a_utf8_file_with_a_bom_is_imported(importer):
    followed(importer, upload(importer, codecs.BOM_UTF8 + csv_bytes(GOOD[0])))
    assert CallRecord.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (
            csv_bytes(GOOD[0], header="サービス,お客様番号,通話開始日時,通話先電話番号,通話時間(秒)"),
            "calls.csv",
            "このファイルは取り込めません: 1行目の見出しが違います",
        ),
        (
            csv_bytes(GOOD[0], header="service,customer,start,number,seconds,yen"),
            "calls.csv",
            "このファイルは取り込めません: 1行目の見出しが違います",
        ),
        (
            csv_bytes(GOOD[0], encoding="utf-16"),
            "calls.csv",
            "このファイルは取り込めません: 文字コードがUTF-8でもShift_JISでもありません",
        ),
        (
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\x86\x20[Content_Types].xml",
            "calls.xlsx",
            "このファイルは取り込めません: 文字コードがUTF-8でもShift_JISでもありません",
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
            "photo.png",
            "このファイルは取り込めません: 1行目の見出しが違います",
        ),
    ],
    ids=["a-column-missing", "english-header", "utf-16", "xlsx", "png"],
)
def test_a_file_the_import_cannot_read_is_refused_with_a_message(importer, data, name, says):
    response = upload(importer, data, name=name)
    assert response.status_code == 200
    page = plain(response)
    assert says in page, page[:1500]
    assert "取込できませんでした" in page
    nothing_imported()


def test_an_empty_file_is_refused(importer):
    response = upload(importer, b"", name="empty.csv")
    assert response.status_code == 200
    assert "選んだファイルは空です (0バイト)。" in plain(response)
    nothing_imported()


def test_a_header_only_file_imports_nothing_and_says_so(importer):
    page = plain(followed(importer, upload(importer, csv_bytes())))
    assert "読込 0 行 / 取込 0 件 / 取込済み 0 件 / 不正 0 行" in page
    assert "このファイルには見出しの行しかありませんでした。" in page
    assert not CallRecord.objects.exists() and CallImport.objects.get().rows_read == 0


def test_no_file_chosen(importer):
    response = upload(importer, None, skip_invalid="on")
    assert response.status_code == 200
    assert "取り込むCSVファイルを選んでください。" in plain(response)
    nothing_imported()


def test_a_file_over_the_limit_is_refused_as_it_arrives(importer, settings, monkeypatch):
    received: list[dict[str, object]] = []

    class Spy(admin.CallUploadForm):
        def __init__(self, *args, **kwargs):
            received.extend(args[1:2])  # request.FILES
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(admin, "CallUploadForm", Spy)
    data = csv_bytes(*GOOD)
    settings.CALLS_UPLOAD_MAX_BYTES = len(data) - 1
    response = upload(importer, data)
    assert response.status_code == 200
    page = plain(response)
    assert f"ファイルが大きすぎます: 取り込めるのは {len(data) - 1:,} バイト までです。" in page
    assert "選んでください" not in page
    # Dropped as it streamed in: the view never had the file.
    assert len(received) == 1 and "file" not in received[0]
    nothing_imported()
    # Exactly the limit is accepted.
    settings.CALLS_UPLOAD_MAX_BYTES = len(data)
    followed(importer, upload(importer, data))
    assert CallRecord.objects.count() == 3


def test_the_limit_is_200_mb_by_default(importer, settings):
    assert settings.CALLS_UPLOAD_MAX_BYTES == 200 * 1024 * 1024
    assert "ファイルの大きさは 200 MB までです" in plain(importer.get(UPLOAD))


def test_a_long_list_of_rejected_rows_is_cut_at_100(importer):
    rows = [
        f"GATE CALL,90000000000000,2026-11-02 09:{i // 60:02d}:{i % 60:02d},0312345678,60,x"
        for i in range(150)
    ]
    page = plain(upload(importer, csv_bytes(*rows)))
    assert "不正な行が 150 行あるため" in page
    assert "101行目" in page and "102行目" not in page  # lines 2..101 shown
    assert "… ほか 50 行 (最初の 100 行を表示しています)" in page
    nothing_imported()


def test_more_rejected_rows_than_the_import_lists_are_counted_whole(importer):
    rows = [f"GATE CALL,90000000000000,2026-11-02 09:15:04,0312345678,60,x{i}" for i in range(1_200)]
    page = plain(upload(importer, csv_bytes(*rows)))
    assert "不正な行が 1200 行あるため" in page
    assert "… ほか 1100 行 (最初の 100 行を表示しています)" in page
    nothing_imported()


def test_a_month_close_in_progress_is_said(importer, monkeypatch):
    def busy() -> None:
        raise CallsBusyError(BUSY_MESSAGE)

    monkeypatch.setattr("mypage.calls.imports.lock_for_import", busy)
    response = upload(importer, csv_bytes(*GOOD))
    assert response.status_code == 200
    assert f"このファイルは取り込めません: {BUSY_MESSAGE}" in plain(response)
    nothing_imported()


def test_the_upload_checks_csrf(demo):
    Principal.objects.create_staff("importer", PASSWORD).user_permissions.add(
        Permission.objects.get(codename=IMPORT)
    )
    client = Client(enforce_csrf_checks=True)
    page = client.get("/staff/login/")
    client.post(
        "/staff/login/",
        {"username": "importer", "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(page)},
    )
    response = upload(client, csv_bytes(*GOOD))
    assert response.status_code == 403
    nothing_imported()
    form = client.get(UPLOAD)
    followed(client, upload(client, csv_bytes(*GOOD), csrfmiddlewaretoken=csrf_token(form)))
    assert CallRecord.objects.count() == 3


# --- who may upload ----------------------------------------------------------------------------------


def test_the_list_of_imports_offers_the_upload_to_importers_only(demo):
    importer = staff_client("importer", IMPORT)
    followed(importer, upload(importer, csv_bytes(*GOOD), name="november.csv"))
    listing = importer.get(IMPORTS)
    assert listing.status_code == 200
    page = plain(listing)
    assert "CSVファイルを取り込む" in page and "november.csv" in page
    for label in ("取込日時", "ファイル名", "取込者", "読込行数", "取込件数", "取込済み件数", "不正行数"):
        assert label in page
    assert f'href="{UPLOAD}"' in text(listing)
    assert f'href="{UPLOAD}"' in text(importer.get("/staff/"))

    viewer = staff_client("viewer", "view_callimport")
    listing = viewer.get(IMPORTS)
    assert listing.status_code == 200 and "november.csv" in plain(listing)
    assert "CSVファイルを取り込む" not in plain(listing) and UPLOAD not in text(listing)
    assert UPLOAD not in text(viewer.get("/staff/"))


@pytest.mark.parametrize("codenames", [(), ("view_callimport", "view_callrecord")], ids=["none", "view-only"])
def test_staff_without_the_permission_get_403(demo, codenames):
    clerk = staff_client("clerk", *codenames)
    assert clerk.get(UPLOAD).status_code == 403
    response = upload(clerk, csv_bytes(*GOOD))
    assert response.status_code == 403
    nothing_imported()


@pytest.mark.parametrize("who", ["customer", "anonymous"])
def test_customers_and_strangers_are_sent_to_the_staff_login(demo, who):
    client = logged_in_client(HOLDER_9000) if who == "customer" else Client()
    for response in (client.get(UPLOAD), upload(client, csv_bytes(*GOOD))):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/staff/login/?next=" + UPLOAD)
    nothing_imported()


def test_the_import_page_is_read_only(importer):
    page = followed(importer, upload(importer, csv_bytes(*GOOD)))
    assert "保存" not in plain(page) and 'name="_save"' not in text(page)
    record = CallImport.objects.get()
    response = importer.post(f"{IMPORTS}{record.pk}/change/", {"file_name": "x"})
    assert response.status_code == 403
    assert importer.post(f"{IMPORTS}{record.pk}/delete/").status_code == 403
    assert CallImport.objects.get().file_name == "calls.csv"


# --- the calls, read-only -------------------------------------------------------------------------------


def test_staff_read_the_calls_with_the_whole_number(importer):
    followed(
        importer,
        upload(importer, csv_bytes(*GOOD, "GATE CALL,99999999999999,2026-10-03 10:00:00,0398765432,60,9")),
    )
    viewer = staff_client("viewer", "view_callrecord")
    listing = viewer.get(CALLS)
    assert listing.status_code == 200
    page = plain(listing)
    for label in (
        "お客様番号",
        "サービス",
        "通話開始日時",
        "通話先電話番号",
        "通話時間",
        "金額(税別)",
        "通話月",
        "請求月",
    ):
        assert label in page
    assert "0312345678" in page and "90000000000000" in page and "0:03:25" in page
    assert f'href="{CALLS}add/"' not in text(listing) and "を追加" not in page

    def numbers(**query: str) -> set[str]:
        response = viewer.get(CALLS, query)
        assert response.status_code == 200, query
        return set(re.findall(r"0\d{9,10}", plain(response))) & {
            "0312345678",
            "05012345678",
            "0661234567",
            "0398765432",
        }

    assert numbers(service__exact="gatecall050") == {"05012345678"}
    assert numbers(call_month="2026-10") == {"0398765432"}
    assert numbers(billed_month="unbilled") == {"0312345678", "05012345678", "0661234567", "0398765432"}
    assert numbers(billed_month="2026-11") == set()
    assert numbers(q="99999999999999") == {"0398765432"}
    assert numbers(call_month="2026-13") == {"0312345678", "05012345678", "0661234567", "0398765432"}
    assert "通話月" in plain(viewer.get(CALLS)) and "2026年11月" in plain(viewer.get(CALLS))
    assert CallRecord.objects.count() == 4
    # Read-only: no add, no change.
    assert viewer.get(f"{CALLS}add/").status_code == 403
    call = CallRecord.objects.get(called_number="0312345678")
    assert viewer.post(f"{CALLS}{call.pk}/change/", {"amount": "1"}).status_code == 403
    assert CallRecord.objects.get(pk=call.pk).amount == 30
