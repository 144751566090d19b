"""`python -m service` runs the `docqa` command."""

from service.cli import cli

cli()
