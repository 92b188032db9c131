"""The service layer: checks, plans and changes, with no UI imports (textual and rich are forbidden)."""
