"""The command line end to end: ``python -m gyrinx_tracker`` on inputs made by really running the tracker."""
