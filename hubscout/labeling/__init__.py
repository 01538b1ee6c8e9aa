"""Model labels (Model Label Learning): each model evaluated once on the concept graph."""
