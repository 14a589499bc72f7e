from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("mypage.portal.urls")),
    path("staff/", admin.site.urls),  # the back office (staff only)
]

handler500 = "mypage.portal.views.server_error"
