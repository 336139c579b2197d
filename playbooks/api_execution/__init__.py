"""The execution layer's API: tasks, campaign audiences, personalization (DESIGN §7)."""
