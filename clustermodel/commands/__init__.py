"""CLI subcommands. Every module here that defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int`` becomes a subcommand."""
