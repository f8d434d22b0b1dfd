"""The local demo: real services, the reward worker, synthetic traffic, converging scores.

``smoke`` round-trips one message through each service, ``rewards`` runs the reward worker
on live synthetic traffic, ``view`` renders what it has learned against the truth each
second, and ``plot`` draws that history.
"""
