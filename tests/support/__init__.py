"""Shared test and bench support: real processes to start and break, and shared fixtures.

Nothing here is a conftest: tests and the bench import these modules as a library.
"""
