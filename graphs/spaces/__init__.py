"""NAS search spaces: importing this package registers every space's builder."""
