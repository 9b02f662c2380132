"""Project commands (``COMMANDS_MODULE``): ``crawl`` with one-line errors, ``migrate``,
``report``."""
