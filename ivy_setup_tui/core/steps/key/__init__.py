"""The Key step: where ivy looks for its key and what it would send (`check`), placing it (`fix`)."""
