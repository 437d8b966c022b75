"""``python -m shop``: serve the shop on ``SHOP_HOST``:``SHOP_PORT`` (default 127.0.0.1:5050)."""

from __future__ import annotations

import os
import sys

from shop import create_app


def main() -> None:
    host = os.environ.get("SHOP_HOST", "127.0.0.1")
    raw_port = os.environ.get("SHOP_PORT", "5050")
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        sys.exit(f"SHOP_PORT must be a port number between 1 and 65535, got {raw_port!r}")
    create_app().run(host=host, port=int(raw_port))


if __name__ == "__main__":
    main()
