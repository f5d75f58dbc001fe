"""The model zoo: importing this package registers every zoo builder."""
