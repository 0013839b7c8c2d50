"""The translation helper: words in the code are English, marked with `_l` for the catalogue
(app/translations), and read in the reader's language when they are shown. A lazy string needs no
request to be made, so the engine and the domain use this one piece of Flask-Babel and nothing else
of Flask."""
from flask_babel import lazy_gettext as _l

__all__ = ["_l"]
