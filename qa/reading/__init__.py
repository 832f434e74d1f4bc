"""Reading: a trained span reader over retrieved passages (question + passage -> answer span
or no answer), its training data and its training loop."""
