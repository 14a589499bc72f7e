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

handler500 = "mypage.portal.views.server_error"
