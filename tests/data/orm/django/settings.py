"""Settings for running this project's migrations with Django itself (tests/orm.rs).

The database comes from LOCKGATE_TEST_DSN, libpq key=value settings.
"""

import os

_dsn = dict(part.split("=", 1) for part in os.environ["LOCKGATE_TEST_DSN"].split())

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _dsn["dbname"],
        "USER": _dsn.get("user", ""),
        "PASSWORD": _dsn.get("password", ""),
        "HOST": _dsn.get("host", ""),
        "PORT": _dsn.get("port", ""),
    }
}
INSTALLED_APPS = ["shop", "billing", "ledger"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
SECRET_KEY = "tests"
