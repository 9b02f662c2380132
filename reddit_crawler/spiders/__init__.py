"""Spiders of the project: ``reddit``."""
