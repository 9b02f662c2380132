"""``python -m standin --host 127.0.0.1 --port 0 --port-file PATH``: run the stand-in server."""

from __future__ import annotations

from standin.server import main

raise SystemExit(main())
