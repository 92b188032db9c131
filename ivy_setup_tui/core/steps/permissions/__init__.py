"""The Permissions step: who may read the key and `.ivy` (`check`), and tightening them (`fix`)."""
