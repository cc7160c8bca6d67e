"""The `aisle` command. Modules here import only Typer at load time so that `aisle --help` is instant."""
