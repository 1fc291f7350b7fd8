"""A simulated marketplace: a catalogue fitted to a real one, users with known tastes who
browse it in sessions while listings appear and sell. For the demo without interaction data,
tests that need ground truth, and the scale benchmark."""
