"""``python -m casegen.cli …`` runs the CLI (as ``python -m casegen`` does)."""

from casegen.__main__ import main

main()
