"""Page objects: one per screen, built only on the test contract's data-testid attributes."""
