from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("mypage.portal.urls")),
    path("staff/", admin.site.urls),  # the back office (staff only)
]

# Error pages in the portal's layout, with the brand and a way back (mypage/portal/errors.py)
handler400 = "mypage.portal.errors.bad_request"
handler403 = "mypage.portal.errors.permission_denied"
handler404 = "mypage.portal.errors.page_not_found"
handler500 = "mypage.portal.errors.server_error"
