"""The conditions users have: named profiles (fixtures/conditions.json), the relay that
gives the network's figures to every byte between browser and app, calibrated CPU
slowdown, and the room the harness asks for browser contexts and apps."""
