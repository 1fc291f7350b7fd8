"""One module per input format; each maps its file onto Forecourt's records."""
