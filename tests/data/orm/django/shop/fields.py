"""Field classes of the project: migrations name them, and lockgate reads them as the Django
field each subclasses."""

from django.db import models


class Code(models.CharField):
    """A short code: 12 characters unless the model says otherwise."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 12)
        super().__init__(*args, **kwargs)


class UpperCode(Code):
    def get_prep_value(self, value):
        return None if value is None else value.upper()


class Color(models.CharField):
    """An RGB colour, always six hex digits."""

    def __init__(self, *args, **kwargs):
        kwargs["max_length"] = 6
        super().__init__(*args, **kwargs)
