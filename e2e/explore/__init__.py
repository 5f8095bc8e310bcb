"""Exploration: a model of what every user should see (model.py), a driver that performs
one user action on real browsers and the server (world.py), the steps both share
(steps.py), text as people type it (text.py), and the Hypothesis rules that pair them
(machine.py). A failure is reported as the model's steps in words, with a replay file."""
