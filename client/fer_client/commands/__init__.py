"""The ``fer-client`` subcommands, one module each."""
