"""Experiments: arm assignment for serving, and the readout that says whether an arm wins
(pure statistics and reports; reading the topics is the caller's)."""
