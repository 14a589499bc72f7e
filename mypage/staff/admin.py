"""The back office (F-STAFF, SPEC §12) on Django's admin, mounted at /staff/.

Catalogue, plan and brand data are edited here (they are data, not code). Anything with rules
(contracts, account IDs, subscriptions) is read-only until its services exist, because the admin
must go through services (DESIGN rule 9). The audit log is read-only for everyone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.options import Action, ActionLocation
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from mypage.accounts.models import AccountId
from mypage.audit.models import ActorKind, AuditEntry, LoginAttempt, LoginOutcome
from mypage.audit.services import Actor
from mypage.billing.charges import StatementCharge
from mypage.billing.collection import STAFF_MAY_REQUEUE as STAFF_MAY_REQUEUE_CHARGE
from mypage.billing.collection import charges_requeue
from mypage.billing.models import MonthClose, Statement, StatementLine
from mypage.billing.selectors import closed_months
from mypage.calls.imports import STAFF_MAY_IMPORT, ImportResult, calls_import
from mypage.calls.models import CallImport, CallRecord
from mypage.calls.rules import HEADER, MAX_AMOUNT, MAX_DURATION
from mypage.calls.selectors import duration_text
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.client import client_ip, user_agent
from mypage.core.errors import Refused
from mypage.core.jobs import JobState
from mypage.core.models import Brand, Plan, Product, ProductText
from mypage.mail.models import MailboxPurge
from mypage.mail.services import STAFF_MAY_REQUEUE_PURGE, mailbox_purge_requeue
from mypage.notifications.models import OutboxMail
from mypage.notifications.services import STAFF_MAY_REQUEUE, mail_requeue
from mypage.payments.models import CardStatus, PaymentMethod
from mypage.payments.services import STAFF_MAY_REVIEW, payment_method_review
from mypage.principals.models import Principal, PrincipalKind
from mypage.principals.services import (
    login_invalid_record,
    login_refusal_record,
    principal_authenticate,
    principal_login_open,
)
from mypage.subscriptions.models import Subscription


class StaffAuthenticationForm(AdminAuthenticationForm):
    """Staff type their own name; it lives in the staff name space of login keys, so a customer
    number or an account ID can never log in to the back office.

    The attempt goes through the customers' throttle and log (F-LOGIN-5, ``principal_authenticate``
    with kind ``staff``): per name and per client, the same limits; one message for a wrong
    password, a locked name and a name that is not staff; every attempt in the login log. The
    success is logged by ``staff_login`` once the session exists."""

    @method_decorator(sensitive_variables())
    def clean(self) -> dict[str, Any]:
        assert self.request is not None, "the admin's login view passes the request"
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        ip, agent = client_ip(self.request), user_agent(self.request)
        if not username or not password:
            typed = str(self.data.get("username", ""))
            login_invalid_record(kind=PrincipalKind.STAFF, identifier=typed, ip=ip, user_agent=agent)
            return self.cleaned_data
        result = principal_authenticate(
            request=self.request,
            kind=PrincipalKind.STAFF,
            identifier=username,
            password=password,
            ip=ip,
            user_agent=agent,
        )
        if result.principal is None:
            raise self.get_invalid_login_error()
        try:
            self.confirm_login_allowed(result.principal)  # not staff (any more): the same message
        except ValidationError:
            login_refusal_record(
                kind=PrincipalKind.STAFF,
                identifier=username,
                ip=ip,
                user_agent=agent,
                outcome=LoginOutcome.FAILURE,
            )
            raise
        self.user_cache = result.principal
        return self.cleaned_data


class StaffLoginView(LoginView):
    """Django's admin login, except that the login itself is ``principal_login_open``: the session
    (a new key) with its principal-session row and the ``success`` attempt, in one transaction."""

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        principal = form.get_user()
        assert isinstance(principal, Principal)
        principal_login_open(
            request=self.request,
            principal=principal,
            identifier=principal.identifier,
            ip=client_ip(self.request),
            user_agent=user_agent(self.request),
        )
        return HttpResponseRedirect(self.get_success_url())


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def staff_login(request: HttpRequest) -> HttpResponseBase:
    """/staff/login/ (``config/urls.py`` routes it before the admin's URLs): ``AdminSite.login``,
    with ``StaffLoginView`` in place of Django's ``LoginView``."""
    site = admin.site
    redirect_url = LoginView().get_redirect_url(request) or reverse("admin:index", current_app=site.name)
    if request.method == "GET" and site.has_permission(request):
        return HttpResponseRedirect(redirect_url)
    context = {
        **site.each_context(request),
        "title": gettext("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
        REDIRECT_FIELD_NAME: redirect_url,
    }
    request.current_app = site.name
    view = StaffLoginView.as_view(
        extra_context=context,
        authentication_form=StaffAuthenticationForm,
        template_name=site.login_template or "admin/login.html",
    )
    return view(request)


if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[Any]
else:
    ModelAdmin = admin.ModelAdmin

admin.site.login_form = StaffAuthenticationForm
admin.site.site_header = "MyPage バックオフィス"
admin.site.site_title = "MyPage バックオフィス"
admin.site.index_title = "管理メニュー"


class ReadOnlyAdmin(ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Brand)
class BrandAdmin(ModelAdmin):
    list_display = ["code", "name", "portal_url", "support_phone", "requires_account_id"]


@admin.register(Plan)
class PlanAdmin(ModelAdmin):
    list_display = [
        "name",
        "brand",
        "group",
        "account_id_limit",
        "mail_base",
        "web_space_base",
        "storage_base",
    ]
    list_filter = ["brand", "group"]


@admin.register(Product)
class ProductAdmin(ModelAdmin):
    list_display = ["code", "name", "scope", "monthly_fee", "billing_rule", "reapplication_fee"]


@admin.register(ProductText)
class ProductTextAdmin(ModelAdmin):
    """サービス利用規約 and サービス説明, one per product, brand and kind; the portal shows the body as
    plain text (escaped), so staff cannot put HTML on a customer's page. Pages see an edit at once
    in this process, in the others within ``CATALOGUE_CACHE_SECONDS``."""

    list_display = ["title", "product", "brand", "kind", "updated_at"]
    list_filter = ["brand", "kind", "product"]
    search_fields = ["title", "body"]
    list_select_related = ["brand", "product"]
    readonly_fields = ["updated_at"]


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ["customer_number", "family_name", "given_name", "plan", "phone"]
    search_fields = ["customer_number", "family_name", "given_name", "family_name_kana", "phone"]
    list_select_related = ["plan__brand"]
    exclude = ["principal"]


@admin.register(AccountId)
class AccountIdAdmin(ReadOnlyAdmin):
    list_display = ["account_id", "contract", "permission", "issued_on", "retired_at"]
    search_fields = ["account_id", "contract__customer_number"]
    exclude = ["principal"]


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["product", "contract", "account", "applied_on", "cancelled_on"]


if TYPE_CHECKING:
    TabularInline = admin.TabularInline[Any, Any]
else:
    TabularInline = admin.TabularInline


class StatementLineInline(TabularInline):
    model = StatementLine
    fields = readonly_fields = ("number", "product_code", "product_name", "account_id", "amount", "kind")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    """Issued statements (請求明細): immutable, so read-only for everyone (F-BILL-CLOSE)."""

    list_display = ["month", "customer_number", "subtotal", "tax", "total", "issued_at"]
    list_filter = ["month"]
    search_fields = ["=customer_number"]
    exclude = ["contract"]
    inlines = [StatementLineInline]
    show_full_result_count = False  # a million rows a month: no COUNT(*) on every page


@admin.register(MonthClose)
class MonthCloseAdmin(ReadOnlyAdmin):
    """月次締め: run with ``manage.py close_month YYYY-MM``; an empty 完了日時 is a close that was
    interrupted (run it again) or is running."""

    list_display = ["month", "started_at", "finished_at", "contracts", "statements", "lines"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_kind", "actor", "customer_number", "ip", "action", "target"]
    list_filter = ["action", "actor_kind"]
    search_fields = ["actor", "customer_number", "target"]


@admin.register(LoginAttempt)
class LoginAttemptAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "identifier", "ip", "outcome"]
    list_filter = ["outcome", "kind"]
    search_fields = ["identifier", "ip"]


def staff_actor(request: HttpRequest) -> Actor:
    """The member of staff making a change: their name, the real client address (behind the
    trusted proxies, as for customers) and the permissions they hold, which services check."""
    user: Any = request.user
    return Actor(
        kind=ActorKind.STAFF,
        name=user.identifier,
        ip=client_ip(request),
        principal_id=user.pk,
        staff_permissions=frozenset(user.get_all_permissions()),
    )


class DurableJobAdmin(ReadOnlyAdmin):
    """The back office of any durable job model (``core.jobs``): read-only, filtered by 状態,
    with the last error, and 再送 of failed jobs through the job app's service (DESIGN rule 9),
    which audits it. A job admin lists its own fields before ``job_fields`` and implements
    ``requeue_jobs``; the wording comes from the model's state labels."""

    job_fields = ["state", "attempts", "next_attempt_at", "finished_at", "last_error"]
    list_filter = ["state"]
    exclude = ["task_id", "claim_token"]
    actions = ["requeue"]

    def requeue_jobs(self, ids: list[int], actor: Actor) -> int:
        """Put the failed jobs ``ids`` back in the queue, audited; how many were."""
        raise NotImplementedError

    def _state_label(self, state: JobState) -> str:
        return str(dict(self.model._meta.get_field("state").choices or [])[state.value])

    def get_actions(
        self, request: HttpRequest, action_location: ActionLocation = ActionLocation.CHANGE_LIST
    ) -> dict[str, Action | None]:
        actions = super().get_actions(request, action_location)
        action = actions.get("requeue")
        if action is not None:  # the wording in the model's own labels (送信失敗 → 送信待ち)
            failed, queued = self._state_label(JobState.FAILED), self._state_label(JobState.QUEUED)
            text = f"{self.requeue_verb} ({failed}のものを{queued}に戻す)"
            actions["requeue"] = dataclasses.replace(action, description=text, plural_description=text)
        return actions

    #: The Django permission (``app_label.codename``) 再送 needs; the job app's service checks it too.
    requeue_permission: str = ""
    #: What putting a failed job back is called: a mail is 再送 (sent again), other jobs 再実行.
    requeue_verb: str = "再実行"

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        user: Any = request.user
        return bool(self.requeue_permission) and user.has_perm(self.requeue_permission)

    @admin.action(description="再送", permissions=["requeue"])
    def requeue(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        ids = list(queryset.filter(state=JobState.FAILED).values_list("pk", flat=True))
        try:
            count = self.requeue_jobs(ids, staff_actor(request))
        except Refused as refused:
            self.message_user(request, " ".join(refused.messages), messages.ERROR)
            return
        skipped = queryset.count() - count
        queued, failed = self._state_label(JobState.QUEUED), self._state_label(JobState.FAILED)
        self.message_user(request, f"{count} 件を{queued}に戻しました。", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} 件は{failed}ではないため対象外です。", messages.WARNING)


@admin.register(OutboxMail)
class OutboxMailAdmin(DurableJobAdmin):
    """The notification outbox (SPEC §11): what was sent, what waits, what failed."""

    list_display = ["created_at", "kind", "to_address", *DurableJobAdmin.job_fields]
    list_filter = ["state", "kind"]
    search_fields = ["to_address", "kind", "message_id"]
    list_select_related = ["brand"]

    requeue_permission = STAFF_MAY_REQUEUE
    requeue_verb = "再送"

    def requeue_jobs(self, ids: list[int], actor: Actor) -> int:
        return mail_requeue(mail_ids=ids, actor=actor)


@admin.register(MailboxPurge)
class MailboxPurgeAdmin(DurableJobAdmin):
    """The deletion of stored mail of mailboxes that ended (mail server): what is done, what
    waits, what failed (the mail server's disk unreachable), with 再実行."""

    list_display = ["created_at", "login", "mailbox_key", *DurableJobAdmin.job_fields]
    search_fields = ["login"]

    requeue_permission = STAFF_MAY_REQUEUE_PURGE

    def requeue_jobs(self, ids: list[int], actor: Actor) -> int:
        return mailbox_purge_requeue(purge_ids=ids, actor=actor)


@admin.register(StatementCharge)
class StatementChargeAdmin(DurableJobAdmin):
    """The monthly card collection (``manage.py charge_month``): each statement's charge and its
    決済状況 — declined ones with the card company's reason (the holder was mailed), 別途お支払い
    for contracts without a usable card, 決済エラー after every attempt failed, with 再実行 (the same
    idempotency key: a charge the gateway did make is never made twice)."""

    list_display = [
        "month",
        "idempotency_key",
        "amount",
        "status",
        "card_label",
        "decline_message",
        "charged_at",
        *DurableJobAdmin.job_fields,
    ]
    list_filter = ["status", "month", "state"]
    search_fields = ["=idempotency_key"]
    exclude = [*DurableJobAdmin.exclude, "statement", "contract", "gateway_card"]
    show_full_result_count = False

    requeue_permission = STAFF_MAY_REQUEUE_CHARGE

    def requeue_jobs(self, ids: list[int], actor: Actor) -> int:
        return charges_requeue(ids=ids, actor=actor)


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdmin):
    """Cards as the gateway described them (never a number). Those 確認中 — the name on the card
    did not match the holder's kana name — wait here for 承認 or 否認 (audited; the holder is
    mailed the result; the card in use stays in use until an approval)."""

    list_display = [
        "registered_at",
        "contract",
        "status",
        "brand",
        "masked_number",
        "expiry",
        "holder_name",
        "holder_kana",
        "name_matched",
        "decided_by",
    ]
    list_filter = ["status", "name_matched", "brand"]
    search_fields = ["=contract__customer_number"]
    list_select_related = ["contract"]
    exclude = ["gateway_card", "flow_token"]
    actions = ["approve", "reject"]

    @admin.display(description="ご契約者名 (カナ)")
    def holder_kana(self, method: PaymentMethod) -> str:
        return f"{method.contract.family_name_kana} {method.contract.given_name_kana}"

    def has_review_permission(self, request: HttpRequest) -> bool:
        user: Any = request.user
        return bool(user.has_perm(STAFF_MAY_REVIEW))

    def _review(self, request: HttpRequest, queryset: QuerySet[Any], *, approve: bool) -> None:
        done = 0
        for pk in queryset.filter(status=CardStatus.PENDING).values_list("pk", flat=True):
            try:
                payment_method_review(method_id=pk, actor=staff_actor(request), approve=approve)
            except Refused as refused:
                self.message_user(request, " ".join(refused.messages), messages.ERROR)
                return
            done += 1
        verb = "承認" if approve else "否認"
        self.message_user(request, f"{done} 件を{verb}しました。", messages.SUCCESS)
        skipped = queryset.count() - done
        if skipped:
            self.message_user(request, f"{skipped} 件は確認中ではないため対象外です。", messages.WARNING)

    @admin.action(description="承認 (確認中のカードを利用中にする)", permissions=["review"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._review(request, queryset, approve=True)

    @admin.action(description="否認 (確認中のカードを登録しない)", permissions=["review"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._review(request, queryset, approve=False)


# --- 通話明細 (issue 15 points 5, 6): the imports, the calls, and 通話明細の取込 (the CSV upload) ---


class MonthListFilter(admin.SimpleListFilter):
    """A month field (the 1st of its month) by month: this month and the twelve before it, from
    the clock rather than from the table (a DISTINCT over every call would scan them all)."""

    field = ""
    months_back = 12

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        month = clock.today().replace(day=1)
        choices = []
        for _n in range(self.months_back + 1):
            choices.append((f"{month:%Y-%m}", f"{month.year}年{month.month}月"))
            month = (month - dt.timedelta(days=1)).replace(day=1)
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        try:
            month = dt.datetime.strptime(str(value), "%Y-%m").date()
        except ValueError:  # a hand-typed ?call_month=… that is no month: no filter, not a 500
            return queryset
        return queryset.filter(**{self.field: month})


class CallMonthFilter(MonthListFilter):
    title = "通話月"
    parameter_name = field = "call_month"


class BilledMonthFilter(MonthListFilter):
    title = "請求月"
    parameter_name = field = "billed_month"
    UNBILLED = "unbilled"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(self.UNBILLED, "未請求"), *super().lookups(request, model_admin)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == self.UNBILLED:
            return queryset.filter(billed_month__isnull=True)
        return super().queryset(request, queryset)


@admin.register(CallRecord)
class CallRecordAdmin(ReadOnlyAdmin):
    """The calls as imported, read-only; staff see the whole called number (customers see it with
    the last 4 digits hidden)."""

    list_display = [
        "customer_number",
        "service",
        "started_at",
        "called_number",
        "duration",
        "amount",
        "call_month",
        "billed_month",
    ]
    list_filter = ["service", CallMonthFilter, BilledMonthFilter]
    search_fields = ["=contract__customer_number"]
    search_help_text = "お客様番号 (14桁) で検索"
    list_select_related = ["contract"]
    show_full_result_count = False  # millions of calls: no COUNT(*) on every page

    @admin.display(description="お客様番号", ordering="contract__customer_number")
    def customer_number(self, call: CallRecord) -> str:
        return call.contract.customer_number

    @admin.display(description="通話時間", ordering="duration_seconds")
    def duration(self, call: CallRecord) -> str:
        return duration_text(call.duration_seconds)


class UploadLimit(FileUploadHandler):
    """The first upload handler of 通話明細の取込: a file growing past ``limit`` bytes is dropped as
    it streams in (never kept whole, in memory or on disk), and the page says it was too large."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the handlers after this one (memory or a temporary file) keep the file


def size_text(size: int) -> str:
    mib = 1024 * 1024
    return f"{size // mib:,} MB" if size >= mib and size % mib == 0 else f"{size:,} バイト"


class CallUploadForm(forms.Form):
    file = forms.FileField(
        label="CSVファイル",
        error_messages={
            "required": "取り込むCSVファイルを選んでください。",
            "empty": "選んだファイルは空です (0バイト)。通話明細のCSVファイルを選んでください。",
            "invalid": "ファイルを受け取れませんでした。もう一度選んでください。",
            "missing": "ファイルを受け取れませんでした。もう一度選んでください。",
        },
    )
    skip_invalid = forms.BooleanField(
        label="不正な行を除いて取り込む",
        required=False,
        help_text="チェックしない場合、不正な行が1行でもあるファイルは1件も取り込みません。",
    )

    def __init__(self, *args: Any, limit: int, too_large: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit = limit
        self.too_large = too_large
        # The guard dropped the file as it arrived: say why, not 「選んでください」.
        self.fields["file"].required = not too_large
        self.fields["file"].widget.attrs["accept"] = ".csv,text/csv"

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        if self.too_large or (upload is not None and upload.size > self.limit):
            raise ValidationError(
                f"ファイルが大きすぎます: 取り込めるのは {size_text(self.limit)} までです。"
                "ファイルを分けて取り込んでください。"
            )
        return upload


@admin.register(CallImport)
class CallImportAdmin(ReadOnlyAdmin):
    """Every import of the carriers' call CSV (manage.py import_calls or this upload) with its
    report. Its 「追加」 is 通話明細の取込: the upload of the same file, through the same
    ``calls_import`` (which checks ``calls.import_callrecord``, audits, and waits for a month
    close); a file it refuses is shown with its rejected rows and imports nothing."""

    list_display = [
        "imported_at",
        "file_name",
        "imported_by",
        "rows_read",
        "rows_imported",
        "rows_present",
        "rows_rejected",
    ]
    fields = [
        "imported_at",
        "file_name",
        "imported_by",
        "rows_read",
        "rows_imported",
        "rows_present",
        "rows_rejected",
        "sha256",
        "report",
    ]
    search_fields = ["file_name", "imported_by"]
    change_list_template = "staff/calls/callimport_change_list.html"
    upload_template = "staff/calls/callimport_upload.html"
    rejected_shown = 100  # rows listed on the page for a refused file; the rest are counted

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user: Any = request.user
        return bool(user.has_perm(STAFF_MAY_IMPORT))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Who may import may read what the imports did (the upload ends on its report).
        return super().has_view_permission(request, obj) or self.has_add_permission(request)

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_add"
        # CSRF is checked inside the view, after UploadLimit is in place: the middleware would read
        # the whole body (any size) before the view could limit it.
        upload = self.admin_site.admin_view(csrf_exempt(self.upload_view))
        others = [url for url in super().get_urls() if getattr(url, "name", None) != name]
        return [path("add/", upload, name=name), *others]

    def upload_view(self, request: HttpRequest) -> HttpResponseBase:
        if not self.has_add_permission(request):
            raise PermissionDenied
        guard = UploadLimit(request, settings.CALLS_UPLOAD_MAX_BYTES)
        request.upload_handlers.insert(0, guard)
        view: Any = csrf_protect(self._upload)
        response: HttpResponseBase = view(request, guard)
        return response

    def _upload(self, request: HttpRequest, guard: UploadLimit) -> HttpResponseBase:
        limit = settings.CALLS_UPLOAD_MAX_BYTES
        result: ImportResult | None = None
        refused = ""
        if request.method == "POST":
            form = CallUploadForm(request.POST, request.FILES, limit=limit, too_large=guard.exceeded)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    result = calls_import(
                        data=upload,  # the file itself (memory or a temporary file): read as it goes
                        file_name=upload.name or "",
                        actor=staff_actor(request),
                        skip_invalid=form.cleaned_data["skip_invalid"],
                        closed_months=closed_months(),
                    )
                except Refused as exc:
                    refused = " ".join(exc.messages)
                if result is not None and result.ok and result.record is not None:
                    self._tell(request, result, upload.name or "")
                    return HttpResponseRedirect(
                        reverse(
                            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                            args=[result.record.pk],
                        )
                    )
        else:
            form = CallUploadForm(limit=limit)
        context = {
            **self.admin_site.each_context(request),
            "title": "通話明細の取込",
            "opts": self.opts,
            "has_view_permission": self.has_view_permission(request),
            # The admin's fieldset layout; AdminForm takes a plain form too (the stubs say ModelForm).
            "adminform": helpers.AdminForm(
                cast(Any, form),
                [("取り込むファイル", {"fields": ["file", "skip_invalid"]})],
                {},
                model_admin=self,
            ),
            "form": form,
            "result": result,
            "refused": refused,
            "rejected": result.rejected[: self.rejected_shown] if result else [],
            "rejected_more": max(0, result.rejected_count - self.rejected_shown) if result else 0,
            "limit": size_text(limit),
            "columns": UPLOAD_COLUMNS,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.upload_template, context)

    def _tell(self, request: HttpRequest, result: ImportResult, file_name: str) -> None:
        """The figures of a finished import as messages above its report."""
        figures = (
            f"読込 {result.read:,} 行 / 取込 {result.imported:,} 件 / 取込済み {result.present:,} 件 / "
            f"不正 {result.rejected_count:,} 行"
        )
        self.message_user(request, f"「{file_name}」を取り込みました: {figures}", messages.SUCCESS)
        if not result.read:
            self.message_user(request, "このファイルには見出しの行しかありませんでした。", messages.WARNING)
        if result.present and not result.imported:
            self.message_user(
                request,
                "このファイルの通話はすべて取込済みでした。登録内容は変わっていません。",
                messages.INFO,
            )
        if result.rejected:
            self.message_user(
                request,
                f"不正な {result.rejected_count:,} 行は取り込んでいません。"
                "行番号と理由は下の取込結果にあります。",
                messages.WARNING,
            )
        for month in result.late_months:
            self.message_user(
                request,
                f"{month.year}年{month.month}月分は締め済みです: "
                "その通話は次の未締めの月の請求明細に載ります。",
                messages.WARNING,
            )


# The columns of the carriers' CSV as the upload page explains them (docs/imports.md).
UPLOAD_COLUMNS = list(
    zip(
        HEADER,
        (
            "GATE CALL、GATE CALL050、UCOM光電話 のいずれか",
            "14桁の数字 (登録済みのご契約)",
            "YYYY-MM-DD HH:MM:SS (または YYYY/MM/DD HH:MM:SS)、日本時間",
            "ハイフンなしの数字、0で始まる (国内10〜11桁、国際 010… は16桁まで)",
            f"0〜{MAX_DURATION} の整数",
            f"0〜{MAX_AMOUNT:,} の整数 (円、税別)",
        ),
        strict=True,
    )
)
