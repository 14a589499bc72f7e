from django.urls import include, path

urlpatterns = [
    path("", include("mypage.portal.urls")),
]
