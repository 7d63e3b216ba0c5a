"""The daemon's runtime objects: entities, monitors and the engine that drives them."""
