"""``python -m iroa`` runs the CLI."""

from iroa.cli.main import main

main()
