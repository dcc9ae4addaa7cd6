#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scorecards_site.settings.base")
    from pathlib import Path

    from scorecards_site.local_key import ensure_local_secret_key

    ensure_local_secret_key(Path(__file__).resolve().parent)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
