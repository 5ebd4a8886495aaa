"""`python -m curator` is the same as the `curator` command."""

from curator.cli import main

main()
