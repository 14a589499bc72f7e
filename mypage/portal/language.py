"""The pages' language: Django's ``LocaleMiddleware``, limited to the languages whose text exists.

``LANGUAGES`` names English so that the machinery for it (a compiled copy of the templates per
language, the menu per language, translatable dates and money) is there and tested, but the
English catalogue (``mypage/locale/en``) is not translated yet. Chosen from the browser's
``Accept-Language`` it gave Japanese pages marked ``<html lang="en">`` (a screen reader then reads
the Japanese with English rules) and Django's English formats. Until the English text exists,
every request gets the default language whatever the browser prefers (issue 11 #18); listing
``en`` in ``PAGE_LANGUAGES`` (settings) turns it on.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class PageLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        if translation.get_language() not in settings.PAGE_LANGUAGES:
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = translation.get_language()
