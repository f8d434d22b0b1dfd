"""The combination generator (after GenCO): a policy that writes one element per slot."""
