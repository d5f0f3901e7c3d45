"""``python -m dwmlir`` is the ``dwmlir`` command."""

from .cli.main import entry

entry()
