"""Stage 7: the command line."""
