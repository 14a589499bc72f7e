from django.contrib import admin
from django.urls import include, path

from mypage.staff.admin import staff_login

urlpatterns = [
    path("", include("mypage.portal.urls")),
    # The back office's login: throttled and logged like the customers' (F-LOGIN-5), before the
    # admin's own login view at the same path.
    path("staff/login/", staff_login),
    path("staff/", admin.site.urls),  # the back office (staff only)
]

# Error pages in the portal's layout, with the brand and a way back (mypage/portal/errors.py)
handler400 = "mypage.portal.errors.bad_request"
handler403 = "mypage.portal.errors.permission_denied"
handler404 = "mypage.portal.errors.page_not_found"
handler500 = "mypage.portal.errors.server_error"
