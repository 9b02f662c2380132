"""Parsers of Reddit's JSON: pure functions from decoded bodies to items.

They never raise on odd data: wrong types become ``None``, NUL characters are
removed, and a body that is not what was expected is reported as a parse failure
by the caller. Reads no settings.
"""
