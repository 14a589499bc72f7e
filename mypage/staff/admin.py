"""The back office (F-STAFF, SPEC §12) on Django's admin, mounted at /staff/.

Catalogue, plan and brand data are edited here (they are data, not code). Anything with rules
(contracts, account IDs, subscriptions) is read-only until its services exist, because the admin
must go through services (DESIGN rule 9). The audit log is read-only for everyone.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.options import Action, ActionLocation
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from mypage.accounts.models import AccountId
from mypage.audit.models import ActorKind, AuditEntry, LoginAttempt, LoginOutcome
from mypage.audit.services import Actor
from mypage.billing.charges import StatementCharge
from mypage.billing.collection import STAFF_MAY_REQUEUE as STAFF_MAY_REQUEUE_CHARGE
from mypage.billing.collection import charges_requeue
from mypage.billing.models import MonthClose, Statement, StatementLine
from mypage.contracts.models import Contract
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
