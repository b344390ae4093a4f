"""``python -m dicomseal``."""

from __future__ import annotations

from dicomseal.cli.main import main

if __name__ == "__main__":
    main()
