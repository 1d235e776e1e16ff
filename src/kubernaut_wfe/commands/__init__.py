"""`kubernaut-wfe` subcommands, one module each."""
