"""Settings of the benchmark only: the project's settings plus the baseline view's URL conf and
templates. Never used by the application (config/urls.py does not know the baseline view)."""

from config.settings import *  # noqa: F403
from config.settings import BASE_DIR, TEMPLATES

ROOT_URLCONF = "bench.urls"

# bench/templates holds the baseline page; the project's own template settings are kept as they are.
TEMPLATES = [
    {**engine, "DIRS": [*engine["DIRS"], BASE_DIR / "bench" / "templates"]}
    if engine["BACKEND"].endswith("DjangoTemplates")
    else engine
    for engine in TEMPLATES
]
