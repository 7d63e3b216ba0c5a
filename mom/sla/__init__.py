"""SLA classes, priorities and tags of guests: where they come from and what they guarantee."""
