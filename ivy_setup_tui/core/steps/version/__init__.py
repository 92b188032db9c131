"""The Version step: which ivy the target Python has (`check`), and installing the right one (`fix`)."""
