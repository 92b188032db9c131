"""The Environment step: IVY_ROOT in the user's shells (`check`), and persisting it (`fix`)."""
