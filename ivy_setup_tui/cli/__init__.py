"""The command line: `ivy-setup check|fix|undo|explain|report` and the entry point that starts the wizard."""
