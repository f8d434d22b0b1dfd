"""Copy pools seen from outside the workers: coverage (``adcraft copy status``) and review
(``adcraft copy review``)."""
