"""`python -m annotate` runs the command line."""

from annotate.cli import main

main()
