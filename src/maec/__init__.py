"""MAEC: multi-lingual ability extraction and combination."""
