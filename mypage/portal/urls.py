from django.urls import path, register_converter
from django.utils.translation import gettext_lazy as _

from mypage.accounts import rules
from mypage.accounts.permissions import Feature as F

from . import call_pages, content, mail_pages, options, space_pages, statements, views
from .mail_pages import MAIL_ADDRESS
from .mailbox_pages import MAIL_AUTOREPLY, MAIL_FORWARDING
from .payment_pages import PAYMENT
from .procedures import ACCOUNT_DELETE, ACCOUNT_EDIT, ACCOUNT_NEW, ACCOUNT_PASSWORD, CUSTOMER_PASSWORD
from .profile import PROFILE
from .space_pages import STORAGE, WEB_SPACE
from .views import coming_soon as soon


class AccountIdConverter:
    """The account ID string of SPEC §4 (the strict rule is checked where IDs are created)."""

    regex = rules.ACCOUNT_ID_SHAPE

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AccountIdConverter, "accountid")
register_converter(statements.MonthConverter, "month")  # YYYY-MM (F-BILL-VIEW)

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("step-up/", views.step_up, name="step_up"),
    # ご契約情報
    path("overview/", views.overview, name="overview"),
    path("user/", views.user_home, name="user_home"),
    # 各種お手続き
    *PROFILE.urls("procedures/profile/"),
    *CUSTOMER_PASSWORD.urls("procedures/password/"),
    *PAYMENT.urls("procedures/payment/"),
    path(
        "procedures/contract-change/",
        soon(F.CONTRACT_REQUEST, _("ご契約内容変更申請")),
        name="contract_change",
    ),
    path(
        "procedures/guide-request/",
        soon(F.CONTRACT_REQUEST, _("ご利用ガイド・規約ご請求")),
        name="guide_request",
    ),
    path("procedures/cancellation/", soon(F.LINE_INFO, _("ご解約")), name="line_cancellation"),
    # 料金明細照会
    path("billing/monthly/", statements.statement_months, name="billing_monthly"),
    path("billing/monthly/<month:month>/", statements.statement_detail, name="billing_statement"),
    path("billing/monthly/<month:month>/seikyu.pdf", statements.statement_pdf_download, name="billing_pdf"),
    path("billing/monthly/<month:month>/seikyu.csv", statements.statement_csv_download, name="billing_csv"),
    *(
        route
        for service, prefix in call_pages.PREFIXES.items()
        for route in (
            path(f"billing/{prefix}/", call_pages.months_view(service), name=call_pages.URL_NAMES[service]),
            path(
                f"billing/{prefix}/<month:month>/",
                call_pages.month_view(service),
                name=call_pages.URL_NAMES[service] + "_month",
            ),
        )
    ),
    # オプションサービス
    *options.MAIL_SERVICE.urls("options/mail/"),
    *options.REMOTE_SUPPORT.urls("options/remote-support/"),
    *options.WARRANTY.urls("options/warranty/"),
    path("options/storage/", space_pages.storage_list, name="storage"),
    *STORAGE.urls("options/storage/<accountid:account_id>/"),
    path("options/unext/", soon(F.EXT, _("ギガシネマ with U-NEXT")), name="unext"),
    path("options/cluboff/", soon(F.EXT, _("UCOM光 クラブオフ")), name="cluboff"),
    path("options/phone/", soon(F.LINE_INFO, _("UCOM光電話")), name="phone_service"),
    path("options/gatecall/", soon(F.LINE_INFO, _("GATE CALL・GATE CALL050")), name="gatecall_service"),
    # アカウントIDオプション
    path("account-ids/", views.account_list, name="account_list"),
    *ACCOUNT_NEW.urls("account-ids/new/"),
    *ACCOUNT_EDIT.urls("account-ids/<accountid:account_id>/edit/"),
    *ACCOUNT_DELETE.urls("account-ids/<accountid:account_id>/delete/"),
    *ACCOUNT_PASSWORD.urls("account-ids/<accountid:account_id>/password/"),
    *MAIL_ADDRESS.urls("account-ids/<accountid:account_id>/mail/"),
    path(
        "account-ids/<accountid:account_id>/mail/settings/",
        mail_pages.mail_settings,
        name="account_mail_settings",
    ),
    *options.MAILBOX.urls("account-ids/<accountid:account_id>/mailbox/"),
    *MAIL_FORWARDING.urls("account-ids/<accountid:account_id>/forwarding/"),
    *MAIL_AUTOREPLY.urls("account-ids/<accountid:account_id>/autoreply/"),
    *options.SECURITY.urls("account-ids/<accountid:account_id>/security/"),
    path(
        "account-ids/<accountid:account_id>/security/manage/",
        options.security_manage,
        name="account_security_manage",
    ),
    *WEB_SPACE.urls("account-ids/<accountid:account_id>/webspace/"),
    # 障害情報 / お問い合わせ窓口
    path("info/notices/", soon(F.NOTICES, _("障害情報・メンテナンス情報")), name="notices"),
    path("info/manuals/", content.manuals, name="manuals"),
    path("info/contact/", content.contact, name="contact"),
    # A product's サービス説明 (「詳しくはこちら」), サービス利用規約 and the download stand-in: public
    path("info/products/<slug:code>/", content.product_info, name="product_info"),
    path("info/products/<slug:code>/terms/", content.product_terms, name="product_terms"),
    path("info/products/<slug:code>/download/", content.security_download, name="security_download"),
]
