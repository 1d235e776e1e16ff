"""The `kubernaut-wfe` subcommands the tools add (entry-point group `kubernaut_wfe.commands`)."""
