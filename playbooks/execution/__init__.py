"""Execution: step runs, step kinds, deliveries, campaigns, personalization, digests."""
