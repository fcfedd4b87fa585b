"""`python -m streams.contract [--check] [PATH]`: write docs/asyncapi.yaml, or check it is current."""

import sys
from pathlib import Path

from streams.contract import COMMAND, DOCUMENT, is_current, write

args = sys.argv[1:]
check = "--check" in args
path = Path(next((arg for arg in args if arg != "--check"), DOCUMENT))
if check:
    if not is_current(path):
        sys.exit(f"{path} is out of date: run `{COMMAND}`")
    print(f"{path} is current")
else:
    print(f"wrote {write(path)}")
