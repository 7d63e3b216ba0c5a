"""Command-line tools: mom-policy (policy checks and evaluation), momd (the daemon), momctl (its client), mom-guestd."""
