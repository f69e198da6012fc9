"""What decisions do: one Effect per action (app.effects.catalogue), the vendor's standing
as the fold of its ledger (app.effects.standing), the one gate money passes
(app.effects.guard), and carrying decisions out and undoing them (app.effects.ledger)."""
