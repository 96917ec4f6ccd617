"""Applications built on pocketml's flow (they use shrink, deploy and federated; nothing imports them)."""
