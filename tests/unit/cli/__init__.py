"""The command line's pieces (reader, filter parser, sketch) called in process."""
