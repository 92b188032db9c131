"""The Textual wizard: the app, its screens and widgets. It renders what the core finds and asks it to act."""
