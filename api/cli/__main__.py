"""`python -m api.cli` = `chaincredit` (the demo runs its steps this way, with the same Python)."""

from api.cli import main

main()
